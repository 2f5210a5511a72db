/* The fleet's JetStream subjects: partition.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "partition.h"

uint32_t dw_fnv1a32(const void *p, size_t len)
{
    const uint8_t *b = p;
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) {
        h ^= b[i];
        h *= 16777619u;
    }
    return h;
}

unsigned dw_partition(const char *device, unsigned n)
{
    return n ? dw_fnv1a32(device, strlen(device)) % n : 0;
}

int dw_nats_subject(char *buf, size_t cap, unsigned k, const char *kind, const char *device)
{
    int n = snprintf(buf, cap, DW_NATS_PREFIX ".%u.%s.%s", k, kind, device);
    if (n < 0 || (size_t)n >= cap)
        return -ENAMETOOLONG;
    return n;
}
