/* Defaults that more than one program, or a program and its library, must
 * agree on; each is documented where users see it (named below). */
#pragma once

/* Messages ZeroMQ queues for one peer before it drops them (seen as a
 * stream gap by the subscriber): acquire's --sndhwm, the broker's --hwm,
 * detect's sockets. docs/messages.md 8, docs/security.md 6. */
#define DW_HWM_DEFAULT 100000

/* acquire's backlog replay: at most this many messages (--backlog), and
 * only those younger than this (--backlog-age). docs/messages.md 8. */
#define DW_BACKLOG_DEFAULT 16384
#define DW_BACKLOG_AGE_S_DEFAULT 10

/* The largest message a peer may send a socket of ours (ZMQ_MAXMSGSIZE,
 * set by dw_zmq_socket): a peer that sends more is disconnected before
 * libzmq buffers the message. docs/security.md 10.
 * - a subscription to a PUB or XPUB is 1 byte and a topic prefix, and no
 *   prefix longer than a topic (64 bytes) matches anything; the limit also
 *   covers the handshake's commands (a CURVE INITIATE with its metadata is
 *   a few hundred bytes);
 * - a stream message to a SUB or XSUB, or a reply to a REQ: the largest
 *   legitimate one is an alert (16 KiB of JSON, DW_MSG_ALERT_JSON_MAX),
 *   then a frame (1 KiB of payload); four times the alert leaves room. */
#define DW_SUBSCRIPTION_MAX 4096
#define DW_STREAM_MESSAGE_MAX 65536
