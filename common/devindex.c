#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "devindex.h"

static uint32_t hash(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 16777619u;
    }
    return h;
}

long dw_devindex_find(const struct dw_devindex *x, const char *id, dw_devindex_name_fn name,
                      const void *ctx)
{
    if (!x->mask)
        return -1;
    for (uint32_t i = hash(id) & x->mask;; i = (i + 1) & x->mask) {
        uint32_t s = x->slot[i];
        if (!s)
            return -1;
        if (!strcmp(name(ctx, s - 1), id))
            return (long)(s - 1);
    }
}

static void put(uint32_t *slot, uint32_t mask, const char *id, unsigned pos)
{
    uint32_t i = hash(id) & mask;
    while (slot[i])
        i = (i + 1) & mask;
    slot[i] = pos + 1;
}

int dw_devindex_add(struct dw_devindex *x, const char *id, unsigned pos, dw_devindex_name_fn name,
                    const void *ctx)
{
    /* At most half full, so that probes stay short and one slot is free. */
    if (2 * (x->n + 1) > x->mask + 1 || !x->mask) {
        uint32_t cap = x->mask ? 2 * (x->mask + 1) : 64;
        if (cap < x->mask + 1)
            return -ENOMEM;
        uint32_t *ns = calloc(cap, sizeof(*ns));
        if (!ns)
            return -ENOMEM;
        for (uint32_t i = 0; x->mask && i <= x->mask; i++)
            if (x->slot[i])
                put(ns, cap - 1, name(ctx, x->slot[i] - 1), x->slot[i] - 1);
        free(x->slot);
        x->slot = ns;
        x->mask = cap - 1;
    }
    put(x->slot, x->mask, id, pos);
    x->n++;
    return 0;
}

void dw_devindex_free(struct dw_devindex *x)
{
    free(x->slot);
    memset(x, 0, sizeof(*x));
}
