#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "devtab.h"
#include "frame.h"

static const char *id_at(const void *ctx, unsigned pos)
{
    const struct dw_devtab *t = ctx;
    return (const char *)t->item[pos] + t->id_off;
}

void dw_devtab_init(struct dw_devtab *t, size_t size, size_t id_off)
{
    memset(t, 0, sizeof(*t));
    t->size = size;
    t->id_off = id_off;
}

void *dw_devtab_find(const struct dw_devtab *t, const char *id)
{
    long i = dw_devindex_find(&t->index, id, id_at, t);
    return i < 0 ? NULL : t->item[i];
}

int dw_devtab_add(struct dw_devtab *t, void *entry)
{
    const char *id = (const char *)entry + t->id_off;
    if (dw_devtab_find(t, id))
        return -EEXIST;
    if (t->n == t->cap) {
        unsigned nc = t->cap ? 2 * t->cap : 16;
        void **ni = nc > t->cap ? realloc(t->item, (size_t)nc * sizeof(*ni)) : NULL;
        if (!ni)
            return -ENOMEM;
        t->item = ni;
        t->cap = nc;
    }
    t->item[t->n] = entry;
    if (dw_devindex_add(&t->index, id, t->n, id_at, t) < 0)
        return -ENOMEM;
    t->n++;
    return 0;
}

void *dw_devtab_get(struct dw_devtab *t, const char *id)
{
    void *e = dw_devtab_find(t, id);
    size_t n = strnlen(id, DW_ID_LEN + 1);
    int r;
    if (e)
        return e;
    if (!n || n > DW_ID_LEN || t->size < t->id_off + DW_ID_LEN + 1) {
        errno = EINVAL;
        return NULL;
    }
    e = calloc(1, t->size);
    if (!e) {
        errno = ENOMEM;
        return NULL;
    }
    memcpy((char *)e + t->id_off, id, n);
    if ((r = dw_devtab_add(t, e)) < 0) {
        free(e);
        errno = -r;
        return NULL;
    }
    return e;
}

void dw_devtab_free(struct dw_devtab *t, void (*entry_free)(void *))
{
    for (unsigned i = 0; i < t->n; i++)
        (entry_free ? entry_free : free)(t->item[i]);
    free(t->item);
    dw_devindex_free(&t->index);
    dw_devtab_init(t, t->size, t->id_off);
}
