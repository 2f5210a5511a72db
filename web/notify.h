/* --on-alert CMD: alerts that reach a person when no page is open
 * (docs/web.md, "Alerts without a page"). CMD runs without a shell, with
 * the alert's JSON body on stdin, for every alert raised at or above the
 * notify level and every rise of an alert's level; at most one at a time.
 * Nothing here waits for the command: the stream thread starts it, feeds
 * its stdin (a pipe that holds any alert), and looks at it again on its
 * next wake-up. A command still running after its time-out is killed and
 * logged; one that fails is logged; alerts meanwhile wait in a short queue
 * (beyond it they are logged and skipped). An unacknowledged alert of L2
 * or more is sent again every renotify interval until it is acknowledged
 * or cleared. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "hub.h"

#define DW_NOTIFY_QUEUE 16
#define DW_NOTIFY_REPEAT_MAX 64

struct dw_notify_item {
    char device[DW_ID_LEN + 1];
    char level[8], rule[16], state[16];
    uint64_t id;
    char *body;                 /* the alert JSON, NUL-terminated */
    char *message;              /* for the environment */
};

struct dw_notify_repeat {
    struct dw_notify_item it;
    uint64_t last_ns;
};

struct dw_notify {
    char **argv;                /* the command, split into words */
    unsigned min_level;         /* 0..3 */
    uint64_t renotify_ns;       /* 0: never */
    uint64_t timeout_ns;
    struct dw_notify_item queue[DW_NOTIFY_QUEUE];
    unsigned q_head, q_n;
    struct dw_notify_repeat repeat[DW_NOTIFY_REPEAT_MAX];
    unsigned n_repeat;
    pid_t child;                /* 0: none running */
    uint64_t child_start_ns;
    char child_what[64];
    uint64_t runs, failed, killed, skipped;
};

/* Splits cmd into words (blanks separate, '...' and "..." group, nothing
 * is expanded): 0, -EINVAL (empty, an unclosed quote), -ENOMEM. */
int dw_notify_init(struct dw_notify *n, const char *cmd, unsigned min_level,
                   uint64_t renotify_ns, uint64_t timeout_ns);
void dw_notify_fini(struct dw_notify *n);
/* The hub's alert callback (dw_hub_alert_fn; user = the notifier). */
void dw_notify_on_alert(void *user, const struct dw_hub_device *d, const struct dw_msg_alert *a,
                        const char *prev_level, const uint8_t *body, size_t len);
/* After every wake-up: reaps, kills what ran too long, starts the next,
 * queues the repeats that are due (hub locked by the caller). now_ns:
 * CLOCK_MONOTONIC. Returns ms until it needs to look again (-1: never). */
long dw_notify_run(struct dw_notify *n, const struct dw_hub *h, uint64_t now_ns);
/* Level "L0".."L3" as 0..3; -1 otherwise. */
int dw_notify_level(const char *s);
