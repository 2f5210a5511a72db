/* Unit tests of the front command's helpers: finding programs, alert
 * parsing and formatting, live state from real message bodies, and child
 * process supervision with real processes. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "dwcmocka.h"
#include "html.h"
#include "layout.h"
#include "livestate.h"
#include "msg.h"
#include "supervise.h"
#include "tool.h"

static void test_find_program_env(void **state)
{
    char buf[4096], dir[] = "/tmp/dwtools-XXXXXX", exe[4200];
    FILE *f;
    (void)state;

    setenv("DUCTWATCH_ACQUIRE", "/opt/x/ductwatch-acquire", 1);
    assert_int_equal(dw_tool_find_program("ductwatch-acquire", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "/opt/x/ductwatch-acquire");
    unsetenv("DUCTWATCH_ACQUIRE");

    /* $DUCTWATCH_LIBEXEC counts only if the program is there and executable. */
    assert_non_null(mkdtemp(dir));
    setenv("DUCTWATCH_LIBEXEC", dir, 1);
    snprintf(exe, sizeof(exe), "%s/ductwatch-sim", dir);
    assert_int_equal(dw_tool_find_program("ductwatch-sim", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "ductwatch-sim"); /* not there: PATH */
    f = fopen(exe, "w");
    assert_non_null(f);
    fputs("#!/bin/sh\n", f);
    fclose(f);
    chmod(exe, 0700);
    assert_int_equal(dw_tool_find_program("ductwatch-sim", buf, sizeof(buf)), 0);
    assert_string_equal(buf, exe);
    unlink(exe);
    rmdir(dir);
    unsetenv("DUCTWATCH_LIBEXEC");

    assert_int_equal(dw_tool_find_program("ductwatch-sim", buf, 4), -ENAMETOOLONG);
}

static void test_endpoint_present(void **state)
{
    (void)state;
    assert_true(dw_tool_endpoint_present("tcp://127.0.0.1:1"));
    assert_false(dw_tool_endpoint_present("ipc:///nonexistent/dir/events"));
    assert_false(dw_tool_endpoint_present("ipc:///tmp")); /* not a socket */
}

static const char alert_json[] =
    "{\"seq\":3,\"stream\":99,\"device\":\"bra-1\",\"id\":7,\"rule\":\"D1\","
    "\"level\":\"L1\",\"state\":\"raised\",\"side\":\"left\",\"zone\":5,"
    "\"zone_name\":\"left lower-inner outer\",\"value\":1.4,\"threshold\":1.3,"
    "\"t_device_us\":93784000000,\"t_host_ns\":1764000000000000000,"
    "\"message\":\"possible blocked duct\"}";

static void test_alert_format(void **state)
{
    struct dw_msg_alert a;
    char line[1024];
    (void)state;
    assert_int_equal(dw_msg_alert_parse(alert_json, strlen(alert_json), &a, NULL), 0);
    assert_int_equal(a.id, 7);
    dw_alert_format(&a, line, sizeof(line));
    assert_non_null(strstr(line, "2025-11-24T16:00:00Z"));
    assert_non_null(strstr(line, "[t+1d 02:03:04]"));
    assert_non_null(strstr(line, "L1 raised  D1    left lower-inner outer: possible blocked duct"));
    /* without a zone or a side; a short buffer is cut, not overrun */
    a.zone_name[0] = 0;
    snprintf(a.side, sizeof(a.side), "none");
    a.t_host_ns = 0;
    dw_alert_format(&a, line, sizeof(line));
    assert_non_null(strstr(line, "- [t+1d 02:03:04]"));
    assert_non_null(strstr(line, "both sides: possible"));
    dw_alert_format(&a, line, 10);
    assert_int_equal(strlen(line), 9);
}

/* alert_json with another seq and state. */
static void alert_with(char *buf, size_t cap, int seq, const char *st)
{
    const char *p = strstr(alert_json, "\"id\""), *q = strstr(alert_json, "\"side\"");
    const char *r = strstr(alert_json, "\"state\"");
    snprintf(buf, cap, "{\"seq\":%d,\"stream\":99,\"device\":\"bra-1\",%.*s\"state\":\"%s\",%s",
             seq, (int)(r - p), p, st, q);
}

static size_t frame_body(uint8_t type, uint64_t seq, const uint8_t *p, size_t len, uint8_t *out)
{
    struct dw_msg_frame m = { .version = DW_MSG_VERSION, .type = type, .len = (uint16_t)len,
                              .seq = seq, .stream = 42, .t_device_us = seq * 100000,
                              .t_host_ns = 1, .payload = p };
    ssize_t n = dw_msg_frame_pack(&m, out, 2048);
    assert_true(n > 0);
    return (size_t)n;
}

static void test_live_state(void **state)
{
    struct dw_live *l = calloc(1, sizeof(*l));
    struct dw_hello h;
    struct dw_sample s = { 0 };
    uint8_t p[DW_MAX_PAYLOAD], body[2048];
    size_t n;
    ssize_t pn;
    (void)state;

    dw_live_init(l);
    dw_layout_default(&h, "bra-1", "fw", 10);
    h.temp_scale = 5000; /* not the default: the HELLO must be used */
    pn = dw_hello_pack(&h, p, sizeof(p));
    n = frame_body(DW_FRAME_HELLO, 1, p, (size_t)pn, body);
    assert_int_equal(dw_live_handle(l, "frame.bra-1", 11, body, n), DW_LIVE_FRAME);
    assert_true(l->have_hello);
    s.n_zones = 16;
    for (int z = 0; z < 16; z++)
        s.temp[z] = (int16_t)(6600 + z);
    pn = dw_sample_pack(&s, p, sizeof(p));
    n = frame_body(DW_FRAME_SAMPLE, 2, p, (size_t)pn, body);
    assert_int_equal(dw_live_handle(l, "frame.bra-1", 11, body, n), DW_LIVE_FRAME);
    assert_true(l->have_sample);
    assert_true(dw_sample_temp_c(&l->hello, &l->sample, 0) == 33.0);
    /* The same message again (a backlog replay) is dropped. */
    assert_int_equal(dw_live_handle(l, "frame.bra-1", 11, body, n), DW_LIVE_NONE);
    /* Another device is not shown. */
    n = frame_body(DW_FRAME_SAMPLE, 3, p, (size_t)pn, body);
    assert_int_equal(dw_live_handle(l, "frame.bra-2", 11, body, n), DW_LIVE_NONE);

    assert_int_equal(dw_live_handle(l, "alert.bra-1", 11, (const uint8_t *)alert_json,
                                    strlen(alert_json)), DW_LIVE_ALERT);
    assert_int_equal(l->n_active, 1);
    assert_int_equal(dw_live_handle(l, "alert.bra-1", 11, (const uint8_t *)alert_json,
                                    strlen(alert_json)), DW_LIVE_NONE);
    char other[sizeof(alert_json) + 16];
    alert_with(other, sizeof(other), 4, "updated");
    assert_int_equal(dw_live_handle(l, "alert.bra-1", 11, (const uint8_t *)other,
                                    strlen(other)), DW_LIVE_ALERT);
    assert_int_equal(l->n_active, 1);
    alert_with(other, sizeof(other), 5, "cleared");
    assert_int_equal(dw_live_handle(l, "alert.bra-1", 11, (const uint8_t *)other,
                                    strlen(other)), DW_LIVE_ALERT);
    assert_int_equal(l->n_active, 0);
    assert_int_equal(l->counts.n, 1);
    assert_int_equal(l->counts.c[0].raised, 1);
    assert_int_equal(l->counts.c[0].updated, 1);
    assert_int_equal(l->counts.c[0].cleared, 1);

    /* Live frames first, then the replayed HELLO (a duplicate by seq): it
     * is still taken, so the samples after it read with its scales. */
    dw_live_fini(l);
    dw_live_init(l);
    pn = dw_sample_pack(&s, p, sizeof(p));
    n = frame_body(DW_FRAME_SAMPLE, 7, p, (size_t)pn, body);
    assert_int_equal(dw_live_handle(l, "frame.bra-1", 11, body, n), DW_LIVE_FRAME);
    pn = dw_hello_pack(&h, p, sizeof(p));
    n = frame_body(DW_FRAME_HELLO, 1, p, (size_t)pn, body);
    assert_int_equal(dw_live_handle(l, "frame.bra-1", 11, body, n), DW_LIVE_FRAME);
    assert_true(l->have_hello && l->hello.temp_scale == 5000);
    /* Once it has one, a repeated HELLO is a duplicate again. */
    assert_int_equal(dw_live_handle(l, "frame.bra-1", 11, body, n), DW_LIVE_NONE);
    dw_live_fini(l);
    free(l);
}

/* `ductwatch alerts` follows every garment: detect numbers each garment's
 * alerts on its own, so two garments' alerts with the same seq are both
 * shown (one sequence for all dropped the second as a repeat), and each
 * garment's alert 7 is its own. */
static void test_live_any_device(void **state)
{
    struct dw_live *l = calloc(1, sizeof(*l));
    char other[sizeof(alert_json) + 16];
    const char *p = strstr(alert_json, "\"id\"");
    (void)state;
    dw_live_init(l);
    l->any_device = true;
    snprintf(other, sizeof(other), "{\"seq\":3,\"stream\":99,\"device\":\"bra-2\",%s", p);
    assert_int_equal(dw_live_handle(l, "alert.bra-1", 11, (const uint8_t *)alert_json,
                                    strlen(alert_json)), DW_LIVE_ALERT);
    assert_int_equal(dw_live_handle(l, "alert.bra-2", 11, (const uint8_t *)other,
                                    strlen(other)), DW_LIVE_ALERT);
    assert_int_equal(l->n_active, 2);
    assert_int_equal(l->alerts_seen, 2);
    /* and a repeat of either is still dropped */
    assert_int_equal(dw_live_handle(l, "alert.bra-2", 11, (const uint8_t *)other,
                                    strlen(other)), DW_LIVE_NONE);
    dw_live_fini(l);
    free(l);
}

struct lines { int n; char last[256]; bool err_seen; };

static void on_line(struct dw_stage *s, bool is_err, const char *line, void *user)
{
    struct lines *l = user;
    (void)s;
    if (is_err) {
        l->err_seen = true;
        return;
    }
    l->n++;
    snprintf(l->last, sizeof(l->last), "%s", line);
}

/* What a session file or a user typed must stay text in the report. */
static void test_html_escape(void **state)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    (void)state;
    assert_non_null(f);
    dw_html_text(f, "<script>a('x') & \"y\"</script>");
    fputc('|', f);
    /* Valid UTF-8 stays, broken bytes and control characters become U+FFFD. */
    dw_html_text(f, "34.5 \xc2\xb0" "C \xe2\x9c\x93 \xff\xc3 \x01\x7f ok");
    fputc('|', f);
    /* An overlong '<' (0xc0 0xbc) and a surrogate are not valid UTF-8. */
    dw_html_text(f, "\xc0\xbc \xed\xa0\x80");
    fputc('|', f);
    /* A fixed-width field without its NUL stops at its width. */
    dw_html_textn(f, "abc<def", 4);
    fclose(f);
    assert_string_equal(buf,
        "&lt;script&gt;a(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;|"
        "34.5 \xc2\xb0" "C \xe2\x9c\x93 \xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd ok|"
        "\xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|"
        "abc&lt;");
    free(buf);
}

static void test_stage(void **state)
{
    struct dw_stage st;
    struct lines l = { 0 };
    const char *args[] = { "-c", "echo one; echo pty: /dev/pts/9; echo oops >&2; exit 3", NULL };
    const char *sleeper[] = { "-c", "echo ready; exec sleep 30", NULL };
    (void)state;

    setenv("DUCTWATCH_SH", "/bin/sh", 1);
    assert_int_equal(dw_stage_init(&st, "ductwatch-sh", args, on_line, &l), 0);
    assert_int_equal(dw_stage_start(&st), 0);
    while (!dw_stage_reap(&st))
        usleep(10000);
    assert_true(WIFEXITED(st.last_status) && WEXITSTATUS(st.last_status) == 3);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.last, "pty: /dev/pts/9");
    assert_true(l.err_seen);

    /* SIGTERM stops it within the timeout. */
    assert_int_equal(dw_stage_init(&st, "ductwatch-sh", sleeper, on_line, &l), 0);
    assert_int_equal(dw_stage_start(&st), 0);
    while (strcmp(l.last, "ready") != 0) {
        usleep(10000);
        dw_stage_read(&st);
    }
    int ws = dw_stage_stop(&st, SIGTERM, 5000);
    assert_true(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGTERM);
    assert_string_equal(l.last, "ready");
    assert_int_equal(st.pid, 0);

    setenv("DUCTWATCH_SH", "/nonexistent/ductwatch-sh", 1);
    assert_int_equal(dw_stage_init(&st, "ductwatch-sh", args, on_line, &l), 0);
    assert_int_equal(dw_stage_start(&st), -ENOEXEC);
    assert_true(st.exec_failed);
    unsetenv("DUCTWATCH_SH");
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_find_program_env),
        cmocka_unit_test(test_endpoint_present),
        cmocka_unit_test(test_alert_format),
        cmocka_unit_test(test_live_state),
        cmocka_unit_test(test_live_any_device),
        cmocka_unit_test(test_html_escape),
        cmocka_unit_test(test_stage),
    };
    return dw_cmocka_run(tests, NULL, NULL, argc, argv);
}
