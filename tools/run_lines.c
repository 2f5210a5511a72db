/* What the stages of `ductwatch run` print on stdout, one contract line
 * each (the programs' man pages):
 *   ductwatch-sim      pty: /dev/pts/N      its pseudo-terminal
 *   ductwatch-acquire  pub: ENDPOINT        listening
 *   ductwatch-detect   pub: ENDPOINT        listening
 *   ductwatch-record   file: PATH           a session file opened
 *   ductwatch-record   lost: N garment frame(s) of DEV ...
 *   ductwatch-web      url: http://ADDR:PORT/?token=TOKEN   the page to open
 * Every place that reads one of them is in this file; the prefixes are
 * common/contract.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "contract.h"
#include "log.h"
#include "run.h"

/* pty: PATH. acquire opens the stable link, so a restarted simulator (a
 * new pty) looks to it like the garment being replugged. */
static void on_pty(struct run *r, const char *path)
{
    char tmp[PATH_MAX + 32];
    snprintf(r->pty, sizeof(r->pty), "%s", path);
    snprintf(tmp, sizeof(tmp), "%s.new", r->garment_link);
    unlink(tmp);
    if (symlink(r->pty, tmp) < 0 || rename(tmp, r->garment_link) < 0) {
        dw_err("cannot link %s -> %s: %s", r->garment_link, r->pty, strerror(errno));
        r->fatal = true;
        return;
    }
    r->pty_ready = true;
    dw_debug("simulator on %s", r->pty);
}

/* lost: N garment frame(s) of DEV ..., counted for the device the
 * summary is about. */
static void on_lost(struct run *r, const char *line)
{
    char dev[DW_ID_LEN + 1];
    uint64_t lost;
    if (dw_line_parse_lost(line, &lost, dev, sizeof(dev)) < 0)
        return;
    if (!r->live.device[0] || !strcmp(dev, r->live.device)) {
        r->bridged_gaps++;
        r->bridged_missing += lost;
    }
}

/* file: PATH, once per session file the recorder opens. */
static void on_file(struct run *r, const char *path)
{
    unsigned i;
    for (i = 0; i < r->n_files; i++)
        if (!strcmp(r->files[i], path))
            break;
    if (i == r->n_files && r->n_files < DW_RUN_MAX_FILES)
        snprintf(r->files[r->n_files++], sizeof(r->files[0]), "%s", path);
    if (r->level >= DW_LOG_INFO)
        dw_run_say(r, "recording to %s", path);
}

void dw_run_on_stage_line(struct dw_stage *s, bool is_err, const char *line, void *user)
{
    struct run *r = user;
    const char *v;
    if (is_err) {
        /* Their own log lines, already prefixed with the program name. */
        dw_run_clear_status(r);
        fprintf(stderr, "%s\n", line);
        fflush(stderr);
        return;
    }
    if (s == &r->st[ST_SIM] && (v = dw_line_value(line, DW_LINE_PTY)))
        on_pty(r, v);
    else if (s == &r->st[ST_ACQUIRE] && dw_line_value(line, DW_LINE_PUB))
        r->acquire_ready = true;
    else if (s == &r->st[ST_DETECT] && dw_line_value(line, DW_LINE_PUB))
        r->detect_ready = true;
    else if (s == &r->st[ST_RECORD] && dw_line_value(line, DW_LINE_LOST))
        on_lost(r, line);
    else if (s == &r->st[ST_RECORD] && (v = dw_line_value(line, DW_LINE_FILE)))
        on_file(r, v);
    else if (s == &r->st[ST_WEB] && (v = dw_line_value(line, DW_LINE_URL))) {
        /* shown even with --quiet: it is how a person gets to the page */
        dw_run_say(r, "web: %s", v);
        r->web_ready = true;
    }
    else if (r->level >= DW_LOG_DEBUG)
        dw_run_say(r, "%s: %s", s->name, line);
}
