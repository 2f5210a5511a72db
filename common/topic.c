#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "device_id.h"
#include "topic.h"

/* All four kinds are five letters: one compare of six bytes, "kind.",
 * after a switch on the first letter, picks the kind. */
static const char kinds[DW_TOPIC_N][6] = { "frame", "event", "stats", "alert" };

const char *dw_topic_kind_name(int kind)
{
    return kind >= 0 && kind < DW_TOPIC_N ? kinds[kind] : NULL;
}

int dw_topic(char *buf, size_t cap, const char *kind, const char *device)
{
    int n = snprintf(buf, cap, "%s.%s", kind, device);
    return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : n;
}

int dw_topic_parse(const char *topic, size_t len, char *dev, size_t dcap)
{
    int k;
    if (len < 6)
        return -ENOENT;
    switch (topic[0]) {
    case 'f': k = DW_TOPIC_FRAME; break;
    case 'e': k = DW_TOPIC_EVENT; break;
    case 's': k = DW_TOPIC_STATS; break;
    case 'a': k = DW_TOPIC_ALERT; break;
    default: return -ENOENT;
    }
    if (memcmp(topic, kinds[k], 5) || topic[5] != '.')
        return -ENOENT;
    size_t dl = len - 6;
    if (dl >= dcap || !dw_device_id_valid(topic + 6, dl))
        return -EBADMSG;
    memcpy(dev, topic + 6, dl);
    dev[dl] = 0;
    return k;
}
