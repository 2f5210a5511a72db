/* Session writer and reader: values, order and bytes come back exactly. */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dwcmocka.h"
#include "layout.h"
#include "msg.h"
#include "recover.h"
#include "session_file.h"
#include "session_reader.h"
#include "session_writer.h"

static char tmpdir[256];

static int setup(void **state)
{
    if (dw_test_mkdtemp(tmpdir, sizeof(tmpdir), "dwstorage-unit") < 0)
        return -1;
    umask(022);
    (void)state;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return dw_test_rmtree(tmpdir);
}

/* Every 16-bit raw value survives the float32 column for every plausible
 * scale: round(v / scale) gives the integer back. */
static void test_phys_exact(void **state)
{
    static const uint32_t scales[] = { 1, 7, 10, 100, 1000, 10000, 12345, 100000, 999999,
                                       1000000, 3906250, 4294967295u };
    (void)state;
    for (size_t k = 0; k < sizeof(scales) / sizeof(*scales); k++)
        for (int32_t raw = -32768; raw <= 65535; raw++) {
            float v = dw_session_phys(raw, scales[k]);
            if (dw_session_raw(v, scales[k]) != raw)
                fail_msg("scale %u raw %d -> %.9g -> %d", scales[k], raw, (double)v,
                         dw_session_raw(v, scales[k]));
        }
}

struct sent {
    uint8_t type;
    uint32_t dseq;
    uint64_t t;
    uint8_t payload[DW_MAX_PAYLOAD];
    size_t len;
};

/* A garment event as the recorder writes it: a row, and the frame kept. */
static void write_garment_event(struct dw_session_writer *w, struct sent *x, uint64_t seq,
                                uint64_t t, uint32_t dseq, int i)
{
    struct dw_event ev = { DW_EV_THERMOMETER, DW_SIDE_NONE, 38000 + i, "oral" };
    struct dw_row_event row;

    memset(&row, 0, sizeof(row));
    row.seq = seq;
    row.t_device_us = t;
    dw_session_strset(row.kind, sizeof(row.kind), "thermometer");
    dw_session_strset(row.side, sizeof(row.side), "none");
    row.value = ev.value / 1000.0;
    dw_session_strset(row.source, sizeof(row.source), "garment");
    row.device_seq = dseq;
    dw_session_strset(row.text, sizeof(row.text), "oral");
    assert_int_equal(dw_session_writer_event(w, &row), 0);
    x->type = DW_FRAME_EVENT;
    x->len = (size_t)dw_event_pack(&ev, x->payload, sizeof(x->payload));
    x->dseq = dseq;
    x->t = t;
}

/* A sample of random values in every field the format keeps. */
static void random_sample(const struct dw_hello *h, struct sent *x)
{
    struct dw_sample smp;

    memset(&smp, 0, sizeof(smp));
    smp.n_zones = h->n_zones;
    for (unsigned z = 0; z < h->n_zones; z++) {
        smp.temp[z] = (int16_t)(rand() % 65536 - 32768);
        smp.pressure[z] = (uint16_t)(rand() % 65536);
        smp.status[z] = (uint8_t)(rand() % 16);
    }
    smp.ambient[0] = (int16_t)(rand() % 65536 - 32768);
    smp.ambient[1] = 2400;
    smp.accel[0] = -1000;
    smp.accel[1] = (int16_t)(rand() % 65536 - 32768);
    smp.accel[2] = 32767;
    x->type = DW_FRAME_SAMPLE;
    x->len = (size_t)dw_sample_pack(&smp, x->payload, sizeof(x->payload));
}

/* 2500 frames (two HELLOs, STATUS, EVENT and SAMPLE frames) written from
 * device time t; what was sent goes to sent. Returns how many. */
static size_t write_frames(struct dw_session_writer *w, const struct dw_hello *h,
                           const uint8_t *hp, size_t hl, uint64_t t, struct sent *sent)
{
    size_t ns = 0;
    uint64_t seq = 0;
    uint32_t dseq = 0;

    srand(7);
    for (int i = 0; i < 2500; i++) {
        struct dw_msg_frame m = { .version = 1, .seq = ++seq, .stream = 42, .t_device_us = t,
                                  .t_host_ns = 1795545119187823360ull + (uint64_t)i * 100000000 };
        struct sent *x = &sent[ns];
        if (i == 0 || i == 1700) {
            x->type = DW_FRAME_HELLO;
            memcpy(x->payload, hp, hl);
            x->len = hl;
        } else if (i % 97 == 3) {
            struct dw_status st = { (uint16_t)(3600 + i), (uint8_t)(i % 101), 1, (int16_t)-i };
            x->type = DW_FRAME_STATUS;
            x->len = (size_t)dw_status_pack(&st, x->payload, sizeof(x->payload));
        } else if (i % 211 == 5) {
            write_garment_event(w, x, m.seq, t, dseq++, i);
            ns++;
            continue;
        } else {
            random_sample(h, x);
            t += 100000;
        }
        x->dseq = dseq++;
        x->t = t;
        m.type = x->type;
        m.len = (uint16_t)x->len;
        m.device_seq = x->dseq;
        m.t_device_us = t;
        m.payload = x->payload;
        assert_int_equal(dw_session_writer_frame(w, &m), 0);
        ns++;
        if (i % 500 == 0)
            assert_int_equal(dw_session_writer_flush(w), 0);
    }
    return ns;
}

/* A host-side event and an alert: kept, not on the wire. */
static void write_host_rows(struct dw_session_writer *w)
{
    struct dw_row_event row;
    struct dw_row_alert al;

    memset(&row, 0, sizeof(row));
    dw_session_strset(row.kind, sizeof(row.kind), "gap");
    dw_session_strset(row.source, sizeof(row.source), "acquire");
    row.missing = 3;
    row.device_seq = -1;
    row.value = NAN;
    assert_int_equal(dw_session_writer_event(w, &row), 0);
    memset(&al, 0, sizeof(al));
    dw_session_strset(al.rule, sizeof(al.rule), "D1");
    al.zone = 5;
    assert_int_equal(dw_session_writer_alert(w, &al), 0);
}

/* The reader gives back the ns frames sent, in order and byte for byte,
 * and the one host event. */
static void read_back(const char *path, const struct dw_session_counts *c,
                      const struct sent *sent, size_t ns)
{
    struct dw_session_reader *rd;
    char err[DW_SESSION_ERR_MAX];
    const struct dw_session_info *in;
    struct dw_session_record rec;
    size_t i = 0, host_events = 0;
    int e;

    assert_int_equal(dw_session_reader_open(&rd, path, err, sizeof(err)), 0);
    in = dw_session_reader_info(rd);
    assert_string_equal(in->device_id, "bra-unit");
    assert_string_equal(in->firmware, "fw-9");
    assert_int_equal(in->frames, c->frames);
    assert_false(in->swmr_open);
    while ((e = dw_session_reader_next(rd, &rec)) > 0) {
        uint8_t type = 0, p[DW_MAX_PAYLOAD];
        int n = dw_session_record_payload(rd, &rec, &type, p, sizeof(p));
        assert_true(n >= 0);
        if (n == 0) {
            host_events++;
            continue;
        }
        assert_true(i < ns);
        assert_int_equal(type, sent[i].type);
        assert_int_equal(rec.device_seq, sent[i].dseq);
        assert_int_equal(rec.t_device_us, sent[i].t);
        assert_int_equal((size_t)n, sent[i].len);
        assert_memory_equal(p, sent[i].payload, sent[i].len);
        i++;
    }
    assert_int_equal(e, 0);
    assert_int_equal(i, ns);
    assert_int_equal(host_events, 1);
    dw_session_reader_close(rd);
}

static void test_roundtrip(void **state)
{
    struct dw_hello h;
    uint8_t hp[DW_MAX_PAYLOAD];
    ssize_t hl;
    char path[512], err[DW_SESSION_ERR_MAX];
    struct dw_session_writer *w;
    struct dw_session_counts c;
    static struct sent sent[3000];
    size_t ns;
    uint64_t t = 5000000;
    struct stat sb;
    (void)state;

    dw_layout_default(&h, "bra-unit", "fw-9", 10);
    hl = dw_hello_pack(&h, hp, sizeof(hp));
    assert_true(hl > 0);
    snprintf(path, sizeof(path), "%s/a.h5", tmpdir);
    struct dw_session_start s = { .path = path, .hello = hp, .hello_len = (size_t)hl,
                                  .t_host_ns = 1795545119187823360ull, .t_device_us = t,
                                  .stream = 42, .chunk_rows = 64 };
    assert_int_equal(dw_session_writer_create(&w, &s, err, sizeof(err)), 0);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    ns = write_frames(w, &h, hp, (size_t)hl, t, sent);
    write_host_rows(w);
    assert_int_equal(dw_session_writer_close(w, &c, err, sizeof(err)), 0);
    assert_int_equal(c.hellos, 2);
    assert_int_equal(c.gaps, 1);
    assert_int_equal(c.missing, 3);
    assert_int_equal(c.alerts, 1);

    assert_int_equal(dw_session_recover(path, NULL, err, sizeof(err)), 0); /* closed properly */
    read_back(path, &c, sent, ns);
}

static void test_refuses_other_files(void **state)
{
    char path[512], err[DW_SESSION_ERR_MAX];
    struct dw_session_reader *rd;
    hid_t f, sp, ds;
    hsize_t n = 4;
    FILE *fp;
    (void)state;

    snprintf(path, sizeof(path), "%s/plain.h5", tmpdir);
    f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(f >= 0);
    sp = H5Screate_simple(1, &n, NULL);
    ds = H5Dcreate2(f, "x", H5T_NATIVE_INT, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(ds >= 0);
    H5Dclose(ds);
    H5Sclose(sp);
    H5Fclose(f);
    assert_int_equal(dw_session_reader_open(&rd, path, err, sizeof(err)), -EBADF);
    assert_non_null(strstr(err, "not a ductwatch session"));

    snprintf(path, sizeof(path), "%s/text.h5", tmpdir);
    fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("hello\n", fp);
    fclose(fp);
    assert_int_equal(dw_session_reader_open(&rd, path, err, sizeof(err)), -EBADF);
    assert_non_null(strstr(err, "not an HDF5 file"));

    snprintf(path, sizeof(path), "%s/missing.h5", tmpdir);
    assert_int_equal(dw_session_reader_open(&rd, path, err, sizeof(err)), -ENOENT);
}

/* A recorder killed between creating a file and HDF5's first write leaves
 * it empty: --recover removes it (it held nothing), but not while a live
 * writer holds it; a file with bytes that are not HDF5 stays refused. */
static void test_recover_empty(void **state)
{
    char path[512], err[DW_SESSION_ERR_MAX];
    struct stat sb;
    FILE *fp;
    int fd;
    (void)state;
    snprintf(path, sizeof(path), "%s/empty.h5", tmpdir);
    fd = dw_session_file_create(AT_FDCWD, path);
    assert_true(fd >= 0);
    assert_int_equal(dw_session_recover(path, NULL, err, sizeof(err)), -EBUSY);
    assert_int_equal(stat(path, &sb), 0);
    close(fd);
    assert_int_equal(dw_session_recover(path, NULL, err, sizeof(err)), DW_RECOVER_REMOVED);
    assert_int_equal(stat(path, &sb), -1);

    snprintf(path, sizeof(path), "%s/bytes.h5", tmpdir);
    fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("x", fp);
    fclose(fp);
    assert_int_equal(dw_session_recover(path, NULL, err, sizeof(err)), -EBADF);
    assert_int_equal(stat(path, &sb), 0);
}

static void test_create_refuses_existing(void **state)
{
    struct dw_hello h;
    uint8_t hp[DW_MAX_PAYLOAD];
    char path[512], err[DW_SESSION_ERR_MAX];
    struct dw_session_writer *w;
    FILE *fp;
    (void)state;
    dw_layout_default(&h, "bra-unit", "", 10);
    snprintf(path, sizeof(path), "%s/exists.h5", tmpdir);
    fp = fopen(path, "w");
    assert_non_null(fp);
    fclose(fp);
    struct dw_session_start s = { .path = path, .hello = hp,
                                  .hello_len = (size_t)dw_hello_pack(&h, hp, sizeof(hp)) };
    assert_int_equal(dw_session_writer_create(&w, &s, err, sizeof(err)), -EEXIST);
    assert_null(w);
}

/* Every 16-bit value of every column comes back exactly through the file,
 * whatever the other values of its chunk: each column sweeps all 65 536
 * raws in order, in 16-row chunks, each zone shifted by one more raw, so
 * that every value is somewhere the smallest of its chunk, the largest and
 * in the middle (the float columns are stored with scale-offset at the
 * default scales, 0.01 degC, 0.001 kPa, 0.001 g, and values near 0 are
 * where it went wrong once). Read back by the session reader as the
 * garment's bytes. */
static void test_every_raw_exact(void **state)
{
    struct dw_hello h;
    uint8_t hp[DW_MAX_PAYLOAD];
    char path[512], err[DW_SESSION_ERR_MAX];
    struct dw_session_writer *w;
    struct dw_session_reader *rd;
    struct dw_session_record rec;
    static uint8_t sent[65536][DW_MAX_PAYLOAD];
    static size_t len[65536];
    size_t i = 0;
    int e;
    (void)state;

    dw_layout_default(&h, "bra-unit", "fw-9", 10);
    snprintf(path, sizeof(path), "%s/every.h5", tmpdir);
    struct dw_session_start s = { .path = path, .hello = hp,
                                  .hello_len = (size_t)dw_hello_pack(&h, hp, sizeof(hp)),
                                  .t_host_ns = 1795545119187823360ull, .t_device_us = 1,
                                  .chunk_rows = 16 };
    assert_int_equal(dw_session_writer_create(&w, &s, err, sizeof(err)), 0);
    for (unsigned k = 0; k < 65536; k++) {
        struct dw_sample smp;
        memset(&smp, 0, sizeof(smp));
        smp.n_zones = h.n_zones;
        /* -32768 + k + shift, wrapping: chunk starts fall on every residue */
        for (unsigned z = 0; z < h.n_zones; z++) {
            smp.temp[z] = (int16_t)(uint16_t)(k + 32768u + z);
            smp.pressure[z] = (uint16_t)(k + z);
        }
        smp.ambient[0] = smp.accel[0] = (int16_t)(uint16_t)(k + 32768u + 1);
        smp.ambient[1] = smp.accel[1] = (int16_t)(uint16_t)(k + 32768u + 15);
        smp.accel[2] = (int16_t)(uint16_t)(k + 32768u + 7);
        len[k] = (size_t)dw_sample_pack(&smp, sent[k], sizeof(sent[k]));
        struct dw_msg_frame m = { .version = 1, .seq = k + 1, .stream = 1,
                                  .type = DW_FRAME_SAMPLE, .device_seq = k,
                                  .t_device_us = 1 + (uint64_t)k * 100000,
                                  .t_host_ns = 1795545119187823360ull + k, .len = (uint16_t)len[k],
                                  .payload = sent[k] };
        assert_int_equal(dw_session_writer_frame(w, &m), 0);
        if (k % 10 == 9)
            assert_int_equal(dw_session_writer_flush(w), 0);
    }
    assert_int_equal(dw_session_writer_close(w, NULL, err, sizeof(err)), 0);
    assert_int_equal(dw_session_reader_open(&rd, path, err, sizeof(err)), 0);
    while ((e = dw_session_reader_next(rd, &rec)) > 0) {
        uint8_t type = 0, p[DW_MAX_PAYLOAD];
        int n = dw_session_record_payload(rd, &rec, &type, p, sizeof(p));
        if (n == 0)
            continue;
        assert_true(i < 65536);
        assert_int_equal((size_t)n, len[i]);
        if (memcmp(p, sent[i], len[i]))
            fail_msg("frame %zu does not come back as the garment sent it", i);
        i++;
    }
    assert_int_equal(e, 0);
    assert_int_equal(i, 65536);
    dw_session_reader_close(rd);
}

/* Called by write_rows() after every `every` rows. */
struct checkpoint {
    int every;
    void (*fn)(struct checkpoint *cp, int rows);
    size_t heap[16];
    int n;
};

/* Writes `rows` rows at 10 Hz of readings as skin sensors give them (a
 * level per zone, a slow swing of a few tenths, noise of a few LSB),
 * flushing every `flush_every` rows; returns the file's size. */
static off_t write_rows(const char *name, int rows, int flush_every, struct checkpoint *cp)
{
    struct dw_hello h;
    uint8_t hp[DW_MAX_PAYLOAD], pl[DW_MAX_PAYLOAD];
    char path[512], err[DW_SESSION_ERR_MAX];
    struct dw_session_writer *w;
    struct dw_session_counts c;
    struct stat sb;
    int32_t temp[DW_MAX_ZONES], pres[DW_MAX_ZONES];
    uint64_t t = 1000000;

    dw_layout_default(&h, "bra-unit", "fw-9", 10);
    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    struct dw_session_start s = { .path = path, .hello = hp,
                                  .hello_len = (size_t)dw_hello_pack(&h, hp, sizeof(hp)),
                                  .t_host_ns = 1795545119187823360ull, .t_device_us = t };
    assert_int_equal(dw_session_writer_create(&w, &s, err, sizeof(err)), 0);
    srand(11);
    for (unsigned z = 0; z < h.n_zones; z++) {
        temp[z] = 3400 + 10 * (int32_t)z;
        pres[z] = 800 + 50 * (int32_t)z;
    }
    for (int i = 0; i < rows; i++) {
        struct dw_sample smp;
        memset(&smp, 0, sizeof(smp));
        smp.n_zones = h.n_zones;
        double swing = sin(2 * M_PI * i / 9000.0 + 0.1 * i / 36000.0);
        for (unsigned z = 0; z < h.n_zones; z++) {
            /* noise: the sum of three uniforms, close to a normal one */
            int nt = rand() % 3 + rand() % 3 + rand() % 3 - 3;
            int np = rand() % 15 + rand() % 15 + rand() % 15 - 21;
            smp.temp[z] = (int16_t)(temp[z] + (int)(30 * swing * (1 + z % 3)) + nt);
            smp.pressure[z] = (uint16_t)(pres[z] + (int)(200 * swing) + np);
        }
        smp.ambient[0] = smp.ambient[1] = (int16_t)(2400 + rand() % 5);
        smp.accel[2] = (int16_t)(1000 + rand() % 21 - 10);
        struct dw_msg_frame m = { .version = 1, .seq = (uint64_t)i + 1, .stream = 1,
                                  .type = DW_FRAME_SAMPLE, .device_seq = (uint32_t)i,
                                  .t_device_us = t += 100000,
                                  .t_host_ns = 1795545119187823360ull + t * 1000 + rand() % 999,
                                  .payload = pl };
        m.len = (uint16_t)dw_sample_pack(&smp, pl, sizeof(pl));
        assert_int_equal(dw_session_writer_frame(w, &m), 0);
        if ((i + 1) % flush_every == 0)
            assert_int_equal(dw_session_writer_flush(w), 0);
        if (cp && (i + 1) % cp->every == 0)
            cp->fn(cp, i + 1);
    }
    assert_int_equal(dw_session_writer_close(w, &c, err, sizeof(err)), 0);
    assert_int_equal((int)c.frames, rows);
    assert_int_equal(stat(path, &sb), 0);
    return sb.st_size;
}

/* Flushing every second, as the recorder does live, rewrites the last
 * chunk of each column 60 times; under SWMR every rewrite that changed its
 * size would leave the old copy behind (that is 186 bytes per frame here,
 * 5 times the size written once). The file must stay close to the size of
 * the same rows written once: what it may add is a chunk's allotment now
 * and then, when a chunk outgrows it (6 % on this signal, where the swing
 * widens the range of some chunks; 3 % on the simulator's). */
static void test_flush_every_second_keeps_size(void **state)
{
    (void)state;
    off_t live = write_rows("live.h5", 36000, 10, NULL),
          once = write_rows("once.h5", 36000, 36000, NULL);
    print_message("an hour at 10 Hz: %lld bytes flushed every second, %lld written once "
                  "(%.1f and %.1f bytes per frame)\n", (long long)live, (long long)once,
                  live / 36000.0, once / 36000.0);
    assert_true(live <= once + once / 5);
}

static size_t heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

static void take_heap(struct checkpoint *cp, int rows)
{
    (void)rows;
    if (cp->n < 16)
        cp->heap[cp->n++] = heap_in_use();
}

/* A session file is only ever written at its end, so what the writer holds
 * must not grow with what the file already holds: HDF5's metadata cache
 * and free lists kept every chunk index block of the file (about 0.8 MB
 * more per day of 10 Hz data), which a recorder of many garments pays per
 * garment and a recorder that runs for weeks never got back. The heap in
 * use after 6 hours of rows and after 30 must be the same within 256 KB. */
static void test_memory_flat_over_a_day(void **state)
{
    struct checkpoint cp = { .every = 6 * 36000, .fn = take_heap };
    (void)state;
#ifdef __SANITIZE_ADDRESS__
    /* ASan's allocator is not glibc's: mallinfo2() does not see it */
    print_message("built with AddressSanitizer: heap not measurable, skipped\n");
    skip();
#endif
    write_rows("day.h5", 30 * 36000, 600, &cp);
    assert_int_equal(cp.n, 5);
    if (cp.heap[0] < 1024 * 1024) {
        /* the writer and HDF5 hold megabytes: another allocator took over */
        print_message("mallinfo2() sees %zu bytes in use: not glibc's heap, skipped\n",
                      cp.heap[0]);
        skip();
    }
    print_message("heap in use at 6, 12, 18, 24, 30 h: %zu %zu %zu %zu %zu KiB\n",
                  cp.heap[0] >> 10, cp.heap[1] >> 10, cp.heap[2] >> 10, cp.heap[3] >> 10,
                  cp.heap[4] >> 10);
    assert_true(cp.heap[4] < cp.heap[0] + 256 * 1024);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_phys_exact),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_refuses_other_files),
        cmocka_unit_test(test_create_refuses_existing),
        cmocka_unit_test(test_recover_empty),
        cmocka_unit_test(test_every_raw_exact),
        cmocka_unit_test(test_flush_every_second_keeps_size),
        cmocka_unit_test(test_memory_flat_over_a_day),
    };
    return dw_cmocka_run(tests, setup, teardown, argc, argv);
}
