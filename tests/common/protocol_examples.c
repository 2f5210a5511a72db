/* The worked examples of docs/protocol.md, built with the real encoder.
 *
 *   protocol_examples print        prints every example block (for the doc)
 *   protocol_examples check DOC    checks that DOC's example blocks hold
 *                                  exactly these bytes (exit 1 if not)
 *
 * An example block in the doc is a line "<!-- example NAME -->" followed by a
 * fenced block. Each line of the block is "OFFSET: hex bytes"; a block whose
 * only token is 0xXXXXXXXX holds a 32-bit value (a CRC). So the document can
 * never drift from the code. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "crc32c.h"
#include "frame.h"
#include "layout.h"

#define MAX_EXAMPLES 32

struct example {
    const char *name;
    uint8_t bytes[DW_MAX_WIRE + 1];
    size_t len;
    int is_u32;
    uint32_t u32;
    int seen;
};

static struct example ex[MAX_EXAMPLES];
static size_t n_ex;

static struct example *add(const char *name)
{
    if (n_ex == MAX_EXAMPLES)
        abort();
    ex[n_ex].name = name;
    return &ex[n_ex++];
}

/* A length from an encoder or packer; a failure ends the program. */
static size_t packed(ssize_t n)
{
    if (n < 0)
        abort();
    return (size_t)n;
}

static void add_bytes(const char *name, const uint8_t *p, size_t len)
{
    struct example *e = add(name);
    memcpy(e->bytes, p, len);
    e->len = len;
}

static void add_u32(const char *name, uint32_t v)
{
    struct example *e = add(name);
    e->is_u32 = 1;
    e->u32 = v;
}

/* One frame's examples: payload, raw frame (header|payload|crc), CRC, wire. */
static void add_frame(const char *base, uint8_t type, uint32_t seq, uint64_t t,
                      const uint8_t *payload, size_t len, int with_payload)
{
    static char names[MAX_EXAMPLES][4][32];
    static unsigned k;
    uint8_t raw[DW_MAX_RAW], wire[DW_MAX_WIRE];
    uint32_t crc;
    size_t n;

    raw[0] = DW_PROTO_VERSION;
    raw[1] = type;
    dw_put_le16(raw + 2, (uint16_t)len);
    dw_put_le32(raw + 4, seq);
    dw_put_le64(raw + 8, t);
    if (len)
        memcpy(raw + DW_HDR_SIZE, payload, len);
    crc = dw_crc32c(raw, DW_HDR_SIZE + len);
    dw_put_le32(raw + DW_HDR_SIZE + len, crc);
    n = packed(dw_frame_encode(type, seq, t, payload, len, wire, sizeof(wire)));
    snprintf(names[k][0], 32, "%s-payload", base);
    snprintf(names[k][1], 32, "%s-raw", base);
    snprintf(names[k][2], 32, "%s-crc", base);
    snprintf(names[k][3], 32, "%s-wire", base);
    if (with_payload)
        add_bytes(names[k][0], payload, len);
    add_bytes(names[k][1], raw, DW_HDR_SIZE + len + DW_CRC_SIZE);
    add_u32(names[k][2], crc);
    add_bytes(names[k][3], wire, n);
    k++;
}

static void build(void)
{
    uint8_t p[DW_MAX_PAYLOAD];
    struct dw_hello h;
    struct dw_sample s;
    struct dw_event e;
    struct dw_status st;
    ssize_t n;

    /* HELLO: the reference layout, device "DW-0001", 10 Hz, first frame
     * after power-on (seq 0), 1.5 s after power-on. */
    dw_layout_default(&h, "DW-0001", "fw-1.2.0", 10);
    n = dw_hello_pack(&h, p, sizeof(p));
    add_frame("hello", DW_FRAME_HELLO, 0, 1500000, p, packed(n), 1);

    /* SAMPLE: 100 ms later (seq 1). */
    memset(&s, 0, sizeof(s));
    s.n_zones = DW_DEFAULT_ZONES;
    for (unsigned z = 0; z < DW_DEFAULT_ZONES; z++) {
        s.temp[z] = (int16_t)(3400 + 10 * z);     /* 34.00 .. 35.50 C */
        s.pressure[z] = (uint16_t)(1500 + 100 * z); /* 1.500 .. 3.000 kPa */
    }
    s.temp[5] = 3712;        /* left lower-inner outer: 37.12 C */
    s.pressure[9] = 65535;   /* right upper-outer outer: saturated */
    s.status[9] = DW_ZS_PRES_SAT;
    s.temp[14] = 0;          /* right lower-outer inner: thermistor open */
    s.status[14] = DW_ZS_TEMP_FAULT;
    s.ambient[0] = 2450;
    s.ambient[1] = 2475;
    s.accel[0] = 12;
    s.accel[1] = -30;
    s.accel[2] = 1002;
    n = dw_sample_pack(&s, p, sizeof(p));
    add_frame("sample", DW_FRAME_SAMPLE, 1, 1600000, p, packed(n), 1);

    /* EVENT: a thermometer reading of 38.2 C typed into the garment app. */
    memset(&e, 0, sizeof(e));
    e.kind = DW_EV_THERMOMETER;
    e.side = DW_SIDE_NONE;
    e.value = 38200;
    snprintf(e.text, sizeof(e.text), "oral");
    n = dw_event_pack(&e, p, sizeof(p));
    add_frame("event", DW_FRAME_EVENT, 2, 1650000, p, packed(n), 1);

    /* STATUS: 3.912 V, 76 %, not charging, MCU at 31.25 C. */
    memset(&st, 0, sizeof(st));
    st.battery_mv = 3912;
    st.battery_pct = 76;
    st.flags = 0;
    st.mcu_temp_cc = 3125;
    n = dw_status_pack(&st, p, sizeof(p));
    add_frame("status", DW_FRAME_STATUS, 3, 1700000, p, packed(n), 1);

    /* HELLO_REQUEST as the host sends it: seq 0, time 0, empty. */
    add_frame("hello-request", DW_FRAME_HELLO_REQUEST, 0, 0, NULL, 0, 0);

    /* The CRC check value. */
    add_u32("crc-check", dw_crc32c("123456789", 9));
}

static void print_block(const struct example *e)
{
    printf("<!-- example %s -->\n```\n", e->name);
    if (e->is_u32) {
        printf("0x%08" PRIX32 "\n", e->u32);
    } else {
        for (size_t i = 0; i < e->len; i += 16) {
            printf("%04zx:", i);
            for (size_t j = i; j < e->len && j < i + 16; j++)
                printf(" %02x", e->bytes[j]);
            printf("\n");
        }
    }
    printf("```\n\n");
}

static struct example *find(const char *name, size_t len)
{
    for (size_t i = 0; i < n_ex; i++)
        if (strlen(ex[i].name) == len && !memcmp(ex[i].name, name, len))
            return &ex[i];
    return NULL;
}

/* Parses one block's lines from *pp up to the closing fence. */
static int parse_block(char **pp, uint8_t *out, size_t cap, size_t *len,
                       int *is_u32, uint32_t *u32)
{
    char *p = *pp;
    *len = 0;
    *is_u32 = 0;
    for (;;) {
        char *eol = strchr(p, '\n');
        if (!eol)
            return -EBADMSG;
        *eol = 0;
        if (!strncmp(p, "```", 3)) {
            *pp = eol + 1;
            return 0;
        }
        char *colon = strchr(p, ':');
        char *tok = colon ? colon + 1 : p;
        for (;;) {
            while (*tok == ' ')
                tok++;
            if (!*tok)
                break;
            char *end;
            if (!strncmp(tok, "0x", 2)) {
                unsigned long v = strtoul(tok, &end, 16);
                *is_u32 = 1;
                *u32 = (uint32_t)v;
            } else {
                unsigned long v = strtoul(tok, &end, 16);
                if (end != tok + 2 || v > 255 || *len >= cap)
                    return -EBADMSG;
                out[(*len)++] = (uint8_t)v;
            }
            if (end == tok)
                return -EBADMSG;
            tok = end;
        }
        p = eol + 1;
    }
}

static int check(const char *path)
{
    static char doc[1 << 20];
    static uint8_t got[DW_MAX_WIRE + 64];
    FILE *f = fopen(path, "r");
    size_t n;
    int bad = 0;
    char *p;

    if (!f) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return 1;
    }
    n = fread(doc, 1, sizeof(doc) - 1, f);
    fclose(f);
    doc[n] = 0;
    p = doc;
    while ((p = strstr(p, "<!-- example "))) {
        char *name = p + strlen("<!-- example ");
        char *end = strstr(name, " -->");
        size_t glen;
        int is_u32;
        uint32_t u32 = 0;
        if (!end)
            break;
        struct example *e = find(name, (size_t)(end - name));
        p = strstr(end, "```");
        if (!p || !(p = strchr(p, '\n'))) {
            fprintf(stderr, "unterminated example block\n");
            return 1;
        }
        p++;
        if (!e) {
            fprintf(stderr, "unknown example '%.*s'\n", (int)(end - name), name);
            bad = 1;
            continue;
        }
        if (parse_block(&p, got, sizeof(got), &glen, &is_u32, &u32) < 0) {
            fprintf(stderr, "%s: unreadable block\n", e->name);
            bad = 1;
            continue;
        }
        e->seen++;
        if (e->is_u32 != is_u32 || (is_u32 && e->u32 != u32) ||
            (!is_u32 && (glen != e->len || memcmp(got, e->bytes, glen)))) {
            fprintf(stderr, "%s: the document differs from the encoder; it should read:\n", e->name);
            bad = 1;
            print_block(e);
        } else {
            printf("ok %s (%zu bytes)\n", e->name, is_u32 ? (size_t)4 : glen);
        }
    }
    for (size_t i = 0; i < n_ex; i++)
        if (!ex[i].seen) {
            fprintf(stderr, "example %s missing from %s\n", ex[i].name, path);
            bad = 1;
        }
    return bad;
}

int main(int argc, char **argv)
{
    build();
    if (argc == 2 && !strcmp(argv[1], "print")) {
        for (size_t i = 0; i < n_ex; i++)
            print_block(&ex[i]);
        return 0;
    }
    if (argc == 3 && !strcmp(argv[1], "check"))
        return check(argv[2]);
    fprintf(stderr, "usage: %s print | check DOC\n", argv[0]);
    return 2;
}
