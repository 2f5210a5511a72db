/* The tests' NATS client (Debian has no NATS library for Python and no
 * `nats` CLI): what a test needs from a real nats-server, printed as JSON
 * lines for tests/nats/test_bridge.py.
 *
 *   natscheck dump URL STREAM [DOMAIN]
 *       every message the stream holds, in stream order:
 *       {"sseq":N,"subject":S,"id":MSG-ID,"data":HEX}
 *   natscheck map URL SUBJECT-PREFIX DEVICE...
 *       publishes an empty message on PREFIX.DEVICE for each device and
 *       prints the subject it arrives on (the server's mapping):
 *       {"device":D,"subject":S}
 *   natscheck source URL STREAM FROM DOMAIN
 *       creates STREAM (file storage, subjects dw.p.> for hubs that publish
 *       to it directly) sourcing stream FROM of JetStream domain DOMAIN
 *       (a leaf hub's), the API
 *       prefix $JS.DOMAIN.API set by hand: libnats 3.4's jsStreamSource
 *       has no Domain member
 *   natscheck republish URL STREAM
 *       purges STREAM, then publishes to it, in the order given, the
 *       messages of stdin's lines "SUBJECT HEX" (a dump's, reordered by
 *       the test), each acked by JetStream before the next
 *   natscheck delete-consumer URL STREAM CONSUMER
 *       deletes a durable consumer: a worker started afterwards creates
 *       it again and takes the partition from the start (what it already
 *       handled, again)
 */
#include <nats/nats.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void print_hex(const char *p, int n)
{
    for (int i = 0; i < n; i++)
        printf("%02x", (unsigned char)p[i]);
}

/* JSON strings here are subjects and ids: printable ASCII without quotes. */
static int dump(natsConnection *nc, const char *stream, const char *domain)
{
    jsCtx *js = NULL;
    jsOptions o;
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus s;

    jsOptions_Init(&o);
    o.Domain = domain;
    if ((s = natsConnection_JetStream(&js, nc, &o)) != NATS_OK ||
        (s = js_GetStreamInfo(&si, js, stream, NULL, &jerr)) != NATS_OK) {
        fprintf(stderr, "natscheck: stream %s: %s (%d)\n", stream, natsStatus_GetText(s), jerr);
        jsCtx_Destroy(js);
        return 1;
    }
    for (uint64_t q = si->State.FirstSeq; si->State.Msgs && q <= si->State.LastSeq; q++) {
        natsMsg *m = NULL;
        const char *id = "";
        if (js_GetMsg(&m, js, stream, q, NULL, &jerr) != NATS_OK)
            continue; /* deleted */
        natsMsgHeader_Get(m, "Nats-Msg-Id", &id);
        printf("{\"sseq\":%llu,\"subject\":\"%s\",\"id\":\"%s\",\"data\":\"",
               (unsigned long long)q, natsMsg_GetSubject(m), id ? id : "");
        print_hex(natsMsg_GetData(m), natsMsg_GetDataLength(m));
        printf("\"}\n");
        natsMsg_Destroy(m);
    }
    jsStreamInfo_Destroy(si);
    jsCtx_Destroy(js);
    return 0;
}

static int source(natsConnection *nc, const char *stream, const char *from, const char *domain)
{
    jsCtx *js = NULL;
    jsStreamConfig cfg;
    jsStreamSource src;
    jsStreamSource *srcs[1] = { &src };
    jsExternalStream ext;
    const char *subjects[] = { "dw.p.>" };
    jsErrCode jerr = 0;
    char prefix[256];
    natsStatus s;

    snprintf(prefix, sizeof(prefix), "$JS.%s.API", domain);
    memset(&src, 0, sizeof(src));
    memset(&ext, 0, sizeof(ext));
    ext.APIPrefix = prefix;
    ext.DeliverPrefix = ""; /* libnats 3.4 writes it whether set or not (strlen of NULL) */
    src.Name = from;
    src.External = &ext;
    jsStreamConfig_Init(&cfg);
    cfg.Name = stream;
    cfg.Storage = js_FileStorage;
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Sources = srcs;
    cfg.SourcesLen = 1;
    if ((s = natsConnection_JetStream(&js, nc, NULL)) == NATS_OK)
        s = js_AddStream(NULL, js, &cfg, NULL, &jerr);
    if (s != NATS_OK)
        fprintf(stderr, "natscheck: cannot create %s: %s (%d)\n", stream,
                nats_GetLastError(NULL), jerr);
    jsCtx_Destroy(js);
    return s == NATS_OK ? 0 : 1;
}

static int unhex(const char *h, char *out, int cap)
{
    int n = 0;
    unsigned v;
    while (h[0] && h[1] && n < cap && sscanf(h, "%2x", &v) == 1) {
        out[n++] = (char)v;
        h += 2;
    }
    return n;
}

static int republish(natsConnection *nc, const char *stream)
{
    static char line[1 << 20], data[1 << 19];
    jsCtx *js = NULL;
    jsErrCode jerr = 0;
    natsStatus s;
    int n = 0;

    if ((s = natsConnection_JetStream(&js, nc, NULL)) == NATS_OK)
        s = js_PurgeStream(js, stream, NULL, &jerr);
    while (s == NATS_OK && fgets(line, sizeof(line), stdin)) {
        char *hex = strchr(line, ' ');
        if (!hex)
            continue;
        *hex++ = 0;
        hex[strcspn(hex, "\r\n")] = 0;
        s = js_Publish(NULL, js, line, data, unhex(hex, data, (int)sizeof(data)), NULL, &jerr);
        n++;
    }
    if (s != NATS_OK)
        fprintf(stderr, "natscheck: republish to %s: %s (%d)\n", stream,
                nats_GetLastError(NULL), jerr);
    else
        printf("{\"published\":%d}\n", n);
    jsCtx_Destroy(js);
    return s == NATS_OK ? 0 : 1;
}

static int delete_consumer(natsConnection *nc, const char *stream, const char *name)
{
    jsCtx *js = NULL;
    jsErrCode jerr = 0;
    natsStatus s;

    if ((s = natsConnection_JetStream(&js, nc, NULL)) == NATS_OK)
        s = js_DeleteConsumer(js, stream, name, NULL, &jerr);
    if (s != NATS_OK)
        fprintf(stderr, "natscheck: delete %s on %s: %s (%d)\n", name, stream,
                nats_GetLastError(NULL), jerr);
    jsCtx_Destroy(js);
    return s == NATS_OK ? 0 : 1;
}

static int map(natsConnection *nc, const char *prefix, char **devs, int n)
{
    natsSubscription *sub = NULL;
    int status = 0;
    if (natsConnection_SubscribeSync(&sub, nc, ">") != NATS_OK ||
        natsConnection_Flush(nc) != NATS_OK)
        return 1;
    for (int i = 0; i < n && !status; i++) {
        char subject[256];
        natsMsg *m = NULL;
        snprintf(subject, sizeof(subject), "%s.%s", prefix, devs[i]);
        if (natsConnection_PublishString(nc, subject, "") != NATS_OK ||
            natsSubscription_NextMsg(&m, sub, 5000) != NATS_OK) {
            fprintf(stderr, "natscheck: nothing came back for %s\n", subject);
            status = 1;
            break;
        }
        printf("{\"device\":\"%s\",\"subject\":\"%s\"}\n", devs[i], natsMsg_GetSubject(m));
        natsMsg_Destroy(m);
    }
    natsSubscription_Destroy(sub);
    return status;
}

int main(int argc, char **argv)
{
    natsConnection *nc = NULL;
    int status;
    if (argc < 4 || (strcmp(argv[1], "dump") && strcmp(argv[1], "map") &&
                     strcmp(argv[1], "source") && strcmp(argv[1], "republish") &&
                     strcmp(argv[1], "delete-consumer")) ||
        (!strcmp(argv[1], "source") && argc != 6) ||
        (!strcmp(argv[1], "delete-consumer") && argc != 5)) {
        fprintf(stderr, "usage: natscheck dump URL STREAM [DOMAIN] | map URL PREFIX DEVICE... | "
                        "source URL STREAM FROM DOMAIN | republish URL STREAM | "
                        "delete-consumer URL STREAM CONSUMER\n");
        return 2;
    }
    if (natsConnection_ConnectTo(&nc, argv[2]) != NATS_OK) {
        fprintf(stderr, "natscheck: cannot connect to %s\n", argv[2]);
        return 1;
    }
    if (!strcmp(argv[1], "dump"))
        status = dump(nc, argv[3], argc > 4 ? argv[4] : NULL);
    else if (!strcmp(argv[1], "republish"))
        status = republish(nc, argv[3]);
    else if (!strcmp(argv[1], "delete-consumer"))
        status = delete_consumer(nc, argv[3], argv[4]);
    else if (!strcmp(argv[1], "source"))
        status = source(nc, argv[3], argv[4], argv[5]);
    else
        status = map(nc, argv[3], argv + 4, argc - 4);
    fflush(stdout);
    natsConnection_Destroy(nc);
    nats_Close();
    return status;
}
