/* dseq.c: the garment's device sequence as the recorder follows it across
 * an acquire restart. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dseq.h"
#include "dwcmocka.h"
#include "seqtrack.h"

/* The device seq across an acquire restart (struct dw_dseq). */
static void test_dseq_bridge(void **state)
{
    struct dw_dseq d;
    (void)state;
    memset(&d, 0, sizeof(d));
    /* stream 1: frames 0..9, a garment event (10), acquire's gap of 2 */
    dw_dseq_message(&d, 0, 1);
    for (uint32_t s = 0; s < 10; s++)
        assert_int_equal(dw_dseq_frame(&d, s), 0);
    assert_int_equal(dw_dseq_garment_event(&d), 10);
    dw_dseq_gap(&d, 2);
    assert_int_equal(dw_dseq_frame(&d, 13), 0);
    /* acquire restarted; 3 frames (14..16) went with it; the new one
     * counts 1 before its HELLO and has a garment event first */
    dw_dseq_message(&d, DW_SEQ_RESTART, 1);
    dw_dseq_gap(&d, 1);
    assert_int_equal(dw_dseq_garment_event(&d), -1);
    assert_int_equal(dw_dseq_frame(&d, 19), 3);
    assert_int_equal(dw_dseq_frame(&d, 20), 0);
    assert_int_equal(dw_dseq_garment_event(&d), 21);
    /* a new stream this subscriber joined late: nothing can be said */
    dw_dseq_message(&d, DW_SEQ_RESTART, 40);
    assert_int_equal(dw_dseq_frame(&d, 90), 0);
    /* the garment rebooted (its count went back): nothing either */
    dw_dseq_message(&d, DW_SEQ_RESTART, 1);
    assert_int_equal(dw_dseq_frame(&d, 0), 0);
    /* messages of the stream lost: track lost until the next frame */
    dw_dseq_message(&d, 5, 12);
    assert_int_equal(dw_dseq_garment_event(&d), -1);
    dw_dseq_message(&d, DW_SEQ_RESTART, 1);
    assert_int_equal(dw_dseq_frame(&d, 60), 0);
    /* the device seq wraps at 2^32 */
    dw_dseq_message(&d, 0, 2);
    assert_int_equal(dw_dseq_frame(&d, 0xFFFFFFFEu), 0);
    dw_dseq_message(&d, DW_SEQ_RESTART, 1);
    assert_int_equal(dw_dseq_frame(&d, 1), 2);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_dseq_bridge),
};

int main(int argc, char **argv)
{
    return dw_cmocka_run(tests, NULL, NULL, argc, argv);
}
