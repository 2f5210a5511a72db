/* Where the processes meet: the private runtime directory and the default
 * ZeroMQ endpoints, plus socket set-up every stage needs. */
#pragma once
#include <stddef.h>

/* $DUCTWATCH_RUNTIME_DIR, else $XDG_RUNTIME_DIR/ductwatch, else
 * /tmp/ductwatch-<uid>. Created 0700 if missing; refused (-EPERM) if it
 * exists with group/other access or another owner. Opt-in sharing
 * (docs/security.md): with $DUCTWATCH_RUNTIME_GROUP=NAME it is created
 * 0750 with that group (-EINVAL: no such group), and such a directory of
 * ours is accepted; a directory named by $DUCTWATCH_RUNTIME_DIR that
 * another user shares with a group of ours (group r-x, no group write,
 * nothing for others) is accepted too, for following the services. */
int dw_runtime_dir(char *buf, size_t cap);

/* Default endpoints inside the runtime directory. name: "acquire",
 * "events", "detect". */
int dw_default_endpoint(const char *name, char *buf, size_t cap);

/* A socket with LINGER 0 (so zmq_ctx_term never hangs). NULL on error. */
void *dw_zmq_socket(void *ctx, int type);
/* zmq_send of [topic, body] without blocking; returns 0, or -EAGAIN when the
 * high-water mark is reached (the message is dropped), or another -errno. */
int dw_zmq_send2(void *sock, const char *topic, const void *body, size_t len);
