/* A growable table of per-device entries, found by device id through the
 * devindex hash: one helper for every program that keeps state per garment
 * (detect's streams, the recorder's files, the detector's baselines, the
 * subscriber of common/stream_sub.h).
 *
 * Entries are allocated one by one, so a pointer to an entry stays valid
 * while the table grows. Each entry is a caller's struct holding the
 * device id as a char[DW_ID_LEN + 1] member at id_off. */
#pragma once
#include <stddef.h>
#include "devindex.h"

struct dw_devtab {
    void **item;   /* n entries, in the order they were added */
    unsigned n, cap;
    size_t size;   /* bytes of one entry (dw_devtab_get allocates them) */
    size_t id_off; /* offset of the id member in an entry */
    struct dw_devindex index;
};

/* An empty table of entries of type, whose id member is member. */
#define DW_DEVTAB_INIT(type, member) { .size = sizeof(type), .id_off = offsetof(type, member) }

void dw_devtab_init(struct dw_devtab *t, size_t size, size_t id_off);
/* The entry of id, or NULL. */
void *dw_devtab_find(const struct dw_devtab *t, const char *id);
/* The entry of id; a new one (zeroed, its id set) when there is none.
 * NULL with errno set: ENOMEM, or EINVAL for an id that is empty or longer
 * than DW_ID_LEN. */
void *dw_devtab_get(struct dw_devtab *t, const char *id);
/* Adds an entry the caller allocated with malloc (for entries that need
 * their own set-up), its id already set and not yet in the table. The
 * table owns it from then on. 0, -EEXIST or -ENOMEM (not added then). */
int dw_devtab_add(struct dw_devtab *t, void *entry);
/* Entry i of [0, t->n), in the order they were added. */
static inline void *dw_devtab_at(const struct dw_devtab *t, unsigned i)
{
    return t->item[i];
}
/* Frees every entry (with entry_free, or free() when NULL) and the table. */
void dw_devtab_free(struct dw_devtab *t, void (*entry_free)(void *));
