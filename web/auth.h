/* Who may use the API (docs/security.md, "The web server"): a random
 * token kept in the runtime directory, given to a person in the URL and
 * traded by the page for an HttpOnly cookie; scripts send it as
 * "Authorization: Bearer TOKEN". POSTs also pass a same-origin check. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#define DW_WEB_TOKEN_BYTES 20                     /* 160 random bits */
#define DW_WEB_TOKEN_LEN (2 * DW_WEB_TOKEN_BYTES) /* as lowercase hex */
#define DW_WEB_COOKIE "dw_token"

enum dw_web_auth { DW_WEB_AUTH_NONE = 0, DW_WEB_AUTH_COOKIE, DW_WEB_AUTH_BEARER };

/* The token in path: read when the file exists (a regular file of this
 * user, mode 0600, holding a well-formed token), else made from
 * getrandom() and written with O_EXCL, mode 0600. *created says which.
 * 0, -EPERM (a file with other owner or mode), -EBADMSG (not a token), or
 * another -errno. */
int dw_web_token_load(const char *path, char token[DW_WEB_TOKEN_LEN + 1], bool *created);
/* A token of the right form (DW_WEB_TOKEN_LEN hex digits)? */
bool dw_web_token_valid(const char *s);
/* Compares in constant time for equal lengths. */
bool dw_web_token_equal(const char *token, const char *given);
/* Which credential, if any, carries the token: the cookie's value (NULL if
 * none) or an Authorization header (NULL if none). A wrong credential
 * counts as none. */
enum dw_web_auth dw_web_auth_check(const char *token, const char *cookie,
                                   const char *authorization);
/* Same origin for a state-changing request: the Origin header names the
 * scheme and Host the request was sent to. A request authenticated by
 * cookie must carry it; a script with the bearer token may leave it out
 * (a browser always sends Origin on a cross-site POST). */
bool dw_web_same_origin(enum dw_web_auth how, const char *origin, const char *host, bool tls);
