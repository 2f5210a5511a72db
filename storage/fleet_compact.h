/* Compaction: a closed fleet file rewritten into the per-garment session
 * files of the published contract (docs/storage.md, "Compaction"), in the
 * fleet file's directory, one per /devices row, named as the recorder
 * names them (<device>-<UTC start>.h5, the start being the row's).
 *
 * A garment's first /devices row goes instead onto the end of its session
 * file of the same fleet period, when an earlier fleet file of the period
 * made one with the same HELLO (a recorder restarted within the period):
 * rows that file holds already are left out, the messages lost in between
 * are one gap row (docs/storage.md, "Two fleet files of one period").
 *
 * Crash-safe and idempotent: each session file is written under a hidden
 * temporary name (one appended to: a copy of it), synced, and renamed; a
 * session file already under its final name was complete and is kept, and
 * one whose compacted_fleet_files names this fleet file holds its rows.
 * Once every one is in place and the directory synced, the fleet file gets
 * the root attribute `compacted` and is removed. A crash at any point
 * leaves either the fleet file (run again: what was done is kept, the rest
 * is redone) or nothing more to do. One compaction at a time per directory
 * (flock of the directory; the others wait). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dw_fleet_compact_report {
    size_t files;        /* session files the fleet file became */
    char **paths;        /* their paths */
    uint64_t frames, events, alerts;
    bool redone;         /* an earlier run had left part of the work */
    size_t appended;     /* of the files, those appended to (not created) */
    uint64_t duplicates; /* rows left out: the session file appended to had them */
    uint64_t bridged;    /* messages missing between a file appended to and its rows */
};

/* The rows held in memory between rounds unless told otherwise. */
#define DW_FLEET_COMPACT_MEMORY ((size_t)256 << 20)

/* 0 or a negative errno with the reason in err. A fleet file a recorder
 * still writes is refused (-EBUSY), a crashed one needs --recover first.
 * memory: bytes of rows held before a round writes them (0: the default);
 * the fleet file is read once, each round opens one session file at a
 * time, and a fleet file whose rows fit takes one round. */
int dw_fleet_compact(const char *path, size_t memory, struct dw_fleet_compact_report *rep,
                     char *err, size_t errcap);
void dw_fleet_compact_report_free(struct dw_fleet_compact_report *rep);
/* 1 when path is a fleet file that opens (its /devices and /frames rows
 * in *devices, *frames), else 0. */
int dw_fleet_file_summary(const char *path, uint64_t *devices, uint64_t *frames);
