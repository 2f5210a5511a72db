/* Decodes a garment byte stream from stdin with common/'s decoder and prints
 * one JSON object per valid frame, then one with the decoder's counters:
 *
 *   {"type":2,"seq":1,"t_device_us":..,"len":90,"payload":"hex",
 *    "wire":"hex of dw_frame_encode() of the same frame",
 *    "repack":"hex of dw_*_pack() of the parsed payload" | null,
 *    "parse_error":false, "hello"|"sample"|"event"|"status": {...}}
 *   {"stats":{"bytes":..,"frames":..,"crc_errors":..,...}}
 *
 * Used by tests/interop to check an independent garment implementation
 * against the C codec, value by value and byte by byte. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "frame.h"

static void hex(const uint8_t *p, size_t n)
{
    putchar('"');
    for (size_t i = 0; i < n; i++)
        printf("%02x", p[i]);
    putchar('"');
}

static void int_array(const char *name, const int *v, size_t n)
{
    printf("\"%s\":[", name);
    for (size_t i = 0; i < n; i++)
        printf("%s%d", i ? "," : "", v[i]);
    printf("]");
}

/* JSON string of printable ASCII / UTF-8 text without control characters
 * (what the protocol allows in ids); escapes the rest as \u00XX. */
static void str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

/* Each print_TYPE prints its payload's fields and repacks them into re (*n:
 * the length); 1 when the payload does not parse. */
static int print_hello(const struct dw_frame *f, uint8_t *re, ssize_t *n)
{
    struct dw_hello h;

    if (dw_hello_parse(f->payload, f->len, &h) < 0)
        return 1;
    *n = dw_hello_pack(&h, re, DW_MAX_PAYLOAD);
    printf(",\"hello\":{\"device_id\":");
    str(h.device_id);
    printf(",\"firmware\":");
    str(h.firmware);
    printf(",\"sample_rate_hz\":%u,\"n_zones\":%u,\"n_ambient\":%u,"
           "\"temp_scale\":%" PRIu32 ",\"pressure_scale\":%" PRIu32 ",\"accel_scale\":%" PRIu32
           ",\"zones\":[",
           h.sample_rate_hz, h.n_zones, h.n_ambient, h.temp_scale, h.pressure_scale,
           h.accel_scale);
    for (unsigned z = 0; z < h.n_zones; z++)
        printf("%s[%u,%u,%u,%u,%u]", z ? "," : "", h.zone[z].side, h.zone[z].quadrant,
               h.zone[z].ring, h.zone[z].mirror, h.zone[z].flags);
    printf("]}");
    return 0;
}

static int print_sample(const struct dw_frame *f, uint8_t *re, ssize_t *n)
{
    struct dw_sample s;
    int v[3 * DW_MAX_ZONES];

    if (dw_sample_parse(f->payload, f->len, &s) < 0)
        return 1;
    *n = dw_sample_pack(&s, re, DW_MAX_PAYLOAD);
    printf(",\"sample\":{");
    for (unsigned z = 0; z < s.n_zones; z++)
        v[z] = s.temp[z];
    int_array("temp", v, s.n_zones);
    for (unsigned z = 0; z < s.n_zones; z++)
        v[z] = s.pressure[z];
    printf(",");
    int_array("pressure", v, s.n_zones);
    v[0] = s.ambient[0];
    v[1] = s.ambient[1];
    printf(",");
    int_array("ambient", v, 2);
    for (unsigned i = 0; i < 3; i++)
        v[i] = s.accel[i];
    printf(",");
    int_array("accel", v, 3);
    for (unsigned z = 0; z < s.n_zones; z++)
        v[z] = s.status[z];
    printf(",");
    int_array("status", v, s.n_zones);
    printf("}");
    return 0;
}

static int print_event(const struct dw_frame *f, uint8_t *re, ssize_t *n)
{
    struct dw_event e;

    if (dw_event_parse(f->payload, f->len, &e) < 0)
        return 1;
    *n = dw_event_pack(&e, re, DW_MAX_PAYLOAD);
    printf(",\"event\":{\"kind\":%u,\"kind_name\":\"%s\",\"side\":%u,\"value\":%" PRId32 ",\"text\":",
           e.kind, dw_event_kind_name(e.kind), e.side, e.value);
    str(e.text);
    printf("}");
    return 0;
}

static int print_status(const struct dw_frame *f, uint8_t *re, ssize_t *n)
{
    struct dw_status st;

    if (dw_status_parse(f->payload, f->len, &st) < 0)
        return 1;
    *n = dw_status_pack(&st, re, DW_MAX_PAYLOAD);
    printf(",\"status\":{\"battery_mv\":%u,\"battery_pct\":%u,\"flags\":%u,\"mcu_temp_cc\":%d}",
           st.battery_mv, st.battery_pct, st.flags, st.mcu_temp_cc);
    return 0;
}

static void print_payload(const struct dw_frame *f)
{
    uint8_t re[DW_MAX_PAYLOAD];
    ssize_t n = -1;
    int bad = 0;

    switch (f->type) {
    case DW_FRAME_HELLO: bad = print_hello(f, re, &n); break;
    case DW_FRAME_SAMPLE: bad = print_sample(f, re, &n); break;
    case DW_FRAME_EVENT: bad = print_event(f, re, &n); break;
    case DW_FRAME_STATUS: bad = print_status(f, re, &n); break;
    default: break;
    }
    printf(",\"parse_error\":%s,\"repack\":", bad ? "true" : "false");
    if (n >= 0)
        hex(re, (size_t)n);
    else
        printf("null");
}

static void on_frame(const struct dw_frame *f, void *user)
{
    uint8_t wire[DW_MAX_WIRE];
    ssize_t n = dw_frame_encode(f->type, f->seq, f->t_device_us, f->payload, f->len,
                                wire, sizeof(wire));
    (void)user;
    printf("{\"type\":%u,\"type_name\":\"%s\",\"seq\":%" PRIu32 ",\"t_device_us\":%" PRIu64
           ",\"len\":%u,\"payload\":",
           f->type, dw_frame_type_name(f->type), f->seq, f->t_device_us, f->len);
    hex(f->payload, f->len);
    printf(",\"wire\":");
    if (n > 0)
        hex(wire, (size_t)n);
    else
        printf("null");
    print_payload(f);
    printf("}\n");
}

int main(void)
{
    static struct dw_decoder d;
    uint8_t buf[4096];
    ssize_t n;

    dw_decoder_init(&d, on_frame, NULL);
    while ((n = read(0, buf, sizeof(buf))) > 0)
        dw_decoder_feed(&d, buf, (size_t)n);
    if (n < 0) {
        perror("read");
        return 1;
    }
    printf("{\"stats\":{\"bytes\":%" PRIu64 ",\"frames\":%" PRIu64 ",\"crc_errors\":%" PRIu64
           ",\"length_errors\":%" PRIu64 ",\"cobs_errors\":%" PRIu64 ",\"version_errors\":%" PRIu64
           ",\"resyncs\":%" PRIu64 ",\"pending\":%zu}}\n",
           d.st.bytes, d.st.frames, d.st.crc_errors, d.st.length_errors, d.st.cobs_errors,
           d.st.version_errors, d.st.resyncs, d.fill);
    return 0;
}
