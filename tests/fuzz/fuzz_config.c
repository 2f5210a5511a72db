/* Fuzz target for the detection config parser (libinih through
 * dw_detect_config_load_string): whatever a --config file holds.
 *
 * Checks besides memory safety: a refused file leaves the config exactly
 * as it was and says "NAME:LINE: reason" or "NAME: reason"; an accepted one
 * prints (dw_detect_config_print) as a file that loads back to the same
 * printed text. Plain replay main(): fuzz_replay.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static char *print(const struct dw_detect_config *c)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    CHECK(f);
    dw_detect_config_print(c, f);
    CHECK(fclose(f) == 0);
    return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct dw_detect_config c, before, d;
    char err[512], *text, *out, *again;

    if (size > 65536)
        return 0;
    text = malloc(size + 1);
    CHECK(text);
    memcpy(text, data, size);
    text[size] = 0;
    dw_detect_config_default(&c);
    before = c;
    err[0] = 0;
    if (dw_detect_config_load_string(&c, text, "fuzz.conf", err, sizeof(err)) < 0) {
        CHECK(!memcmp(&c, &before, sizeof(c)));
        CHECK(!strncmp(err, "fuzz.conf:", 10) || !strncmp(err, "fuzz.conf: ", 11));
        free(text);
        return 0;
    }
    out = print(&c);
    dw_detect_config_default(&d);
    CHECK(dw_detect_config_load_string(&d, out, "printed", err, sizeof(err)) == 0);
    again = print(&d);
    CHECK(!strcmp(out, again));
    free(again);
    free(out);
    free(text);
    return 0;
}
