/* What the `ductwatch` commands write: files that are whole or absent (a
 * temporary file next to the output, renamed over it once complete), and
 * reading progress on stderr. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Opens a new temporary file ".NAME.XXXXXX" next to out (mode 0600, as
 * mkstemp makes it), its name in tmp. NULL with *err = errno on failure. */
FILE *dw_tool_open_temp(const char *out, char *tmp, size_t cap, int *err);
/* Flushes, fsyncs and closes f, then renames tmp to out. 0, or -1 with
 * errno set (tmp is left for the caller to unlink). */
int dw_tool_commit_temp(FILE *f, const char *tmp, const char *out);

/* Progress of reading a file: on a terminal one line redrawn in place,
 * otherwise a line every 10 %. */
struct dw_tool_progress {
    const char *prog;        /* "ductwatch report" */
    bool tty;
    int last;                /* last percentage, -1 at first */
};
void dw_tool_progress_init(struct dw_tool_progress *p, const char *prog);
void dw_tool_progress_show(struct dw_tool_progress *p, const char *path, unsigned pct);
