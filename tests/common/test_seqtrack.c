/* seqtrack.c: the subscriber's stream sequence: gaps, repeats, restarts. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dwcmocka.h"
#include "seqtrack.h"

static void test_seq_check(void **state)
{
    struct dw_seq_tracker t;
    (void)state;
    memset(&t, 0, sizeof(t));
    /* first message of a stream that starts at 1: nothing missing */
    assert_int_equal(dw_seq_check(&t, 100, 1), 0);
    assert_int_equal(dw_seq_check(&t, 100, 2), 0);
    assert_int_equal(dw_seq_check(&t, 100, 3), 0);
    /* a gap of 4 */
    assert_int_equal(dw_seq_check(&t, 100, 8), 4);
    /* duplicates and replays: dropped */
    assert_int_equal(dw_seq_check(&t, 100, 8), DW_SEQ_DUP);
    assert_int_equal(dw_seq_check(&t, 100, 2), DW_SEQ_DUP);
    assert_int_equal(dw_seq_check(&t, 100, 9), 0);
    assert_int_equal(t.received, 5);
    assert_int_equal(t.gaps, 1);
    assert_int_equal(t.missing, 4);
    assert_int_equal(t.duplicates, 2);
    /* the publisher restarted: new stream id, counting starts again */
    assert_int_equal(dw_seq_check(&t, 200, 1), DW_SEQ_RESTART);
    assert_int_equal(t.restarts, 1);
    assert_int_equal(dw_seq_check(&t, 200, 2), 0);
    /* an old stream's message after the restart is another restart */
    assert_int_equal(dw_seq_check(&t, 100, 10), DW_SEQ_RESTART);
    assert_int_equal(t.restarts, 2);
    assert_int_equal(t.received, 8);

    /* joining late: the first message seen has seq 50 -> 49 missed */
    memset(&t, 0, sizeof(t));
    assert_int_equal(dw_seq_check(&t, 7, 50), 49);
    assert_int_equal(t.gaps, 1);
    assert_int_equal(t.missing, 49);
    assert_int_equal(dw_seq_check(&t, 7, 51), 0);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_seq_check),
};

int main(int argc, char **argv)
{
    return dw_cmocka_run(tests, NULL, NULL, argc, argv);
}
