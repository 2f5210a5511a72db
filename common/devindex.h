/* Device id -> position in the caller's array, by hashing: detect and
 * record look a device up for every message, and a linear search over the
 * ids cost a strcmp per garment served. The caller owns the ids; the
 * index stores positions and asks for the id at a position. */
#pragma once
#include <stdint.h>

typedef const char *(*dw_devindex_name_fn)(const void *ctx, unsigned pos);

struct dw_devindex {
    uint32_t *slot; /* position + 1; 0 = empty */
    uint32_t mask;  /* slots - 1 (a power of two), 0 before the first add */
    unsigned n;
};

/* The position of id, or -1. */
long dw_devindex_find(const struct dw_devindex *x, const char *id, dw_devindex_name_fn name,
                      const void *ctx);
/* Adds id at position pos (not already present); 0 or -ENOMEM. */
int dw_devindex_add(struct dw_devindex *x, const char *id, unsigned pos, dw_devindex_name_fn name,
                    const void *ctx);
void dw_devindex_free(struct dw_devindex *x);
