/* Unit tests for common/security: the endpoint policy, key files, and a
 * CURVE REQ/REP round trip over loopback TCP through the ZAP handler. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>
#include "dwcmocka.h"
#include "endpoint.h"
#include "log.h"
#include "security.h"

static char tmpdir[256];

static int setup(void **state)
{
    return dw_test_mkdtemp(tmpdir, sizeof(tmpdir), "dwsec");
}

static int teardown(void **state)
{
    return dw_test_rmtree(tmpdir);
}

static void write_text(const char *name, const char *text, mode_t mode, char *path, size_t cap)
{
    FILE *f;
    snprintf(path, cap, "%s/%s", tmpdir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
}

/* A ZAP handler in ctx whose allow-list (file NAME) holds client's key. */
static struct dw_zap *zap_allowing(void *ctx, const char *name,
                                   const struct dw_curve_keys *client)
{
    char text[200], path[512];
    const char *w = NULL;
    struct dw_zap *zap;

    snprintf(text, sizeof(text), "%s\n", client->public_key);
    write_text(name, text, 0644, path, sizeof(path));
    zap = dw_zap_start(ctx, path, &w);
    assert_non_null(zap);
    return zap;
}

static void test_policy(void **state)
{
    static const struct { const char *ep; int curve, insecure, bind_ok, connect_ok; } t[] = {
        { "ipc:///run/x", 0, 0, 0, 1 },  /* /run is 0755: not private (ipc_path.h) */
        { "ipc://@abstract", 0, 0, 0, 1 },
        { "ipc:///nonexistent-dir/x", 0, 0, 1, 1 }, /* the bind will say so */
        { "inproc://x", 0, 0, 1, 1 },
        { "tcp://127.0.0.1:5550", 0, 0, 0, 0 },
        { "tcp://127.0.0.1:5550", 0, 1, 1, 1 },
        { "tcp://127.8.9.10:0", 0, 1, 1, 1 },
        { "tcp://localhost:5550", 0, 1, 1, 1 },
        { "tcp://lo:5550", 0, 1, 1, 1 },
        { "tcp://[::1]:5550", 0, 1, 1, 1 },
        { "tcp://0.0.0.0:5550", 0, 1, 0, 0 },
        { "tcp://*:5550", 0, 1, 0, 0 },
        { "tcp://[::]:5550", 0, 1, 0, 0 },
        { "tcp://eth0:5550", 0, 1, 0, 0 },
        { "tcp://192.0.2.1:5550", 0, 1, 0, 0 },
        { "tcp://128.0.0.1:5550", 0, 1, 0, 0 },
        { "tcp://*:5550", 1, 0, 1, 1 },
        { "tcp://192.0.2.1:5550", 1, 0, 1, 1 },
        /* connect with a source address: the peer is after the ';' */
        { "tcp://127.0.0.1:0;192.0.2.1:5550", 0, 1, 0, 0 },
        { "tcp://192.0.2.1:0;127.0.0.1:5550", 0, 1, 0, 1 },
        { "pgm://127.0.0.1;239.1.1.1:5555", 1, 1, 0, 0 },
        { "udp://127.0.0.1:5", 0, 1, 0, 0 },
        { "", 0, 1, 0, 0 },
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        const char *why = NULL;
        int b = dw_security_check_bind(t[i].ep, t[i].curve, t[i].insecure, &why);
        if ((b == 0) != t[i].bind_ok)
            fail_msg("bind %s curve=%d insecure=%d: %d (%s)", t[i].ep, t[i].curve,
                     t[i].insecure, b, why ? why : "");
        if (b < 0)
            assert_non_null(why);
        int c = dw_security_check_connect(t[i].ep, t[i].curve, t[i].insecure, &why);
        if ((c == 0) != t[i].connect_ok)
            fail_msg("connect %s curve=%d insecure=%d: %d (%s)", t[i].ep, t[i].curve,
                     t[i].insecure, c, why ? why : "");
    }
}

static void test_keygen_files(void **state)
{
    struct dw_curve_keys k, back;
    char pub[DW_Z85_KEY_LEN + 1], path[512];
    const char *why = NULL;
    struct stat st;

    assert_int_equal(dw_security_write_keypair(tmpdir, "n1", false, &k, &why), 0);
    snprintf(path, sizeof(path), "%s/n1.key", tmpdir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(dw_security_load_keypair(path, &back, &why), 0);
    assert_string_equal(back.public_key, k.public_key);
    assert_string_equal(back.secret_key, k.secret_key);
    /* the public half of a .key file */
    assert_int_equal(dw_security_load_public(path, pub, &why), 0);
    assert_string_equal(pub, k.public_key);
    snprintf(path, sizeof(path), "%s/n1.pub", tmpdir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    assert_int_equal(dw_security_load_public(path, pub, &why), 0);
    assert_string_equal(pub, k.public_key);
    /* no silent overwrite */
    assert_int_equal(dw_security_write_keypair(tmpdir, "n1", false, NULL, &why), -EEXIST);
    assert_int_equal(dw_security_write_keypair(tmpdir, "n1", true, &back, &why), 0);
    assert_string_not_equal(back.secret_key, k.secret_key);
    assert_int_equal(dw_security_write_keypair(tmpdir, "a/b", false, NULL, &why), -EINVAL);

    /* permissions */
    snprintf(path, sizeof(path), "%s/n1.key", tmpdir);
    chmod(path, 0640);
    assert_int_equal(dw_security_load_keypair(path, &back, &why), -EPERM);
    chmod(path, 0601);
    assert_int_equal(dw_security_load_keypair(path, &back, &why), -EPERM);
    chmod(path, 0400);
    assert_int_equal(dw_security_load_keypair(path, &back, &why), 0);
    snprintf(path, sizeof(path), "%s/none.key", tmpdir);
    assert_int_equal(dw_security_load_keypair(path, &back, &why), -ENOENT);
    assert_int_equal(dw_security_load_keypair(tmpdir, &back, &why), -EINVAL);
}

/* '=' is a Z85 digit: a key starting with it is a key, not a separator.
 * ('#' is one too, but never the first digit of a 32-byte key: 2^32 / 85^4
 * < 83.) Also the CZMQ "name = \"KEY\"" layout. */
static void test_awkward_keys(void **state)
{
    char pub[41], sec[41], text[512], path[512], got[41];
    struct dw_curve_keys k;
    const char *why = NULL;
    int found = 0;

    for (int i = 0; i < 20000 && found != 3; i++) {
        assert_int_equal(zmq_curve_keypair(pub, sec), 0);
        if (pub[0] == '=' && !(found & 1)) {
            found |= 1;
            snprintf(text, sizeof(text), "# comment\n%s\n", pub);
            write_text("eq.pub", text, 0644, path, sizeof(path));
            assert_int_equal(dw_security_load_public(path, got, &why), 0);
            assert_string_equal(got, pub);
        }
        if (sec[0] == '=' && !(found & 2)) {
            found |= 2;
            snprintf(text, sizeof(text), "public-key %s\nsecret-key %s\n", pub, sec);
            write_text("eq.key", text, 0600, path, sizeof(path));
            assert_int_equal(dw_security_load_keypair(path, &k, &why), 0);
            assert_string_equal(k.secret_key, sec);
            snprintf(text, sizeof(text), "curve\n    public-key = \"%s\"\n    secret-key = \"%s\"\n",
                     pub, sec);
            write_text("zcert.key", text, 0600, path, sizeof(path));
            /* the section header CZMQ writes ("curve") is read past */
            assert_int_equal(dw_security_load_keypair(path, &k, &why), 0);
            assert_string_equal(k.secret_key, sec);
            snprintf(text, sizeof(text), "public-key = \"%s\"\nsecret-key = \"%s\"\n", pub, sec);
            write_text("zcert.key", text, 0600, path, sizeof(path));
            assert_int_equal(dw_security_load_keypair(path, &k, &why), 0);
            assert_string_equal(k.secret_key, sec);
            assert_string_equal(k.public_key, pub);
        }
    }
    assert_int_equal(found, 3);

    /* a public key that does not belong to the secret key */
    assert_int_equal(zmq_curve_keypair(pub, sec), 0);
    char pub2[41], sec2[41];
    assert_int_equal(zmq_curve_keypair(pub2, sec2), 0);
    snprintf(text, sizeof(text), "public-key %s\nsecret-key %s\n", pub2, sec);
    write_text("mismatch.key", text, 0600, path, sizeof(path));
    assert_int_equal(dw_security_load_keypair(path, &k, &why), -EINVAL);
    assert_non_null(strstr(why, "does not belong"));
}

static void *curve_req(void *ctx, const char *ep, const char *key_file, const char *server_pub)
{
    char why[256];
    int timeout = 1500;
    void *req = dw_zmq_socket(ctx, ZMQ_REQ);
    assert_non_null(req);
    zmq_setsockopt(req, ZMQ_RCVTIMEO, &timeout, sizeof(timeout));
    if (dw_security_connect(req, ep, key_file, server_pub, false, why, sizeof(why)) < 0)
        fail_msg("connect: %s", why);
    return req;
}

static void test_zap_round_trip(void **state)
{
    struct dw_curve_keys server, client, stranger;
    char ep[256], path[512], buf[16], why[256];
    const char *w = NULL;
    size_t len = sizeof(ep);
    void *ctx = zmq_ctx_new(), *rep, *req, *bad, *plain;
    struct dw_zap *zap, *second;

    assert_int_equal(dw_security_write_keypair(tmpdir, "srv", true, &server, &w), 0);
    assert_int_equal(dw_security_write_keypair(tmpdir, "cli", true, &client, &w), 0);
    assert_int_equal(dw_security_write_keypair(tmpdir, "bad", true, &stranger, &w), 0);
    /* allow-list as a file of keys */
    char text[200];
    snprintf(text, sizeof(text), "# allowed\n\n%s\n", client.public_key);
    write_text("allowed", text, 0644, path, sizeof(path));

    rep = dw_zmq_socket(ctx, ZMQ_REP);
    /* no handler, no CURVE server */
    assert_int_equal(dw_security_server(rep, &server, NULL), -EINVAL);
    zap = dw_zap_start(ctx, path, &w);
    assert_non_null(zap);
    assert_int_equal(dw_zap_allowed(zap), 1);
    /* a second handler in the same context cannot bind: fatal for a caller */
    second = dw_zap_start(ctx, path, &w);
    assert_null(second);
    assert_int_equal(errno, EADDRINUSE);

    assert_int_equal(dw_security_server(rep, &server, zap), 0);
    assert_int_equal(zmq_bind(rep, "tcp://127.0.0.1:0"), 0);
    assert_int_equal(zmq_getsockopt(rep, ZMQ_LAST_ENDPOINT, ep, &len), 0);

    char srv_pub[512], cli_key[512], bad_key[512];
    snprintf(srv_pub, sizeof(srv_pub), "%s/srv.pub", tmpdir);
    snprintf(cli_key, sizeof(cli_key), "%s/cli.key", tmpdir);
    snprintf(bad_key, sizeof(bad_key), "%s/bad.key", tmpdir);

    bad = curve_req(ctx, ep, bad_key, srv_pub);
    zmq_send(bad, "hi", 2, ZMQ_DONTWAIT); /* queued; the handshake refuses it */
    req = curve_req(ctx, ep, cli_key, srv_pub);
    assert_int_equal(zmq_send(req, "ping", 4, 0), 4);

    int timeout = 3000;
    zmq_setsockopt(rep, ZMQ_RCVTIMEO, &timeout, sizeof(timeout));
    assert_int_equal(zmq_recv(rep, buf, sizeof(buf), 0), 4);
    assert_memory_equal(buf, "ping", 4);
    assert_int_equal(zmq_send(rep, "pong", 4, 0), 4);
    assert_int_equal(zmq_recv(req, buf, sizeof(buf), 0), 4);
    assert_memory_equal(buf, "pong", 4);
    /* the stranger's request never reached the server */
    timeout = 300;
    zmq_setsockopt(rep, ZMQ_RCVTIMEO, &timeout, sizeof(timeout));
    assert_int_equal(zmq_recv(rep, buf, sizeof(buf), 0), -1);

    /* plain tcp to it needs --insecure, and then gets nothing */
    plain = dw_zmq_socket(ctx, ZMQ_REQ);
    assert_int_equal(dw_security_connect(plain, ep, NULL, NULL, false, why, sizeof(why)), -EPERM);
    assert_int_equal(dw_security_connect(plain, ep, cli_key, NULL, false, why, sizeof(why)), -EINVAL);
    assert_int_equal(dw_security_connect(plain, ep, NULL, NULL, true, why, sizeof(why)), 0);
    zmq_send(plain, "x", 1, ZMQ_DONTWAIT);
    assert_int_equal(zmq_recv(rep, buf, sizeof(buf), 0), -1);

    /* the CURVE options do not stick to the socket after the connect */
    int mech = -1;
    len = sizeof(mech);
    assert_int_equal(zmq_getsockopt(req, ZMQ_MECHANISM, &mech, &len), 0);
    assert_int_equal(mech, ZMQ_NULL);

    zmq_close(plain);
    zmq_close(bad);
    zmq_close(req);
    zmq_close(rep);
    dw_zap_stop(zap);
    assert_int_equal(zmq_ctx_term(ctx), 0);
}

/* One client socket, two CURVE servers with different keys: libzmq copies
 * the options at each connect, so each connection trusts its own server. */
static void test_two_servers(void **state)
{
    struct dw_curve_keys s1, s2, cli;
    const char *w = NULL;
    char ep[2][256], pub[2][512], cli_key[512], buf[8], why[256];
    void *ctx = zmq_ctx_new(), *srv[2], *req;
    struct dw_zap *zap;
    int timeout = 3000;

    assert_int_equal(dw_security_write_keypair(tmpdir, "s1", true, &s1, &w), 0);
    assert_int_equal(dw_security_write_keypair(tmpdir, "s2", true, &s2, &w), 0);
    assert_int_equal(dw_security_write_keypair(tmpdir, "c2", true, &cli, &w), 0);
    zap = zap_allowing(ctx, "allowed2", &cli);
    for (int i = 0; i < 2; i++) {
        size_t len = sizeof(ep[i]);
        srv[i] = dw_zmq_socket(ctx, ZMQ_REP);
        zmq_setsockopt(srv[i], ZMQ_RCVTIMEO, &timeout, sizeof(timeout));
        assert_int_equal(dw_security_server(srv[i], i ? &s2 : &s1, zap), 0);
        assert_int_equal(zmq_bind(srv[i], "tcp://127.0.0.1:0"), 0);
        assert_int_equal(zmq_getsockopt(srv[i], ZMQ_LAST_ENDPOINT, ep[i], &len), 0);
        snprintf(pub[i], sizeof(pub[i]), "%s/s%d.pub", tmpdir, i + 1);
    }
    snprintf(cli_key, sizeof(cli_key), "%s/c2.key", tmpdir);
    req = dw_zmq_socket(ctx, ZMQ_DEALER);
    for (int i = 0; i < 2; i++)
        if (dw_security_connect(req, ep[i], cli_key, pub[i], false, why, sizeof(why)) < 0)
            fail_msg("%s", why);
    /* DEALER round-robins over connected peers: wait until both are up */
    for (int i = 0; i < 2; i++) {
        zmq_send(req, "", 0, ZMQ_SNDMORE);
        zmq_send(req, "x", 1, 0);
    }
    for (int i = 0; i < 2; i++) {
        assert_int_equal(zmq_recv(srv[i], buf, sizeof(buf), 0), 1);
        zmq_send(srv[i], "y", 1, 0);
    }
    for (int i = 0; i < 2; i++) {
        zmq_close(srv[i]);
    }
    zmq_close(req);
    dw_zap_stop(zap);
    assert_int_equal(zmq_ctx_term(ctx), 0);
}

/* The server one-call: policy, CURVE for tcp only, the real port back. */
static void test_bind_helper(void **state)
{
    struct dw_curve_keys srv, cli;
    const char *w = NULL;
    char actual[256], why[256], ipc[300], srv_pub[512], cli_key[512];
    void *ctx = zmq_ctx_new(), *pub, *pub2, *sub;
    struct dw_zap *zap;
    int timeout = 3000, got = 0;

    assert_int_equal(dw_security_write_keypair(tmpdir, "bs", true, &srv, &w), 0);
    assert_int_equal(dw_security_write_keypair(tmpdir, "bc", true, &cli, &w), 0);
    zap = zap_allowing(ctx, "allowed3", &cli);
    pub = dw_zmq_socket(ctx, ZMQ_PUB);
    pub2 = dw_zmq_socket(ctx, ZMQ_PUB);
    assert_int_equal(dw_security_bind(pub, "tcp://0.0.0.0:0", NULL, NULL, true, actual,
                                      sizeof(actual), why, sizeof(why)), -EPERM);
    assert_non_null(strstr(why, "non-loopback"));
    assert_int_equal(dw_security_bind(pub, "tcp://127.0.0.1:0", &srv, zap, false, actual,
                                      sizeof(actual), why, sizeof(why)), 0);
    assert_non_null(strstr(actual, "tcp://127.0.0.1:"));
    assert_string_not_equal(actual, "tcp://127.0.0.1:0");
    /* ipc on a socket that also has keys: no CURVE there */
    snprintf(ipc, sizeof(ipc), "ipc://%s/b", tmpdir);
    assert_int_equal(dw_security_bind(pub2, ipc, &srv, zap, false, NULL, 0, why, sizeof(why)), 0);
    int mech = -1;
    size_t len = sizeof(mech);
    zmq_getsockopt(pub2, ZMQ_MECHANISM, &mech, &len);
    assert_int_equal(mech, ZMQ_NULL);

    snprintf(srv_pub, sizeof(srv_pub), "%s/bs.pub", tmpdir);
    snprintf(cli_key, sizeof(cli_key), "%s/bc.key", tmpdir);
    sub = dw_zmq_socket(ctx, ZMQ_SUB);
    zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "", 0);
    zmq_setsockopt(sub, ZMQ_RCVTIMEO, &timeout, sizeof(timeout));
    assert_int_equal(dw_security_connect(sub, actual, cli_key, srv_pub, false, why, sizeof(why)), 0);
    /* a PUB drops what it sends before the subscription is in: repeat */
    for (int i = 0; i < 300 && !got; i++) {
        char buf[8];
        zmq_send(pub, "m", 1, ZMQ_DONTWAIT);
        int t = 10;
        zmq_setsockopt(sub, ZMQ_RCVTIMEO, &t, sizeof(t));
        got = zmq_recv(sub, buf, sizeof(buf), 0) == 1;
    }
    assert_true(got);
    zmq_close(sub);
    zmq_close(pub);
    zmq_close(pub2);
    dw_zap_stop(zap);
    assert_int_equal(zmq_ctx_term(ctx), 0);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_policy),
        cmocka_unit_test(test_keygen_files),
        cmocka_unit_test(test_awkward_keys),
        cmocka_unit_test(test_zap_round_trip),
        cmocka_unit_test(test_two_servers),
        cmocka_unit_test(test_bind_helper),
    };
    dw_log_set_level(DW_LOG_ERROR);
    return dw_cmocka_run(tests, setup, teardown, argc, argv);
}
