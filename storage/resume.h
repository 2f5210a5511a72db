/* A record worker that resumes from its durable consumer (--nats, the
 * `nats:` line says "(resumed)") gets again every message its killed
 * predecessor had not acked. The predecessor acks after the flush that
 * holds a message's rows, so a kill between that flush and the acks leaves
 * messages that are both in its files and delivered again. This reads, per
 * device, what the device's newest session file in the directory holds last
 * (struct dw_session_tail), so that the worker leaves those messages out
 * (docs/operations.md). With the fleet layout the same is read, per
 * device, from the newest fleet file of the recorder's name. The directory
 * is listed once, before the worker creates files of its own. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "frame.h"
#include "session_tail.h"

struct dw_resume_device {
    char id[DW_ID_LEN + 1];
    struct dw_session_tail tl;
};

struct dw_resume {
    char *dir;
    char **names; /* the directory's names at the start */
    size_t n;
    struct dw_resume_device *fleet; /* the newest fleet file's devices */
    size_t n_fleet;
};

/* Lists dir (open as dir_fd) and reads the newest fleet file named
 * "fleet-<recorder>-<UTC>.h5" there: 0 or -errno (a fleet file that cannot
 * be read is left out, with a warning). */
int dw_resume_open(struct dw_resume *rs, int dir_fd, const char *dir, const char *recorder);
/* What device's newest session file (by the UTC start its name holds)
 * among the names listed and the fleet file hold last, together: true when
 * either held something, a file its writer was killed in included. */
bool dw_resume_tail(const struct dw_resume *rs, const char *device, struct dw_session_tail *tl);
void dw_resume_close(struct dw_resume *rs);
