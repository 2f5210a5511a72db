/* Key files written by CZMQ (zcert_save, the certificates other ZeroMQ
 * tools use) read by ductwatch's loaders: the public certificate as a
 * server key or an allow-list entry, the secret one as a key pair, and a
 * CURVE client holding a CZMQ certificate let in by ductwatch's ZAP
 * handler. CZMQ here is the real library (libczmq), used by this test only
 * (docs/security.md 4: why the programs do not link it). */
#include <czmq.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "dwcmocka.h"
#include "endpoint.h"
#include "security.h"

static char dir[256];

static int setup(void **state)
{
    (void)state;
    zsys_handler_set(NULL); /* the test's signals stay the test's */
    return dw_test_mkdtemp(dir, sizeof(dir), "dwzcert");
}

static int teardown(void **state)
{
    (void)state;
    return dw_test_rmtree(dir);
}

/* A certificate with metadata, as CZMQ writes it: NAME and NAME_secret. */
static zcert_t *saved_cert(const char *name, char *path, size_t cap)
{
    zcert_t *c = zcert_new();
    assert_non_null(c);
    zcert_set_meta(c, "name", "%s", name);
    zcert_set_meta(c, "email", "ops@example.org");
    snprintf(path, cap, "%s/%s", dir, name);
    assert_int_equal(zcert_save(c, path), 0);
    return c;
}

static void test_zcert_files(void **state)
{
    char path[300], secret[320], pub[DW_Z85_KEY_LEN + 1];
    struct dw_curve_keys k;
    const char *why = NULL;
    (void)state;
    for (int i = 0; i < 50; i++) { /* keys with every kind of Z85 digit */
        zcert_t *c = saved_cert("peer", path, sizeof(path));
        assert_int_equal(dw_security_load_public(path, pub, &why), 0);
        assert_string_equal(pub, zcert_public_txt(c));
        snprintf(secret, sizeof(secret), "%s_secret", path);
        assert_int_equal(dw_security_load_keypair(secret, &k, &why), 0);
        assert_string_equal(k.public_key, zcert_public_txt(c));
        assert_string_equal(k.secret_key, zcert_secret_txt(c));
        /* the secret certificate also gives its public key */
        assert_int_equal(dw_security_load_public(secret, pub, &why), 0);
        assert_string_equal(pub, zcert_public_txt(c));
        zcert_destroy(&c);
    }
    /* the public certificate is no key pair: mode 0644, refused as one */
    assert_int_equal(dw_security_load_keypair(path, &k, &why), -EPERM);
    assert_int_equal(chmod(path, 0600), 0);
    assert_int_equal(dw_security_load_keypair(path, &k, &why), -EINVAL);
}

/* A CZMQ client certificate in ductwatch's allow directory (as NAME.pub):
 * that client gets in, another does not. */
static void test_zcert_allowed(void **state)
{
    char path[300], allow[300], pub_path[320], ep[128], why[256], buf[8];
    const char *w = NULL;
    struct dw_curve_keys server;
    int timeout = 2000;
    (void)state;
    snprintf(allow, sizeof(allow), "%s/allow", dir);
    assert_int_equal(mkdir(allow, 0700), 0);
    zcert_t *client = saved_cert("client", path, sizeof(path));
    snprintf(pub_path, sizeof(pub_path), "%s/client.pub", allow);
    assert_int_equal(rename(path, pub_path), 0);
    assert_int_equal(zmq_curve_keypair(server.public_key, server.secret_key), 0);

    void *ctx = zmq_ctx_new();
    struct dw_zap *zap = dw_zap_start(ctx, allow, &w);
    assert_non_null(zap);
    assert_int_equal(dw_zap_allowed(zap), 1);
    void *rep = dw_zmq_socket(ctx, ZMQ_REP), *req = dw_zmq_socket(ctx, ZMQ_REQ);
    assert_int_equal(dw_security_bind(rep, "tcp://127.0.0.1:0", &server, zap, false, ep,
                                      sizeof(ep), why, sizeof(why)), 0);
    /* the client's side as CZMQ would do it: its certificate's keys */
    zcert_apply(client, req);
    zmq_setsockopt(req, ZMQ_CURVE_SERVERKEY, server.public_key, DW_Z85_KEY_LEN);
    zmq_setsockopt(req, ZMQ_RCVTIMEO, &timeout, sizeof(timeout));
    zmq_setsockopt(rep, ZMQ_RCVTIMEO, &timeout, sizeof(timeout));
    assert_int_equal(zmq_connect(req, ep), 0);
    assert_int_equal(zmq_send(req, "ping", 4, 0), 4);
    assert_int_equal(zmq_recv(rep, buf, sizeof(buf), 0), 4);
    assert_int_equal(zmq_send(rep, "pong", 4, 0), 4);
    assert_int_equal(zmq_recv(req, buf, sizeof(buf), 0), 4);
    zmq_close(req);
    zmq_close(rep);
    dw_zap_stop(zap);
    assert_int_equal(zmq_ctx_term(ctx), 0);
    zcert_destroy(&client);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_zcert_files),
    cmocka_unit_test(test_zcert_allowed),
};

int main(int argc, char **argv)
{
    return dw_cmocka_run(tests, setup, teardown, argc, argv);
}
