/* Who may connect where: CurveZMQ key files, the endpoint policy, and the
 * ZAP handler that holds the allow-list. docs/security.md explains the
 * threat model; the rules in short:
 *   - ipc:// and inproc:// rely on the 0700 runtime directory;
 *   - tcp:// uses CURVE; tcp:// without CURVE needs an explicit --insecure
 *     and even then only on a loopback address;
 *   - a CURVE server socket binds only after the ZAP handler is bound:
 *     libzmq accepts every client when no handler is there. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#define DW_Z85_KEY_LEN 40
#define DW_ZAP_DOMAIN "ductwatch"

/* A key pair as Z85 text. secret_key is "" for a public key alone. */
struct dw_curve_keys {
    char public_key[DW_Z85_KEY_LEN + 1];
    char secret_key[DW_Z85_KEY_LEN + 1];
};

/* Key files (written by ductwatch-keygen):
 *   NAME.key  mode 0600: lines "public-key Z85" and "secret-key Z85";
 *   NAME.pub  mode 0644: the Z85 public key alone on a line.
 * Lines starting with '#' and blank lines are ignored everywhere.
 * On error these return -errno and set *why to a static one-line reason. */

/* A secret key file: refused when it is not a regular file, when group or
 * other have any access to it (-EPERM), when a key is malformed or the
 * public key does not belong to the secret key (-EINVAL). */
int dw_security_load_keypair(const char *path, struct dw_curve_keys *k, const char **why);
/* Any other small secret file (a NATS credentials or password file): at
 * most cap - 1 bytes, NUL-terminated, refused (-EPERM) like a secret key
 * file when group or others have any access to it or another user owns it. */
int dw_security_read_secret(const char *path, char *buf, size_t cap, const char **why);
/* A public key: from a .pub file, or the public half of a .key file. */
int dw_security_load_public(const char *path, char out[DW_Z85_KEY_LEN + 1], const char **why);
/* True for a 40-character Z85 string that decodes to 32 bytes. */
bool dw_security_valid_z85(const char *s);

/* Writes DIR/NAME.key (0600) and DIR/NAME.pub (0644) for a fresh key pair.
 * Refuses (-EEXIST) to replace either file unless force. */
int dw_security_write_keypair(const char *dir, const char *name, bool force,
                              struct dw_curve_keys *out, const char **why);

/* Endpoint policy. true for tcp:// endpoints (the only ones CURVE covers). */
bool dw_security_is_tcp(const char *endpoint);
/* Whether a server may bind endpoint: 0, or -EPERM with *why set.
 * have_curve: the socket will be a CURVE server; insecure: the user said
 * --insecure. Unknown transports (pgm, ws, ...) are refused. */
int dw_security_check_bind(const char *endpoint, bool have_curve, bool insecure,
                           const char **why);
/* The same rule for a client that connects (no CURVE keys: plain text). */
int dw_security_check_connect(const char *endpoint, bool have_curve, bool insecure,
                              const char **why);

/* The ZAP handler: a thread that owns a REP socket bound to
 * inproc://zeromq.zap.01 in ctx and answers CURVE handshakes from the
 * allow-list (status 200 for a listed client key, 400 otherwise, each
 * refusal logged with the peer address). It also watches the sockets given
 * to dw_security_server() and logs clients refused before ZAP is asked
 * (e.g. a client without CURVE), with their address.
 * allow: a directory (every *.pub file in it) or a file with Z85 keys, one
 * per line. NULL and errno set on failure, *why set: failing to bind the
 * ZAP endpoint is fatal for the caller (another handler in this context,
 * or no context). */
struct dw_zap;
struct dw_zap *dw_zap_start(void *ctx, const char *allow, const char **why);
/* Number of keys on the allow-list. */
size_t dw_zap_allowed(const struct dw_zap *z);
/* Stops the thread and closes its sockets; call before zmq_ctx_term. */
void dw_zap_stop(struct dw_zap *z);

/* Makes sock a CURVE server with the given key pair and domain
 * DW_ZAP_DOMAIN, before it binds. zap must be a running handler (its
 * absence is refused: -EINVAL). 0 or -errno. */
int dw_security_server(void *sock, const struct dw_curve_keys *keys, struct dw_zap *zap);
/* Makes sock a CURVE client of the server with that Z85 public key. The
 * options apply to the zmq_connect() calls made after this one. */
int dw_security_client(void *sock, const struct dw_curve_keys *client_keys,
                       const char *server_public_key);

/* One call for a server program: checks the policy for endpoint, makes
 * sock a CURVE server for a tcp:// endpoint when keys and zap are given
 * (zap started first, with dw_zap_start), binds, and writes the endpoint
 * actually bound (the port chosen for tcp://HOST:0) into actual. An ipc://
 * endpoint binds without CURVE whatever the keys. 0, or -errno with a
 * one-line reason in why (-EPERM: the policy refused it). */
int dw_security_bind(void *sock, const char *endpoint, const struct dw_curve_keys *keys,
                     struct dw_zap *zap, bool insecure, char *actual, size_t actual_cap,
                     char *why, size_t cap);

/* One call for a client program: connects sock to endpoint. When
 * key_file and server_key_file are both given and the endpoint is tcp://,
 * the connection uses CURVE (client key pair from key_file, server public
 * key from server_key_file, a .pub or .key file). Without keys, a tcp://
 * endpoint needs insecure and a loopback address. ipc:// and inproc://
 * connect as they are. 0, or -errno with a one-line reason in why. */
int dw_security_connect(void *sock, const char *endpoint, const char *key_file,
                        const char *server_key_file, bool insecure, char *why, size_t cap);
