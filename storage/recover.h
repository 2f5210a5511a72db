/* Crash recovery of a session file whose writer died (kill -9, power loss):
 * what `h5clear -s --increment` does, through the library. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dw_recover_report {
    uint64_t frames;   /* /frames rows the file holds after recovery */
    uint64_t rows_cut; /* rows cut from the longest column */
    bool torn;         /* some were cut because their chunk did not read back */
    uint64_t table_rows_cut; /* rows of /events, /alerts... whose chunk did not read back */
};

/* Clears the SWMR-writing status flags in the superblock and moves the
 * stored end-of-allocation to the real end of the file, so every HDF5 reader
 * opens the file with all the data that reached it (clearing the flags
 * alone would truncate the file to the stale end-of-allocation and lose
 * data). The /frames columns, which a writer killed between two flushes
 * leaves with different lengths, are cut back to the shortest (the rows
 * that are complete), and to the first row of a chunk that no longer reads
 * back (its checksum fails: torn by a power loss); so are the tables. rep, if not NULL, says
 * what was cut. Returns 1 when the file was recovered, 0 when it was closed
 * properly (nothing done), DW_RECOVER_REMOVED when it was empty (a writer
 * killed before HDF5 wrote anything: removed, it held nothing), or a
 * negative errno with a reason in err. */
#define DW_RECOVER_REMOVED 2
int dw_session_recover(const char *path, struct dw_recover_report *rep, char *err,
                       size_t errcap);
