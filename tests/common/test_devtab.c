/* devtab.c: the per-device table every program shares. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "devtab.h"
#include "dwcmocka.h"
#include "frame.h"

struct entry {
    int before;
    char id[DW_ID_LEN + 1];
    uint64_t count;
};

static void test_devtab_get_find(void **state)
{
    struct dw_devtab t = DW_DEVTAB_INIT(struct entry, id);
    struct entry *first[3000];
    char id[32];
    (void)state;
    assert_null(dw_devtab_find(&t, "none"));
    /* Many devices: the table grows, entries keep their address. */
    for (int i = 0; i < 3000; i++) {
        snprintf(id, sizeof(id), "bra-%04d", i);
        first[i] = dw_devtab_get(&t, id);
        assert_non_null(first[i]);
        assert_string_equal(first[i]->id, id);
        assert_int_equal(first[i]->count, 0); /* new entries are zeroed */
        first[i]->count = (uint64_t)i;
    }
    assert_int_equal(t.n, 3000);
    for (int i = 0; i < 3000; i++) {
        snprintf(id, sizeof(id), "bra-%04d", i);
        assert_ptr_equal(dw_devtab_find(&t, id), first[i]);
        assert_ptr_equal(dw_devtab_get(&t, id), first[i]); /* not a second one */
        assert_ptr_equal(dw_devtab_at(&t, (unsigned)i), first[i]); /* in order */
        assert_int_equal(first[i]->count, i);
    }
    assert_int_equal(t.n, 3000);
    assert_null(dw_devtab_find(&t, "bra-3000"));
    assert_null(dw_devtab_find(&t, "bra-000"));
    /* ids that cannot be a device's */
    errno = 0;
    assert_null(dw_devtab_get(&t, ""));
    assert_int_equal(errno, EINVAL);
    assert_null(dw_devtab_get(&t, "0123456789abcdefX"));
    assert_int_equal(errno, EINVAL);
    assert_non_null(dw_devtab_get(&t, "0123456789abcdef"));
    dw_devtab_free(&t, NULL);
    assert_int_equal(t.n, 0);
    assert_null(dw_devtab_find(&t, "bra-0001"));
    /* usable again after free */
    assert_non_null(dw_devtab_get(&t, "again"));
    dw_devtab_free(&t, NULL);
}

static unsigned freed;

static void entry_free(void *e)
{
    freed++;
    free(e);
}

/* Entries the caller sets up itself (the detector's, with their buffers). */
static void test_devtab_add(void **state)
{
    struct dw_devtab t;
    struct entry *e = calloc(1, sizeof(*e)), *dup = calloc(1, sizeof(*dup));
    (void)state;
    dw_devtab_init(&t, sizeof(struct entry), offsetof(struct entry, id));
    snprintf(e->id, sizeof(e->id), "bra-1");
    e->before = 7;
    assert_int_equal(dw_devtab_add(&t, e), 0);
    assert_ptr_equal(dw_devtab_get(&t, "bra-1"), e);
    assert_int_equal(((struct entry *)dw_devtab_find(&t, "bra-1"))->before, 7);
    snprintf(dup->id, sizeof(dup->id), "bra-1");
    assert_int_equal(dw_devtab_add(&t, dup), -EEXIST);
    free(dup);
    assert_non_null(dw_devtab_get(&t, "bra-2"));
    freed = 0;
    dw_devtab_free(&t, entry_free);
    assert_int_equal(freed, 2);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_devtab_get_find),
    cmocka_unit_test(test_devtab_add),
};

int main(int argc, char **argv)
{
    return dw_cmocka_run(tests, NULL, NULL, argc, argv);
}
