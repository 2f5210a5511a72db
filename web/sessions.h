/* The recorded sessions in --dir, for the API (docs/web.md): the list,
 * the checks on a file name from a URL, and the events of the last hours
 * read back at start so that the feeding log survives a restart. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "hub.h"
#include "strbuf.h"

/* A session file name as the recorder makes them, and nothing that could
 * leave the directory: [A-Za-z0-9._+~-], not starting with '.', ending
 * ".h5", at most 200 bytes. */
bool dw_web_session_name_ok(const char *name);
/* [{"file","device","start","bytes","modified_ns","report"}...] of the
 * session files in dir, newest first ("report": the URL of its page). */
int dw_web_sessions_json(const char *dir, struct dw_strbuf *b);
/* Reads the events of the last `hours` before now_ns from the session
 * files in dir into the hub (dw_hub_add_file_event). Returns the number
 * read; files that do not open are logged and skipped. */
int dw_web_sessions_load(struct dw_hub *h, const char *dir, uint64_t now_ns, unsigned hours);
