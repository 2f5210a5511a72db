#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "contract.h"

#define LOST_OF " garment frame(s) of "

const char *dw_line_value(const char *line, const char *prefix)
{
    size_t n = strlen(prefix);
    return strncmp(line, prefix, n) ? NULL : line + n;
}

void dw_line_print_lost(FILE *f, uint32_t lost, const char *device, uint32_t from)
{
    /* count first: `ductwatch run` and the tests read it from there */
    fprintf(f, DW_LINE_LOST "%" PRIu32 LOST_OF "%s while acquire restarted (device seq %" PRIu32
            " to %" PRIu32 ")\n", lost, device, from, from + lost - 1);
    fflush(f);
}

int dw_line_parse_lost(const char *line, uint64_t *lost, char *device, size_t dcap)
{
    const char *p = dw_line_value(line, DW_LINE_LOST), *dev, *end;
    char *e;
    if (!p || *p < '0' || *p > '9' || !dcap)
        return -EINVAL;
    errno = 0;
    unsigned long long n = strtoull(p, &e, 10);
    if (errno || strncmp(e, LOST_OF, sizeof(LOST_OF) - 1))
        return -EINVAL;
    dev = e + sizeof(LOST_OF) - 1;
    if (!(end = strchr(dev, ' ')) || end == dev)
        return -EINVAL;
    size_t dl = (size_t)(end - dev) < dcap - 1 ? (size_t)(end - dev) : dcap - 1;
    memcpy(device, dev, dl);
    device[dl] = 0;
    *lost = n;
    return 0;
}
