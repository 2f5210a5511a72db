/* What ductwatch-web knows about the garments it follows, built from the
 * streams of acquisition and detection through the shared subscriber
 * (common/stream_sub.h): per garment its layout, latest values, link and
 * loss counters, minute trend, what the detector's rules see of each zone
 * (the colours) and active alerts; for all of them the
 * recent events and alerts, numbered in arrival order ("order") so that a
 * page can catch up from the last one it has (docs/web.md).
 *
 * The hub is shared by the stream thread and the HTTP thread: every call
 * below expects dw_hub_lock() held. What changed is also written to
 * `out` as Server-Sent Events, for the caller to hand to the open pages. */
#pragma once
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include "detector.h"
#include "frame.h"
#include "msg.h"
#include "msg_alert.h"
#include "strbuf.h"
#include "stream_sub.h"
#include "trend.h"

#define DW_HUB_EVENTS 8192   /* events kept, all garments together */
#define DW_HUB_ALERTS 1024   /* alert messages kept */
#define DW_HUB_ACTIVE_MAX 64 /* active alerts per garment */
#define DW_HUB_VALUES_NS 500000000ull /* at most 2 value updates a second */

/* What events and alerts kept by the hub start with. */
struct dw_hub_item {
    uint64_t order;          /* arrival order, per list, from 1 */
    unsigned dev;            /* index of the garment */
};

struct dw_hub_event {
    struct dw_hub_item it;   /* first */
    bool cancelled;          /* a later cancel names it */
    bool from_file;          /* read from a session file at start */
    struct dw_msg_event e;
};

struct dw_hub_alert {
    struct dw_hub_item it;   /* first */
    bool acked;              /* an alert-seen event names it */
    struct dw_msg_alert a;
};

struct dw_hub_device {
    struct dw_sub_device sub; /* first: the subscriber's entry (sub.id) */
    unsigned index;
    bool ready;              /* set up (index, defaults) */
    bool have_hello, have_sample, have_stats, have_status;
    struct dw_hello hello;
    float t_c[DW_MAX_ZONES], p_kpa[DW_MAX_ZONES], ambient_c[DW_N_AMBIENT];
    uint8_t status[DW_MAX_ZONES];
    uint64_t sample_t_us, sample_host_ns, samples;
    bool dirty;              /* values changed since the last update sent */
    uint64_t sent_ns;        /* when the last values update went out */
    struct dw_status battery;
    struct dw_msg_stats stats;
    bool link_up;
    uint64_t link_since_ns;  /* host time of the last link change */
    char link_why[DW_EVENT_TEXT_MAX + 1];
    bool garment_off;        /* garment-off logged, no garment-on since */
    /* what the streams had sent before this server joined: not a loss */
    bool acq_joined, det_joined;
    uint64_t acq_before, det_before;
    struct dw_trend *trend;
    /* what the hub's own detector saw of each zone in the last minute it
     * closed (dw_detector_zone: dL and R); NaN while it has no value */
    float rule_dl[DW_MAX_ZONES], rule_r[DW_MAX_ZONES];
    uint64_t rule_minute;    /* device minute of the last refresh, + 1 */
    struct dw_hub_alert *active; /* DW_HUB_ACTIVE_MAX, allocated with the trend */
    unsigned n_active;
};

/* Called for every new alert message (not for repeats): the level it had
 * before ("" when new), for --on-alert. */
typedef void (*dw_hub_alert_fn)(void *user, const struct dw_hub_device *d,
                                const struct dw_msg_alert *a, const char *prev_level,
                                const uint8_t *body, size_t len);

struct dw_hub {
    pthread_mutex_t lock;
    struct dw_stream_sub sub;
    struct dw_hub_event *ev;  /* ring of DW_HUB_EVENTS */
    unsigned ev_head, ev_n;
    uint64_t ev_order;        /* order of the newest event */
    struct dw_hub_alert *al;  /* ring of DW_HUB_ALERTS */
    unsigned al_head, al_n;
    uint64_t al_order;
    struct dw_strbuf out;     /* event-stream text for the open pages */
    dw_hub_alert_fn on_alert;
    void *on_alert_user;
    uint64_t bad;             /* bodies that did not parse */
    /* The rules run again on the same samples, HELLOs and events, only for
     * the colours of the zones (their alerts are dropped: the page shows
     * ductwatch-detect's). NULL when out of memory: trend colours only. */
    struct dw_detector *det;
    struct dw_detect_config cfg;
};

/* The detector runs with the built-in parameters until
 * dw_hub_detect_config() gives others. */
int dw_hub_init(struct dw_hub *h);
/* The detection parameters of ductwatch-detect (before any message):
 * 0, -ENOMEM. */
int dw_hub_detect_config(struct dw_hub *h, const struct dw_detect_config *cfg);
void dw_hub_fini(struct dw_hub *h);
static inline void dw_hub_lock(struct dw_hub *h) { pthread_mutex_lock(&h->lock); }
static inline void dw_hub_unlock(struct dw_hub *h) { pthread_mutex_unlock(&h->lock); }

/* One [topic, body] message (for tests and the fuzzer); 1 handled, 0
 * dropped, -ENOMEM. */
int dw_hub_handle(struct dw_hub *h, const char *topic, size_t tlen, const uint8_t *body,
                  size_t blen);
/* Everything waiting on a SUB socket, at most max messages. */
int dw_hub_drain(struct dw_hub *h, void *sock, unsigned max);
/* Sends the values of garments with new samples, at most every
 * DW_HUB_VALUES_NS of host time per garment (now: CLOCK_MONOTONIC ns). */
void dw_hub_tick(struct dw_hub *h, uint64_t now_ns);

unsigned dw_hub_count(const struct dw_hub *h);
struct dw_hub_device *dw_hub_at(const struct dw_hub *h, unsigned i);
struct dw_hub_device *dw_hub_find(const struct dw_hub *h, const char *id);
/* The garment's entry, made when new (a session read at start); NULL. */
struct dw_hub_device *dw_hub_get(struct dw_hub *h, const char *id);

/* Ring positions: the i-th oldest event / alert kept. */
const struct dw_hub_event *dw_hub_event_at(const struct dw_hub *h, unsigned i);
const struct dw_hub_alert *dw_hub_alert_at(const struct dw_hub *h, unsigned i);
/* Adds an event read from a session file (before the live ones). */
void dw_hub_add_file_event(struct dw_hub *h, struct dw_hub_device *d,
                           const struct dw_msg_event *e);
/* Is the alert still active and not acknowledged? (for renotify) */
bool dw_hub_alert_pending(const struct dw_hub *h, const char *device, uint64_t id);

/* When something happened, for people: on the timeline of the garment's
 * latest sample (its device time mapped onto that sample's host time),
 * which is the host time for live data and spreads a fast replay over
 * the hours it simulates; the host time when the time line is another
 * (an older stream, a session file). */
uint64_t dw_hub_event_clock_ns(const struct dw_hub_device *d, const struct dw_msg_event *e);
uint64_t dw_hub_alert_clock_ns(const struct dw_hub_device *d, const struct dw_msg_alert *a);

/* JSON (hub_json.c). Lists are arrays; "since" = the last order the caller
 * has (0 = everything kept); at most `limit` entries, the newest ones. */
void dw_hub_json_garments(const struct dw_hub *h, struct dw_strbuf *b);
void dw_hub_json_state(const struct dw_hub *h, const struct dw_hub_device *d,
                       struct dw_strbuf *b);
void dw_hub_json_events(const struct dw_hub *h, const struct dw_hub_device *only,
                        uint64_t since, unsigned limit, struct dw_strbuf *b);
void dw_hub_json_alerts(const struct dw_hub *h, const struct dw_hub_device *only,
                        uint64_t since, unsigned limit, struct dw_strbuf *b);
void dw_hub_json_event(const struct dw_hub *h, const struct dw_hub_event *e,
                       struct dw_strbuf *b);
void dw_hub_json_alert(const struct dw_hub *h, const struct dw_hub_alert *a,
                       struct dw_strbuf *b);
void dw_hub_json_values(const struct dw_hub_device *d, struct dw_strbuf *b);
void dw_hub_json_link(const struct dw_hub *h, const struct dw_hub_device *d,
                      struct dw_strbuf *b);
/* The whole state as the first messages of a new event stream. */
void dw_hub_sse_snapshot(const struct dw_hub *h, struct dw_strbuf *b);
/* "event: NAME\ndata: " + JSON + "\n\n" */
void dw_hub_sse_begin(struct dw_strbuf *b, const char *name);
void dw_hub_sse_end(struct dw_strbuf *b);
