/* ductwatch-web's command line (docs/web.md, man/ductwatch-web.1.scd). */
#pragma once
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#define DW_WEB_MAX_SUB 16
#define DW_WEB_DEFAULT_LISTEN "127.0.0.1:8080"

struct dw_web_options {
    const char *subs[DW_WEB_MAX_SUB];
    int n_subs;
    const char *events;            /* NULL: ipc://RUN/events */
    const char *listen;
    struct sockaddr_storage addr;  /* listen, parsed */
    socklen_t addr_len;
    bool loopback;
    const char *dir;               /* session files; NULL: none */
    const char *config;            /* detection parameters (INI); NULL: built-in */
    const char *on_alert;
    unsigned notify_level;
    bool notify_level_given;
    uint64_t renotify_us, alert_timeout_us;
    const char *tls_cert, *tls_key;
    const char *token_file;        /* NULL: RUN/web-token */
    const char *curve_key, *server_key;
    bool insecure;
};

/* Parses argv; exits 2 with a one-line reason on bad usage (among them a
 * non-loopback --listen without TLS), 0 after --help/--version. */
void dw_web_options_parse(int argc, char **argv, struct dw_web_options *o);
/* "ADDR:PORT", "[V6]:PORT", "localhost:PORT" into addr: 0 or -EINVAL. */
int dw_web_listen_parse(const char *s, struct sockaddr_storage *addr, socklen_t *len,
                        bool *loopback);
