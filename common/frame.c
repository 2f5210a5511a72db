#include <errno.h>
#include <string.h>
#include "cobs.h"
#include "crc32c.h"
#include "device_id.h"
#include "frame.h"

size_t dw_hello_payload_size(unsigned n_zones) { return 48 + 5 * (size_t)n_zones; }
size_t dw_sample_payload_size(unsigned n_zones) { return 5 * (size_t)n_zones + 10; }
size_t dw_event_payload_size(const struct dw_event *ev)
{
    return 8 + strnlen(ev->text, DW_EVENT_TEXT_MAX);
}

static void put_str(uint8_t *p, const char *s)
{
    size_t n = strnlen(s, DW_ID_LEN);
    memset(p, 0, DW_ID_LEN);
    memcpy(p, s, n);
}

static int get_str(const uint8_t *p, char *out)
{
    size_t n = 0;
    while (n < DW_ID_LEN && p[n])
        n++;
    for (size_t i = n; i < DW_ID_LEN; i++)
        if (p[i])
            return -EBADMSG; /* NUL padding must be all NUL */
    for (size_t i = 0; i < n; i++)
        if (p[i] < 0x21 || p[i] > 0x7e)
            return -EBADMSG; /* printable ASCII, no spaces: used in topics and file names */
    memcpy(out, p, n);
    out[n] = 0;
    return (int)n;
}

ssize_t dw_hello_pack(const struct dw_hello *h, uint8_t *out, size_t cap)
{
    size_t n = dw_hello_payload_size(h->n_zones);
    if (h->n_zones == 0 || h->n_zones > DW_MAX_ZONES)
        return -EINVAL;
    if (cap < n)
        return -ENOBUFS;
    put_str(out, h->device_id);
    put_str(out + 16, h->firmware);
    dw_put_le16(out + 32, h->sample_rate_hz);
    out[34] = h->n_zones;
    out[35] = h->n_ambient;
    dw_put_le32(out + 36, h->temp_scale);
    dw_put_le32(out + 40, h->pressure_scale);
    dw_put_le32(out + 44, h->accel_scale);
    for (unsigned z = 0; z < h->n_zones; z++) {
        uint8_t *q = out + 48 + 5 * z;
        q[0] = h->zone[z].side;
        q[1] = h->zone[z].quadrant;
        q[2] = h->zone[z].ring;
        q[3] = h->zone[z].mirror;
        q[4] = h->zone[z].flags;
    }
    return (ssize_t)n;
}

int dw_hello_parse(const uint8_t *p, size_t len, struct dw_hello *h)
{
    if (len < 48)
        return -EBADMSG;
    memset(h, 0, sizeof(*h));
    if (get_str(p, h->device_id) <= 0 || get_str(p + 16, h->firmware) < 0)
        return -EBADMSG;
    /* The id names topics and session files (<dir>/<device>-<time>.h5). */
    if (!dw_device_id_valid(h->device_id, strlen(h->device_id)))
        return -EBADMSG;
    h->sample_rate_hz = dw_get_le16(p + 32);
    h->n_zones = p[34];
    h->n_ambient = p[35];
    h->temp_scale = dw_get_le32(p + 36);
    h->pressure_scale = dw_get_le32(p + 40);
    h->accel_scale = dw_get_le32(p + 44);
    if (h->n_zones == 0 || h->n_zones > DW_MAX_ZONES || h->n_ambient != DW_N_AMBIENT)
        return -EBADMSG;
    if (len != dw_hello_payload_size(h->n_zones))
        return -EBADMSG;
    if (h->sample_rate_hz < 1 || h->sample_rate_hz > 1000)
        return -EBADMSG;
    if (!h->temp_scale || !h->pressure_scale || !h->accel_scale)
        return -EBADMSG;
    for (unsigned z = 0; z < h->n_zones; z++) {
        const uint8_t *q = p + 48 + 5 * z;
        struct dw_zone_desc *d = &h->zone[z];
        d->side = q[0];
        d->quadrant = q[1];
        d->ring = q[2];
        d->mirror = q[3];
        d->flags = q[4];
        if (d->side > DW_SIDE_RIGHT || d->quadrant > 3 || d->ring > 1 ||
            d->mirror >= h->n_zones)
            return -EBADMSG;
    }
    return 0;
}

ssize_t dw_sample_pack(const struct dw_sample *s, uint8_t *out, size_t cap)
{
    unsigned z, n = s->n_zones;
    size_t len = dw_sample_payload_size(n);
    if (n == 0 || n > DW_MAX_ZONES)
        return -EINVAL;
    if (cap < len)
        return -ENOBUFS;
    uint8_t *p = out;
    for (z = 0; z < n; z++, p += 2)
        dw_put_le16(p, (uint16_t)s->temp[z]);
    for (z = 0; z < n; z++, p += 2)
        dw_put_le16(p, s->pressure[z]);
    for (z = 0; z < DW_N_AMBIENT; z++, p += 2)
        dw_put_le16(p, (uint16_t)s->ambient[z]);
    for (z = 0; z < 3; z++, p += 2)
        dw_put_le16(p, (uint16_t)s->accel[z]);
    memcpy(p, s->status, n);
    return (ssize_t)len;
}

int dw_sample_parse(const uint8_t *p, size_t len, struct dw_sample *s)
{
    unsigned z, n;
    if (len < 15 || (len - 10) % 5)
        return -EBADMSG;
    n = (unsigned)(len - 10) / 5;
    if (n > DW_MAX_ZONES)
        return -EBADMSG;
    s->n_zones = (uint8_t)n;
    for (z = 0; z < n; z++, p += 2)
        s->temp[z] = (int16_t)dw_get_le16(p);
    for (z = 0; z < n; z++, p += 2)
        s->pressure[z] = dw_get_le16(p);
    for (z = 0; z < DW_N_AMBIENT; z++, p += 2)
        s->ambient[z] = (int16_t)dw_get_le16(p);
    for (z = 0; z < 3; z++, p += 2)
        s->accel[z] = (int16_t)dw_get_le16(p);
    memcpy(s->status, p, n);
    return 0;
}

ssize_t dw_event_pack(const struct dw_event *e, uint8_t *out, size_t cap)
{
    size_t tl = strnlen(e->text, DW_EVENT_TEXT_MAX);
    if (cap < 8 + tl)
        return -ENOBUFS;
    out[0] = e->kind;
    out[1] = e->side;
    dw_put_le16(out + 2, 0);
    dw_put_le32(out + 4, (uint32_t)e->value);
    memcpy(out + 8, e->text, tl);
    return (ssize_t)(8 + tl);
}

int dw_event_parse(const uint8_t *p, size_t len, struct dw_event *e)
{
    if (len < 8 || len > 8 + DW_EVENT_TEXT_MAX)
        return -EBADMSG;
    memset(e, 0, sizeof(*e));
    e->kind = p[0];
    e->side = p[1];
    e->value = (int32_t)dw_get_le32(p + 4);
    if (!dw_event_kind_on_wire(e->kind) || e->side > DW_SIDE_NONE)
        return -EBADMSG;
    for (size_t i = 8; i < len; i++)
        if (p[i] == 0)
            return -EBADMSG;
    memcpy(e->text, p + 8, len - 8);
    return 0;
}

ssize_t dw_status_pack(const struct dw_status *s, uint8_t *out, size_t cap)
{
    if (cap < DW_STATUS_PAYLOAD_SIZE)
        return -ENOBUFS;
    dw_put_le16(out, s->battery_mv);
    out[2] = s->battery_pct;
    out[3] = s->flags;
    dw_put_le16(out + 4, (uint16_t)s->mcu_temp_cc);
    dw_put_le16(out + 6, 0);
    return DW_STATUS_PAYLOAD_SIZE;
}

int dw_status_parse(const uint8_t *p, size_t len, struct dw_status *s)
{
    if (len != DW_STATUS_PAYLOAD_SIZE)
        return -EBADMSG;
    s->battery_mv = dw_get_le16(p);
    s->battery_pct = p[2];
    s->flags = p[3];
    s->mcu_temp_cc = (int16_t)dw_get_le16(p + 4);
    return 0;
}

ssize_t dw_frame_encode(uint8_t type, uint32_t seq, uint64_t t_device_us,
                        const uint8_t *payload, size_t len,
                        uint8_t *out, size_t cap)
{
    uint8_t raw[DW_MAX_RAW];
    ssize_t n;

    if (len > DW_MAX_PAYLOAD)
        return -EMSGSIZE;
    raw[0] = DW_PROTO_VERSION;
    raw[1] = type;
    dw_put_le16(raw + 2, (uint16_t)len);
    dw_put_le32(raw + 4, seq);
    dw_put_le64(raw + 8, t_device_us);
    if (len)
        memcpy(raw + DW_HDR_SIZE, payload, len);
    dw_put_le32(raw + DW_HDR_SIZE + len, dw_crc32c(raw, DW_HDR_SIZE + len));
    if (cap < 1)
        return -ENOBUFS;
    n = dw_cobs_encode(raw, DW_HDR_SIZE + len + DW_CRC_SIZE, out, cap - 1);
    if (n < 0)
        return n;
    out[n] = 0;
    return n + 1;
}

/* The checks on a decoded frame (n: what the COBS decoder returned), in
 * the order that decides which error a block counts as when several apply. */
static int check_raw(const uint8_t *raw, ssize_t n, struct dw_frame *f)
{
    if (n < 0)
        return -EBADMSG;
    if ((size_t)n < DW_HDR_SIZE + DW_CRC_SIZE)
        return -EMSGSIZE;
    size_t plen = dw_get_le16(raw + 2);
    if (plen > DW_MAX_PAYLOAD || (size_t)n != DW_HDR_SIZE + plen + DW_CRC_SIZE)
        return -EMSGSIZE;
    if (dw_crc32c(raw, DW_HDR_SIZE + plen) != dw_get_le32(raw + DW_HDR_SIZE + plen))
        return -EILSEQ;
    if (raw[0] != DW_PROTO_VERSION || !dw_frame_type_name(raw[1]))
        return -EPROTO;
    f->version = raw[0];
    f->type = raw[1];
    f->len = (uint16_t)plen;
    f->seq = dw_get_le32(raw + 4);
    f->t_device_us = dw_get_le64(raw + 8);
    f->payload = raw + DW_HDR_SIZE;
    return 0;
}

int dw_frame_decode_block(uint8_t *block, size_t len, struct dw_frame *f)
{
    return check_raw(block, dw_cobs_decode(block, len, block, len), f);
}

void dw_decoder_init(struct dw_decoder *d, dw_frame_cb cb, void *user)
{
    memset(d, 0, sizeof(*d));
    d->cb = cb;
    d->user = user;
}

void dw_decoder_reset(struct dw_decoder *d)
{
    if (d->fill || d->discarding)
        d->st.resyncs++;
    d->fill = 0;
    d->discarding = false;
}

/* Decodes one whole block (1 to DW_MAX_WIRE bytes, no 0x00) into d->raw,
 * counts it and delivers it. readable: bytes from block on that may be
 * read (the rest of the caller's input, or of d->buf). */
static void finish_block(struct dw_decoder *d, const uint8_t *block, size_t len, size_t readable)
{
    struct dw_frame f;
    int r = check_raw(d->raw, dw_cobs_decode_block(block, len, readable, d->raw), &f);

    switch (r) {
    case 0:
        d->st.frames++;
        if (d->cb)
            d->cb(&f, d->user);
        return;
    case -EBADMSG: d->st.cobs_errors++; break;
    case -EMSGSIZE: d->st.length_errors++; break;
    case -EILSEQ: d->st.crc_errors++; break;
    default: d->st.version_errors++; break;
    }
}

/* Longer than any valid frame: dropped up to the next delimiter and
 * counted once. */
static void oversize(struct dw_decoder *d)
{
    d->st.length_errors++;
    d->st.resyncs++;
    d->fill = 0;
    d->discarding = true;
}

/* The bytes of a block that the end of the input cut: kept for the next
 * call, unless it grows too long. */
static void keep(struct dw_decoder *d, const uint8_t *data, size_t run)
{
    if (d->discarding)
        return;
    if (d->fill + run > DW_MAX_WIRE) {
        oversize(d);
        return;
    }
    memcpy(d->buf + d->fill, data, run);
    d->fill += run;
}

void dw_decoder_feed(struct dw_decoder *d, const uint8_t *data, size_t len)
{
    const uint8_t *end = data + len;

    d->st.bytes += len;
    while (data < end) {
        const uint8_t *z = memchr(data, 0, (size_t)(end - data));
        if (!z) {
            keep(d, data, (size_t)(end - data));
            return;
        }
        size_t run = (size_t)(z - data);
        if (d->fill == 0 && !d->discarding && run <= DW_MAX_WIRE) {
            /* A whole block in the input: decoded from where it is. */
            if (run)
                finish_block(d, data, run, (size_t)(end - data));
        } else {
            keep(d, data, run);
            size_t n = d->discarding ? 0 : d->fill;
            d->fill = 0;
            d->discarding = false;
            if (n)
                finish_block(d, d->buf, n, sizeof(d->buf));
        }
        data = z + 1;
    }
}

static const char *const type_names[] = {
    [DW_FRAME_HELLO] = "hello", [DW_FRAME_SAMPLE] = "sample",
    [DW_FRAME_EVENT] = "event", [DW_FRAME_STATUS] = "status",
    [DW_FRAME_HELLO_REQUEST] = "hello-request",
};

const char *dw_frame_type_name(unsigned type)
{
    return type < sizeof(type_names) / sizeof(*type_names) ? type_names[type] : NULL;
}

static const char *const kind_names[] = {
    [DW_EV_FEED_START] = "feed-start", [DW_EV_FEED_END] = "feed-end",
    [DW_EV_THERMOMETER] = "thermometer", [DW_EV_ICE_PACK] = "ice-pack",
    [DW_EV_HEAT_PACK] = "heat-pack", [DW_EV_SHOWER] = "shower",
    [DW_EV_GARMENT_ON] = "garment-on", [DW_EV_GARMENT_OFF] = "garment-off",
    [DW_EV_BUTTON] = "button", [DW_EV_SYMPTOM] = "symptom",
    [DW_EV_PUMP_START] = "pump-start", [DW_EV_PUMP_END] = "pump-end",
    [DW_EV_CANCEL] = "cancel", [DW_EV_ALERT_SEEN] = "alert-seen",
    [DW_EV_LINK_DOWN] = "link-down", [DW_EV_LINK_UP] = "link-up",
    [DW_EV_GAP] = "gap",
};
#define N_KINDS (sizeof(kind_names) / sizeof(*kind_names))

const char *dw_event_kind_name(unsigned kind)
{
    return kind < N_KINDS ? kind_names[kind] : NULL;
}

int dw_event_kind_from_name(const char *name)
{
    for (unsigned k = 0; k < N_KINDS; k++)
        if (kind_names[k] && strcmp(kind_names[k], name) == 0)
            return (int)k;
    return -1;
}

bool dw_event_kind_on_wire(unsigned kind)
{
    return kind >= DW_EV_FEED_START && kind <= DW_EV_PUMP_END;
}

bool dw_event_kind_has_value(unsigned kind)
{
    return kind == DW_EV_THERMOMETER;
}

static const char *const side_names[] = { "left", "right", "none" };

const char *dw_side_name(unsigned side)
{
    return side <= DW_SIDE_NONE ? side_names[side] : NULL;
}

int dw_side_from_name(const char *name)
{
    for (int s = 0; s <= DW_SIDE_NONE; s++)
        if (strcmp(side_names[s], name) == 0)
            return s;
    return -1;
}
