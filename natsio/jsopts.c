/* The workers' NATS options: jssub.h. No libnats here: the programs parse
 * them the same way whether or not it was found. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include "cli.h"
#include "jssub.h"
#include "parse_num.h"
#include "partition.h"

#define DEFAULT_BATCH 256
#define DEFAULT_MAX_ACK_PENDING 20000

void dw_jssub_options_init(struct dw_jssub_options *o, const char *role, int64_t ack_wait_ms)
{
    memset(o, 0, sizeof(*o));
    o->conn.max_pending = 4096;
    o->conn.ack_wait_ms = 5000;
    o->conn.name = role;
    o->sub.conn = &o->conn;
    o->sub.stream = "DW";
    o->sub.role = role;
    o->sub.ack_wait_ms = ack_wait_ms;
    o->sub.max_ack_pending = DEFAULT_MAX_ACK_PENDING;
    o->sub.batch = DEFAULT_BATCH;
}

static uint64_t num(const char *prog, const char *opt, const char *arg, uint64_t min,
                    uint64_t max)
{
    uint64_t u;
    if (dw_parse_u64(arg, min, max, &u) < 0)
        dw_usage_error(prog, "bad %s '%s' (%" PRIu64 "..%" PRIu64 ")", opt, arg, min, max);
    return u;
}

bool dw_jssub_option(struct dw_jssub_options *o, int ch, int base, const char *arg,
                     const char *prog)
{
    switch (ch - base) {
    case 0: o->conn.url = arg; o->on = true; return true;
    case 1:
        o->sub.partition = (unsigned)num(prog, "--partition", arg, 0, DW_PARTITIONS_MAX - 1);
        o->have_partition = true;
        return true;
    case 2:
        if (!*arg || strpbrk(arg, ".*> \t"))
            dw_usage_error(prog, "bad --stream '%s'", arg);
        o->sub.stream = arg;
        return true;
    case 3: o->conn.creds = arg; return true;
    case 4: o->conn.user_file = arg; return true;
    case 5: o->conn.tls_ca = arg; return true;
    case 6: o->sub.ack_wait_ms = (int64_t)num(prog, "--ack-wait", arg, 1000, 3600000); return true;
    }
    return false;
}

void dw_jssub_options_check(struct dw_jssub_options *o, const char *prog)
{
    if (o->on != o->have_partition)
        dw_usage_error(prog, "--nats and --partition go together");
}

void dw_jssub_usage(int64_t ack_wait_ms)
{
    printf(
"      --nats URL         also take partition K of the fleet's JetStream stream\n"
"                         (servers comma-separated; docs/operations.md)\n"
"      --partition K      the partition (dw.p.K.>), 0..%d\n"
"      --stream NAME      the stream (default DW)\n"
"      --creds FILE       NATS credentials file (mode 0600)\n"
"      --user-file FILE   NATS 'USER:PASSWORD' on the first line (mode 0600)\n"
"      --tls-ca FILE      CA certificates of the NATS servers: TLS required\n"
"      --ack-wait MS      a message not acked this long is delivered again\n"
"                         (default %" PRId64 ")\n", DW_PARTITIONS_MAX - 1, ack_wait_ms);
}
