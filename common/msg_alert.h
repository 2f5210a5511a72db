/* alert.<dev> bodies: the alert JSON ductwatch-detect writes and the
 * recorder and the tools read (docs/messages.md section 9). One struct and
 * one codec for all of them. 64-bit integers are written as plain decimal
 * digits and read back exactly. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "frame.h"

/* Buffer sizes, the NUL included. The detector writes at most
 * DW_ALERT_MESSAGE_MAX (processing/detector.h, 256 bytes); the codec keeps
 * four times that, so a longer message from another writer is kept whole
 * up to 1023 bytes and cut at a character boundary beyond. */
#define DW_MSG_ALERT_MESSAGE_MAX 1024
#define DW_MSG_ALERT_PARAMS_MAX 1024
/* Room for any alert as JSON: every string of the struct escaped at six
 * bytes a byte (about 7 KB), params and the numbers. */
#define DW_MSG_ALERT_JSON_MAX 16384

struct dw_msg_alert {
    uint64_t seq, stream;  /* detect's stream (docs/messages.md section 2) */
    char device[DW_ID_LEN + 1];
    uint64_t id;           /* per device, shared by raised/updated/cleared */
    char rule[16];         /* "T1", "D1", ... */
    char level[8];         /* "L0".."L3" */
    char state[16];        /* "raised", "updated", "cleared" */
    char side[8];          /* "left", "right", "none" */
    int zone;              /* -1: none (written as null, with zone_name) */
    char zone_name[48];
    bool has_value, has_threshold; /* false: written as 0 / null */
    double value, threshold;
    uint64_t t_device_us;  /* the sample time the alert refers to */
    uint64_t t_host_ns;
    char ruleset_version[16];
    bool clinical;
    char params[DW_MSG_ALERT_PARAMS_MAX]; /* the rule's parameters: a JSON object, as text */
    char message[DW_MSG_ALERT_MESSAGE_MAX];
};

/* The alert as one JSON object, members in the documented order, into buf
 * (NUL-terminated): its length, or -ENOBUFS when cap is too small
 * (DW_MSG_ALERT_JSON_MAX always does). params "" is written as {}. */
ssize_t dw_msg_alert_write(const struct dw_msg_alert *a, char *buf, size_t cap);
/* Reads an alert body: 0, or -EBADMSG (with a static reason in *why when
 * why is not NULL) when it is not a JSON object or has no whole "seq" (or
 * a "stream" that is not one). Every other member is optional: absent or
 * of the wrong type it reads as 0, "", zone -1, no value/threshold, params
 * "{}"; strings too long for their buffer are cut at a character boundary. */
int dw_msg_alert_parse(const char *json, size_t len, struct dw_msg_alert *a, const char **why);
