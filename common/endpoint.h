/* Where the processes meet: the private runtime directory and the default
 * ZeroMQ endpoints, plus socket set-up every stage needs. */
#pragma once
#include <stddef.h>
#include <sys/stat.h>
#include <zmq.h>

/* $DUCTWATCH_RUNTIME_DIR, else $XDG_RUNTIME_DIR/ductwatch, else
 * /tmp/ductwatch-<uid>. Created 0700 if missing; refused (-EPERM) if it
 * exists with group/other access or another owner. Opt-in sharing
 * (docs/security.md): with $DUCTWATCH_RUNTIME_GROUP=NAME it is created
 * 0750 with that group (-EINVAL: no such group), and such a directory of
 * ours is accepted; a directory named by $DUCTWATCH_RUNTIME_DIR that
 * another user shares with a group of ours (group r-x, no group write,
 * nothing for others) is accepted too, for following the services. */
int dw_runtime_dir(char *buf, size_t cap);

/* May a server bind an ipc socket in the directory st describes (stat of
 * it)? 0 when it is ours and private (0700), or, with
 * $DUCTWATCH_RUNTIME_GROUP, ours, of that group and 0750 (or stricter for
 * the group: no group write, nothing for others): the rule dw_runtime_dir
 * applies to a directory of ours. Else -EPERM (or -EINVAL: no such
 * group) with a one-line reason in *why (static). */
int dw_runtime_dir_check_own(const struct stat *st, const char **why);

/* Default endpoints inside the runtime directory. name: "acquire",
 * "events", "detect". */
int dw_default_endpoint(const char *name, char *buf, size_t cap);

/* A socket with LINGER 0 (so zmq_ctx_term never hangs) and, for the types
 * that receive from peers, the largest message a peer may send
 * (defaults.h: DW_SUBSCRIPTION_MAX for PUB and XPUB, DW_STREAM_MESSAGE_MAX
 * for SUB, XSUB and REQ; a REP sets its own). NULL on error. */
void *dw_zmq_socket(void *ctx, int type);
/* zmq_close, for NULL too (cleanup paths close what was opened). */
void dw_zmq_close(void *sock);
/* zmq_send of [topic, body] without blocking; returns 0, or -EAGAIN when the
 * high-water mark is reached (the message is dropped), or another -errno. */
int dw_zmq_send2(void *sock, const char *topic, const void *body, size_t len);

/* One [topic, body] message as received: the parts stay in libzmq's
 * buffers (no copy, no size limit) until dw_zmq_msg2_close. */
struct dw_zmq_msg2 {
    zmq_msg_t topic, body;
};
/* Receives one message (flags: 0 waits, up to the socket's ZMQ_RCVTIMEO;
 * ZMQ_DONTWAIT does not). Returns 1 with m to close, 0 when none came
 * (EAGAIN, EINTR), -EPROTO for a message of one part (received and
 * dropped), or another -errno. Parts after the second are dropped. */
int dw_zmq_recv2(void *sock, int flags, struct dw_zmq_msg2 *m);
void dw_zmq_msg2_close(struct dw_zmq_msg2 *m);
