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
