/* ductwatch-acquire's command line: the options, their defaults, --help,
 * and --list-ports. Bad usage exits 2 with a one-line reason, before
 * anything opens (the endpoint policy included: who may connect is decided
 * from the arguments alone). */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "link.h"

struct dw_acq_options {
    struct dw_link_opts link;
    bool list_ports;
    const char *pub_ep, *events_ep;   /* NULL: the runtime directory's */
    uint64_t backlog;
    uint64_t backlog_age_us;
    uint64_t sndhwm;
    uint64_t wait_subscribers;
    const char *curve_key, *allow;    /* CURVE on tcp:// endpoints */
    bool insecure;
};

/* Fills o from argv (exits 0 for --help/--version, 2 on bad usage) and
 * sets the log level. */
void dw_acq_options_parse(int argc, char **argv, struct dw_acq_options *o);
/* Fills in the default endpoints left NULL (storage in the two buffers)
 * and checks both against the endpoint policy (exit 2 on a refusal).
 * 0, or -errno when there is no runtime directory. */
int dw_acq_options_endpoints(struct dw_acq_options *o, char *pub_buf, char *events_buf,
                             size_t cap);
/* --list-ports: prints the serial ports; the exit status. */
int dw_acq_list_ports(const struct dw_acq_options *o);
