/* Fuzz target for what `ductwatch alerts` and `ductwatch view` do with the
 * messages they receive: dw_msg_alert_parse and dw_alert_format on an
 * alert JSON body, and dw_live_handle on [topic, body] messages of every
 * kind (the first input byte picks the topic).
 *
 * Checks besides memory safety: every string field of a parsed alert is
 * terminated within its buffer, zone is -1 or a valid zone index, the
 * one-line form is a terminated string, and a parsed alert written back
 * parses to the same numbers. Plain replay main(): fuzz_replay.c. */
#include <stdlib.h>
#include <string.h>
#include "livestate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)
#define TERMINATED(a) CHECK(memchr((a), 0, sizeof(a)) != NULL)

static const char *const topics[] = {
    "alert.bra-1", "frame.bra-1", "event.bra-1", "stats.bra-1", "frame.other", "alert.",
    "nonsense",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct dw_msg_alert a, b;
    static char json[DW_MSG_ALERT_JSON_MAX];
    struct dw_live *l;
    char line[160], big[1024];
    const char *topic;

    if (size < 1 || size > 65536)
        return 0;
    topic = topics[data[0] % (sizeof(topics) / sizeof(topics[0]))];
    data++;
    size--;
    if (dw_msg_alert_parse((const char *)data, size, &a, NULL) == 0) {
        TERMINATED(a.device);
        TERMINATED(a.rule);
        TERMINATED(a.level);
        TERMINATED(a.state);
        TERMINATED(a.side);
        TERMINATED(a.zone_name);
        TERMINATED(a.message);
        TERMINATED(a.params);
        TERMINATED(a.ruleset_version);
        CHECK(a.zone >= -1 && a.zone < DW_MAX_ZONES);
        ssize_t n = dw_msg_alert_write(&a, json, sizeof(json));
        CHECK(n > 0 && dw_msg_alert_parse(json, (size_t)n, &b, NULL) == 0);
        CHECK(b.seq == a.seq && b.stream == a.stream && b.id == a.id && b.zone == a.zone);
        CHECK(b.t_device_us == a.t_device_us && b.t_host_ns == a.t_host_ns);
        CHECK(!strcmp(b.message, a.message) && !strcmp(b.params, a.params));
        dw_alert_format(&a, line, sizeof(line));
        TERMINATED(line);
        dw_alert_format(&a, big, sizeof(big));
        TERMINATED(big);
    }
    l = malloc(sizeof(*l));
    CHECK(l);
    dw_live_init(l);
    /* Twice: the second is a duplicate by seq, and a HELLO then a SAMPLE
     * path both get taken when the input is a frame. */
    for (int i = 0; i < 2; i++)
        (void)dw_live_handle(l, topic, strlen(topic), data, size);
    CHECK(l->n_active <= DW_LIVE_MAX_ACTIVE);
    dw_live_fini(l);
    free(l);
    return 0;
}
