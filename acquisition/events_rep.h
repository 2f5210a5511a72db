/* The events endpoint: a REP socket on which apps and `ductwatch log` send
 * user events (one JSON object per request, docs/messages.md) and get
 * {"ok":true,"seq":N} or {"ok":false,"error":REASON} back. */
#pragma once
#include "acquire.h"

/* Longest request accepted, in bytes; longer ones are refused with the
 * reason "request too long"... */
#define DW_EVENTS_REQ_MAX 4095
/* ...up to this size. A client that sends more is disconnected by libzmq
 * before the message is buffered (ZMQ_MAXMSGSIZE): a 1 GB request once
 * took acquire to 984 MB. */
#define DW_EVENTS_WIRE_MAX 65536

/* Sets the largest request (DW_EVENTS_WIRE_MAX) on the REP socket, before
 * it binds. 0 or -errno. */
int dw_events_rep_setup(void *rep);

/* Serves the request waiting on rep, if any: reads it (every part: REP
 * must), hands the first part to dw_acquire_user_event and sends the
 * reply. Never blocks. */
void dw_events_rep_serve(void *rep, struct dw_acquire *a);
