/* The events endpoint: a REP socket on which apps and `ductwatch log` send
 * user events (one JSON object per request, docs/messages.md) and get
 * {"ok":true,"seq":N} or {"ok":false,"error":REASON} back. */
#pragma once
#include "acquire.h"

/* Longest request accepted, in bytes; longer ones are refused. */
#define DW_EVENTS_REQ_MAX 4095

/* Serves the request waiting on rep, if any: reads it (every part: REP
 * must), hands the first part to dw_acquire_user_event and sends the
 * reply. Never blocks. */
void dw_events_rep_serve(void *rep, struct dw_acquire *a);
