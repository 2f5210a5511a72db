/* event.<dev> bodies: the JSON of user, garment and acquisition events
 * (docs/messages.md section 4). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "frame.h"

struct dw_msg_event {
    uint64_t seq, stream;
    char device[DW_ID_LEN + 1];
    uint64_t t_device_us;
    uint64_t t_host_ns;
    int kind;          /* enum dw_event_kind */
    int side;          /* enum dw_side */
    bool has_value;
    double value;      /* in the kind's unit: degrees C for thermometer */
    uint64_t missing;  /* gap: frames missing; link-down: 0 */
    char source[16];   /* "garment", "user", "acquire" */
    char text[DW_EVENT_TEXT_MAX + 1];
};

/* Returns a malloc'd NUL-terminated JSON string, or NULL (errno set). */
char *dw_msg_event_to_json(const struct dw_msg_event *e);
/* 0, or -EBADMSG with a reason in *why (static string). */
int dw_msg_event_parse(const char *json, size_t len, struct dw_msg_event *e, const char **why);
/* The same through a cJSON tree, for any member order and spacing:
 * dw_msg_event_parse takes this path when the text is not exactly the form
 * acquire writes (exposed so that tests compare the two). */
int dw_msg_event_parse_general(const char *json, size_t len, struct dw_msg_event *e,
                               const char **why);
