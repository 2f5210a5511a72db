#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>
#include "endpoint.h"
#include "ipc_path.h"
#include "log.h"
#include "security.h"

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define MAX_KEY_FILE 4096
#define MAX_MONITORS 8
#define MAX_PEERS 64
#define LOG_EVERY_NS 10000000000ull /* a refused client that retries: one line per 10 s */

/* ---- key files ---------------------------------------------------------- */

bool dw_security_valid_z85(const char *s)
{
    uint8_t bin[32];
    return s && strlen(s) == DW_Z85_KEY_LEN && zmq_z85_decode(bin, s) != NULL;
}

static int read_small_file(const char *path, char *buf, size_t cap, bool secret, const char **why)
{
    struct stat st;
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        *why = e == ENOENT ? "no such file" : e == EACCES ? "permission denied" : "cannot open";
        return -e;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        *why = "not a regular file";
        return -EINVAL;
    }
    if (secret && (st.st_mode & 077)) {
        close(fd);
        *why = "secret key readable by group or others (chmod 600 it)";
        return -EPERM;
    }
    if (secret && st.st_uid != getuid()) {
        close(fd);
        *why = "secret key owned by another user";
        return -EPERM;
    }
    n = read(fd, buf, cap - 1);
    close(fd);
    if (n < 0) {
        *why = "cannot read";
        return -EIO;
    }
    if ((size_t)n >= cap - 1) {
        *why = "file too large for a key file";
        return -EINVAL;
    }
    buf[n] = 0;
    return 0;
}

int dw_security_read_secret(const char *path, char *buf, size_t cap, const char **why)
{
    return read_small_file(path, buf, cap, true, why);
}

/* Next non-comment line, trimmed; NULL at the end. Modifies the buffer. */
static char *next_line(char **cursor)
{
    while (**cursor) {
        char *line = *cursor, *end = strchr(line, '\n');
        if (end) {
            *end = 0;
            *cursor = end + 1;
        } else {
            *cursor = line + strlen(line);
        }
        while (*line == ' ' || *line == '\t')
            line++;
        size_t len = strlen(line);
        while (len && (line[len - 1] == ' ' || line[len - 1] == '\t' || line[len - 1] == '\r'))
            line[--len] = 0;
        /* '#' is also a Z85 digit: a line that is a key is never a comment */
        if (len && (line[0] != '#' || dw_security_valid_z85(line)))
            return line;
    }
    return NULL;
}

/* Next line of a key file that may hold a key: the section headers of a
 * certificate CZMQ writes (zcert_save: "metadata" with indented "name =
 * value" lines under it, then "curve" with the keys under it) and the
 * metadata are skipped, so that those files read as ours do. */
static char *next_key_line(char **cursor, bool *in_metadata)
{
    char *line;
    while ((line = next_line(cursor))) {
        if (!strcmp(line, "metadata") || !strcmp(line, "curve"))
            *in_metadata = line[0] == 'm';
        else if (!*in_metadata)
            return line;
    }
    return NULL;
}

static int copy_key(char out[DW_Z85_KEY_LEN + 1], const char *s, const char **why)
{
    if (!dw_security_valid_z85(s)) {
        *why = "malformed key (want 40 Z85 characters)";
        return -EINVAL;
    }
    memcpy(out, s, DW_Z85_KEY_LEN + 1);
    return 0;
}

/* "NAME KEY", "NAME = KEY" or "NAME = \"KEY\"" (the zcert layout): ends NAME
 * and returns KEY. '=' is a Z85 digit, so only a '=' standing alone is a
 * separator. NULL without a separator. */
static char *key_value(char *line)
{
    char *val = line + strcspn(line, " \t");
    if (!*val)
        return NULL;
    *val++ = 0;
    val += strspn(val, " \t");
    if (val[0] == '=' && (val[1] == ' ' || val[1] == '\t' || val[1] == '"'))
        val += 1 + strspn(val + 1, " \t");
    if (val[0] == '"') {
        val++;
        val[strcspn(val, "\"")] = 0;
    }
    return val;
}

static int parse_keypair(char *text, struct dw_curve_keys *k, const char **why)
{
    char *cur = text, *line, derived[DW_Z85_KEY_LEN + 1];
    bool in_metadata = false;
    int r;
    memset(k, 0, sizeof(*k));
    while ((line = next_key_line(&cur, &in_metadata))) {
        char *name = line, *val;
        if (dw_security_valid_z85(line)) {
            *why = "a bare public key, no secret-key line (is this a .pub file?)";
            return -EINVAL;
        }
        val = key_value(line);
        if (!val) {
            *why = "malformed line (want 'public-key Z85' or 'secret-key Z85')";
            return -EINVAL;
        }
        if (!strcmp(name, "public-key"))
            r = copy_key(k->public_key, val, why);
        else if (!strcmp(name, "secret-key"))
            r = copy_key(k->secret_key, val, why);
        else {
            *why = "unknown line (want 'public-key Z85' or 'secret-key Z85')";
            return -EINVAL;
        }
        if (r < 0)
            return r;
    }
    if (!k->secret_key[0]) {
        *why = "no secret-key line (is this a .pub file?)";
        return -EINVAL;
    }
    if (zmq_curve_public(derived, k->secret_key) < 0) {
        *why = "secret key rejected by libzmq";
        return -EINVAL;
    }
    if (k->public_key[0] && strcmp(derived, k->public_key)) {
        *why = "public key does not belong to the secret key";
        return -EINVAL;
    }
    memcpy(k->public_key, derived, sizeof(derived));
    return 0;
}

int dw_security_load_keypair(const char *path, struct dw_curve_keys *k, const char **why)
{
    char buf[MAX_KEY_FILE];
    int r = read_small_file(path, buf, sizeof(buf), true, why);
    if (r < 0)
        return r;
    r = parse_keypair(buf, k, why);
    explicit_bzero(buf, sizeof(buf));
    return r;
}

int dw_security_load_public(const char *path, char out[DW_Z85_KEY_LEN + 1], const char **why)
{
    char buf[MAX_KEY_FILE], *cur = buf, *line;
    bool in_metadata = false;
    int r = read_small_file(path, buf, sizeof(buf), false, why);
    if (r < 0)
        return r;
    while ((line = next_key_line(&cur, &in_metadata))) {
        if (!strncmp(line, "secret-key", 10) && (line[10] == ' ' || line[10] == '\t'))
            continue; /* a .key file: only its public half is wanted */
        if (!strncmp(line, "public-key", 10) && (line[10] == ' ' || line[10] == '\t'))
            line = key_value(line);
        r = copy_key(out, line, why);
        explicit_bzero(buf, sizeof(buf));
        return r;
    }
    explicit_bzero(buf, sizeof(buf));
    *why = "no key in file";
    return -EINVAL;
}

static int write_file(const char *path, const char *text, mode_t mode, bool force, const char **why)
{
    char tmp[4096 + 16];
    int fd, e;
    size_t len = strlen(text);

    if (!force && access(path, F_OK) == 0) {
        *why = "file exists (use --force to replace it)";
        return -EEXIST;
    }
    if (snprintf(tmp, sizeof(tmp), "%s.tmp%ld", path, (long)getpid()) >= (int)sizeof(tmp)) {
        *why = "path too long";
        return -ENAMETOOLONG;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) {
        e = errno;
        *why = "cannot create the file";
        return -e;
    }
    /* The umask may have taken bits away, never added them: set it exactly. */
    if (fchmod(fd, mode) < 0 || write(fd, text, len) != (ssize_t)len || fsync(fd) < 0) {
        e = errno ? errno : EIO;
        close(fd);
        unlink(tmp);
        *why = "cannot write the file";
        return -e;
    }
    close(fd);
    /* Without --force a file that appeared meanwhile is not replaced. */
    if (force ? rename(tmp, path) < 0 : link(tmp, path) < 0) {
        e = errno;
        unlink(tmp);
        *why = e == EEXIST ? "file exists (use --force to replace it)" : "cannot rename into place";
        return -e;
    }
    if (!force)
        unlink(tmp);
    return 0;
}

int dw_security_write_keypair(const char *dir, const char *name, bool force,
                              struct dw_curve_keys *out, const char **why)
{
    char key_path[4096], pub_path[4096], text[512];
    struct dw_curve_keys k;
    int r;

    if (!*name || strchr(name, '/')) {
        *why = "bad key name (no '/' allowed)";
        return -EINVAL;
    }
    if (snprintf(key_path, sizeof(key_path), "%s/%s.key", dir, name) >= (int)sizeof(key_path) ||
        snprintf(pub_path, sizeof(pub_path), "%s/%s.pub", dir, name) >= (int)sizeof(pub_path)) {
        *why = "path too long";
        return -ENAMETOOLONG;
    }
    if (!force && (access(key_path, F_OK) == 0 || access(pub_path, F_OK) == 0)) {
        *why = "key files exist (use --force to replace them)";
        return -EEXIST;
    }
    if (zmq_curve_keypair(k.public_key, k.secret_key) < 0) {
        *why = "libzmq has no CURVE support";
        return -ENOTSUP;
    }
    snprintf(text, sizeof(text),
             "# ductwatch CURVE key pair '%s'. SECRET: keep it 0600 and never copy it\n"
             "# to another machine; give out %s.pub instead.\n"
             "public-key %s\nsecret-key %s\n", name, name, k.public_key, k.secret_key);
    r = write_file(key_path, text, 0600, force, why);
    explicit_bzero(text, sizeof(text));
    if (r < 0)
        goto out;
    snprintf(text, sizeof(text), "# ductwatch CURVE public key '%s'\n%s\n", name, k.public_key);
    r = write_file(pub_path, text, 0644, force, why);
    if (r < 0)
        unlink(key_path);
out:
    if (r == 0 && out)
        *out = k;
    explicit_bzero(&k, sizeof(k));
    return r;
}

/* ---- endpoint policy ------------------------------------------------------ */

bool dw_security_is_tcp(const char *endpoint)
{
    return endpoint && !strncmp(endpoint, "tcp://", 6);
}

/* host is an address, "[v6]", a name or an interface: loopback only for
 * literal 127/8 and ::1 addresses, "localhost" and the "lo" interface. */
static bool host_is_loopback(const char *host, size_t len)
{
    char h[256];
    struct in_addr a4;
    struct in6_addr a6;
    if (len && host[0] == '[' && host[len - 1] == ']') {
        host++;
        len -= 2;
    }
    if (len == 0 || len >= sizeof(h))
        return false;
    memcpy(h, host, len);
    h[len] = 0;
    if (!strcmp(h, "localhost") || !strcmp(h, "lo"))
        return true;
    if (inet_pton(AF_INET, h, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, h, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6);
    return false;
}

static bool tcp_is_loopback(const char *endpoint, bool connecting)
{
    const char *addr = endpoint + 6, *semi = strchr(addr, ';'), *colon;
    /* connect: "tcp://source;host:port" names the peer after the ';' */
    if (semi)
        addr = connecting ? semi + 1 : addr;
    colon = strrchr(addr, ':');
    if (!colon)
        return false;
    if (semi && !connecting && semi < colon)
        return false;
    return host_is_loopback(addr, (size_t)(colon - addr));
}

static int check_endpoint(const char *endpoint, bool have_curve, bool insecure, bool connecting,
                          const char **why)
{
    if (!endpoint || !*endpoint) {
        *why = "empty endpoint";
        return -EINVAL;
    }
    if (!strncmp(endpoint, "ipc://", 6))
        return connecting ? 0 : dw_ipc_endpoint_check(endpoint, why);
    if (!strncmp(endpoint, "inproc://", 9))
        return 0;
    if (!dw_security_is_tcp(endpoint)) {
        *why = "only ipc://, inproc:// and tcp:// endpoints are supported";
        return -EPERM;
    }
    if (have_curve)
        return 0;
    if (!tcp_is_loopback(endpoint, connecting)) {
        *why = connecting
            ? "tcp:// to a non-loopback address needs CURVE keys (--insecure is only for loopback)"
            : "tcp:// on a non-loopback address needs CURVE (--curve-key, --allow); "
              "--insecure is only for 127.0.0.1/::1";
        return -EPERM;
    }
    if (!insecure) {
        *why = connecting
            ? "tcp:// without CURVE keys is plain text: give keys, or --insecure on loopback"
            : "tcp:// without CURVE is plain text: give --curve-key and --allow, or --insecure "
              "on loopback";
        return -EPERM;
    }
    return 0;
}

int dw_security_check_bind(const char *endpoint, bool have_curve, bool insecure, const char **why)
{
    return check_endpoint(endpoint, have_curve, insecure, false, why);
}

int dw_security_check_connect(const char *endpoint, bool have_curve, bool insecure,
                              const char **why)
{
    return check_endpoint(endpoint, have_curve, insecure, true, why);
}

/* ---- the ZAP handler ------------------------------------------------------ */

struct peer { int fd; char addr[64]; };

struct monitor {
    void *sock;           /* PAIR connected to a zmq_socket_monitor endpoint */
    char endpoint[128];
    struct peer peers[MAX_PEERS]; /* accepted connections: fd -> address */
    /* a handshake failed; the DISCONNECTED event that follows names its fd */
    uint16_t fail_event;
    uint32_t fail_value;
};

struct limiter { char what[160]; uint64_t last_ns; unsigned long suppressed; };

struct dw_zap {
    void *ctx;
    pthread_t thread;
    bool running;
    void *ctl;            /* caller's end of the control pair */
    void *watched[MAX_MONITORS]; /* caller's: sockets already monitored */
    /* owned by the thread once it runs: */
    void *rep, *ctl_thread;
    uint8_t (*keys)[32];
    size_t n_keys, cap_keys;
    struct monitor mon[MAX_MONITORS];
    size_t n_mon;
    unsigned monitor_serial;
    struct limiter lim[32];
    unsigned long accepted, refused;
};

static int add_key(struct dw_zap *z, const char *z85)
{
    if (z->n_keys == z->cap_keys) {
        size_t cap = z->cap_keys ? z->cap_keys * 2 : 16;
        void *p = realloc(z->keys, cap * sizeof(*z->keys));
        if (!p)
            return -ENOMEM;
        z->keys = p;
        z->cap_keys = cap;
    }
    zmq_z85_decode(z->keys[z->n_keys++], z85);
    return 0;
}

static int load_allow_file(struct dw_zap *z, const char *path, const char **why)
{
    size_t cap = 1 << 20;
    char *buf = malloc(cap), *cur, *line;
    int r;
    if (!buf)
        return -ENOMEM;
    r = read_small_file(path, buf, cap, false, why);
    cur = buf;
    while (r == 0 && (line = next_line(&cur))) {
        if (!dw_security_valid_z85(line)) {
            *why = "malformed key in allow-list (want one 40-character Z85 key per line)";
            r = -EINVAL;
        } else {
            r = add_key(z, line);
        }
    }
    free(buf);
    return r;
}

/* Whoever can write the allow-list decides who gets in: only its owner
 * (the user running the server, or root) may. */
static int check_allow_perms(const char *path, const char **why)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        int e = errno;
        *why = e == ENOENT ? "allow-list: no such file or directory" : "allow-list: cannot stat";
        return -e;
    }
    if (st.st_mode & 022) {
        *why = "allow-list writable by group or others (chmod go-w it)";
        return -EPERM;
    }
    if (st.st_uid != getuid() && st.st_uid != 0) {
        *why = "allow-list owned by another user";
        return -EPERM;
    }
    return 0;
}

static int load_allow(struct dw_zap *z, const char *allow, const char **why)
{
    struct stat st;
    DIR *d;
    struct dirent *e;
    int r;

    if ((r = check_allow_perms(allow, why)) < 0 || (r = stat(allow, &st) < 0 ? -errno : 0) < 0)
        return r;
    if (!S_ISDIR(st.st_mode))
        return load_allow_file(z, allow, why);
    if (!(d = opendir(allow))) {
        *why = "allow-list: cannot open directory";
        return -errno;
    }
    while (r == 0 && (e = readdir(d))) {
        char path[4096], z85[DW_Z85_KEY_LEN + 1];
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".pub") || e->d_name[0] == '.')
            continue;
        if (snprintf(path, sizeof(path), "%s/%s", allow, e->d_name) >= (int)sizeof(path))
            continue;
        r = check_allow_perms(path, why);
        if (r == 0)
            r = dw_security_load_public(path, z85, why);
        if (r < 0)
            dw_err("allow-list %s: %s", path, *why);
        else
            r = add_key(z, z85);
    }
    closedir(d);
    return r;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* A client refused over and over (it reconnects every 100 ms) logs once
 * per 10 s per key (cause and host), with the count in between. */
static void log_refusal(struct dw_zap *z, const char *key, const char *what)
{
    struct limiter *slot = NULL, *oldest = &z->lim[0];
    uint64_t now = now_ns();
    for (size_t i = 0; i < sizeof(z->lim) / sizeof(z->lim[0]); i++) {
        if (!strcmp(z->lim[i].what, key)) {
            slot = &z->lim[i];
            break;
        }
        if (z->lim[i].last_ns < oldest->last_ns)
            oldest = &z->lim[i];
    }
    if (slot && now - slot->last_ns < LOG_EVERY_NS) {
        slot->suppressed++;
        return;
    }
    if (slot && slot->suppressed)
        dw_warn("%s (and %lu times in the last %llu s)", what, slot->suppressed,
                (unsigned long long)((now - slot->last_ns) / 1000000000ull));
    else
        dw_warn("%s", what);
    if (!slot) {
        slot = oldest;
        snprintf(slot->what, sizeof(slot->what), "%s", key);
    }
    slot->last_ns = now;
    slot->suppressed = 0;
}

static bool key_allowed(const struct dw_zap *z, const uint8_t key[32])
{
    for (size_t i = 0; i < z->n_keys; i++)
        if (!memcmp(z->keys[i], key, 32))
            return true;
    return false;
}

static void zap_send(void *rep, const char *s, size_t len, bool more)
{
    zmq_send(rep, s, len, more ? ZMQ_SNDMORE : 0);
}

/* Judges a request of at least 6 frames: status "200" for a CURVE client
 * whose key is allowed, logged either way. Returns the status text; key_z85
 * is the client's key (empty without one). */
static const char *zap_judge(struct dw_zap *z, zmq_msg_t *f, int n, const char **status,
                             char key_z85[DW_Z85_KEY_LEN + 1])
{
    char addr[64] = "", mech[16] = "", line[160];
    const char *text = "client key not allowed";

    snprintf(addr, sizeof(addr), "%.*s", (int)zmq_msg_size(&f[3]), (char *)zmq_msg_data(&f[3]));
    snprintf(mech, sizeof(mech), "%.*s", (int)zmq_msg_size(&f[5]), (char *)zmq_msg_data(&f[5]));
    if (!strcmp(mech, "CURVE") && n >= 7 && zmq_msg_size(&f[6]) == 32) {
        zmq_z85_encode(key_z85, zmq_msg_data(&f[6]), 32);
        if (key_allowed(z, zmq_msg_data(&f[6]))) {
            *status = "200";
            text = "OK";
        }
    } else {
        text = "CURVE required";
    }
    if ((*status)[0] == '2') {
        z->accepted++;
        dw_info("accepted CURVE client %s from %s", key_z85, addr[0] ? addr : "?");
    } else {
        z->refused++;
        snprintf(line, sizeof(line), "refused %s client %s from %s: %s",
                 mech[0] ? mech : "?", key_z85[0] ? key_z85 : "(no key)",
                 addr[0] ? addr : "an unknown address", text);
        log_refusal(z, line, line);
    }
    return text;
}

/* One ZAP request (RFC 27): version, request id, domain, address, identity,
 * mechanism, credentials... -> version, request id, status code and text,
 * user id, metadata. */
static void zap_handle(struct dw_zap *z)
{
    enum { MAXF = 8 };
    zmq_msg_t f[MAXF];
    int n = 0, more = 1;
    size_t ml = sizeof(more);
    char key_z85[DW_Z85_KEY_LEN + 1] = "";
    const char *status = "400", *text;

    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, z->rep, 0) < 0) {
            zmq_msg_close(&m);
            break;
        }
        if (n < MAXF)
            f[n++] = m;
        else
            zmq_msg_close(&m);
        if (zmq_getsockopt(z->rep, ZMQ_RCVMORE, &more, &ml) < 0)
            more = 0;
    }
    if (n < 6) {
        /* Still answered (REP must, and a refusal fails closed). */
        dw_warn("ZAP: malformed request (%d frames)", n);
        text = "malformed ZAP request";
    } else {
        text = zap_judge(z, f, n, &status, key_z85);
    }
    zap_send(z->rep, "1.0", 3, true);
    zmq_send(z->rep, n > 1 ? zmq_msg_data(&f[1]) : "", n > 1 ? zmq_msg_size(&f[1]) : 0,
             ZMQ_SNDMORE);
    zap_send(z->rep, status, 3, true);
    zap_send(z->rep, text, strlen(text), true);
    /* user id: the client's key, so it can be read back as a property */
    zap_send(z->rep, key_z85, strlen(key_z85), true);
    zap_send(z->rep, "", 0, false);
    for (int i = 0; i < n; i++)
        zmq_msg_close(&f[i]);
}

static void peer_name(int fd, char *out, size_t cap)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    char host[INET6_ADDRSTRLEN] = "";
    out[0] = 0;
    if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
        return;
    if (ss.ss_family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
        snprintf(out, cap, "%s:%u", host, ntohs(a->sin_port));
    } else if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
        snprintf(out, cap, "[%s]:%u", host, ntohs(a->sin6_port));
    }
}

static void monitor_handle(struct dw_zap *z, struct monitor *m)
{
    uint8_t ev[6];
    char ep[256] = "", line[400], key[160];
    uint16_t event;
    uint32_t value;
    int n = zmq_recv(m->sock, ev, sizeof(ev), ZMQ_DONTWAIT), more = 0;
    size_t ml = sizeof(more);

    if (n < 0)
        return;
    if (zmq_getsockopt(m->sock, ZMQ_RCVMORE, &more, &ml) == 0 && more) {
        int k = zmq_recv(m->sock, ep, sizeof(ep) - 1, 0);
        ep[k < 0 ? 0 : k >= (int)sizeof(ep) ? (int)sizeof(ep) - 1 : k] = 0;
    }
    if (n != 6)
        return;
    memcpy(&event, ev, 2);
    memcpy(&value, ev + 2, 4);
    switch (event) {
    case ZMQ_EVENT_ACCEPTED: {
        struct peer *p = &m->peers[value % MAX_PEERS];
        p->fd = (int)value;
        peer_name((int)value, p->addr, sizeof(p->addr));
        break;
    }
    case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
    case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
        m->fail_event = event;
        m->fail_value = value;
        break;
    case ZMQ_EVENT_DISCONNECTED: {
        struct peer *p = &m->peers[value % MAX_PEERS];
        const char *addr = p->fd == (int)value && p->addr[0] ? p->addr : "an unknown address";
        if (m->fail_event) {
            char cause[128];
            if (m->fail_event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)
                snprintf(cause, sizeof(cause), "handshake failed before authentication "
                         "(no CURVE, or a wrong server key): %s", strerror((int)m->fail_value));
            else if (m->fail_value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH)
                snprintf(cause, sizeof(cause), "no CURVE (security mechanism mismatch)");
            else
                snprintf(cause, sizeof(cause), "CURVE handshake failed (protocol error %#x; "
                         "a wrong server key?)", (unsigned)m->fail_value);
            z->refused++;
            snprintf(line, sizeof(line), "refused a client from %s on %s: %s", addr, ep, cause);
            /* the host without the port: every retry has a new port */
            snprintf(key, sizeof(key), "%x %.*s", m->fail_event,
                     (int)(strrchr(addr, ':') ? strrchr(addr, ':') - addr : (int)strlen(addr)), addr);
            log_refusal(z, key, line);
        }
        m->fail_event = 0;
        p->fd = -1;
        break;
    }
    default:
        break;
    }
}

/* Control messages: "stop", or "monitor ENDPOINT" (answered "ok"/"error"). */
static bool control_handle(struct dw_zap *z)
{
    char cmd[128];
    int n = zmq_recv(z->ctl_thread, cmd, sizeof(cmd) - 1, 0);
    if (n < 0)
        return true;
    cmd[n >= (int)sizeof(cmd) ? (int)sizeof(cmd) - 1 : n] = 0;
    if (!strcmp(cmd, "stop"))
        return false;
    if (!strncmp(cmd, "monitor ", 8)) {
        struct monitor *m = z->n_mon < MAX_MONITORS ? &z->mon[z->n_mon] : NULL;
        void *s = m ? dw_zmq_socket(z->ctx, ZMQ_PAIR) : NULL;
        bool ok = s && zmq_connect(s, cmd + 8) == 0;
        if (ok) {
            memset(m, 0, sizeof(*m));
            for (int i = 0; i < MAX_PEERS; i++)
                m->peers[i].fd = -1;
            m->sock = s;
            snprintf(m->endpoint, sizeof(m->endpoint), "%s", cmd + 8);
            z->n_mon++;
        } else if (s) {
            zmq_close(s);
        }
        zmq_send(z->ctl_thread, ok ? "ok" : "error", ok ? 2 : 5, 0);
    }
    return true;
}

static void *zap_thread(void *arg)
{
    struct dw_zap *z = arg;
    for (;;) {
        zmq_pollitem_t items[2 + MAX_MONITORS] = {
            { .socket = z->rep, .events = ZMQ_POLLIN },
            { .socket = z->ctl_thread, .events = ZMQ_POLLIN },
        };
        size_t n = 2;
        for (size_t i = 0; i < z->n_mon; i++)
            items[n++] = (zmq_pollitem_t){ .socket = z->mon[i].sock, .events = ZMQ_POLLIN };
        if (zmq_poll(items, (int)n, -1) < 0) {
            if (errno == EINTR)
                continue;
            dw_err("ZAP handler: %s", zmq_strerror(errno));
            break;
        }
        if (items[0].revents & ZMQ_POLLIN)
            zap_handle(z);
        for (size_t i = 0; i < z->n_mon; i++)
            if (items[2 + i].revents & ZMQ_POLLIN)
                monitor_handle(z, &z->mon[i]);
        if ((items[1].revents & ZMQ_POLLIN) && !control_handle(z))
            break;
    }
    for (size_t i = 0; i < z->n_mon; i++)
        zmq_close(z->mon[i].sock);
    z->n_mon = 0;
    zmq_close(z->rep);
    zmq_close(z->ctl_thread);
    z->rep = z->ctl_thread = NULL;
    return NULL;
}

struct dw_zap *dw_zap_start(void *ctx, const char *allow, const char **why)
{
    struct dw_zap *z = calloc(1, sizeof(*z));
    char ctl_ep[64];
    sigset_t all, old;
    int r, e;

    if (!z) {
        *why = "out of memory";
        return NULL;
    }
    z->ctx = ctx;
    if (!allow || !*allow) {
        *why = "no allow-list of client keys";
        r = -EINVAL;
        goto out;
    }
    if ((r = load_allow(z, allow, why)) < 0)
        goto out;
    /* The handler must exist before any CURVE server binds: failing to
     * bind it is the caller's fatal error, never a warning. */
    z->rep = dw_zmq_socket(ctx, ZMQ_REP);
    if (!z->rep || zmq_bind(z->rep, ZAP_ENDPOINT) < 0) {
        r = -errno;
        *why = errno == EADDRINUSE ? "another ZAP handler is bound in this context"
                                   : "cannot bind the ZAP handler endpoint";
        goto out;
    }
    snprintf(ctl_ep, sizeof(ctl_ep), "inproc://dw-zap-control-%p", (void *)z);
    z->ctl = dw_zmq_socket(ctx, ZMQ_PAIR);
    z->ctl_thread = dw_zmq_socket(ctx, ZMQ_PAIR);
    if (!z->ctl || !z->ctl_thread || zmq_bind(z->ctl_thread, ctl_ep) < 0 ||
        zmq_connect(z->ctl, ctl_ep) < 0) {
        r = -errno;
        *why = "cannot set up the ZAP handler's control pipe";
        goto out;
    }
    /* Signals belong to the main thread (its stop flag and poll loop). */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    e = pthread_create(&z->thread, NULL, zap_thread, z);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e) {
        r = -e;
        *why = "cannot start the ZAP handler thread";
        goto out;
    }
    z->running = true;
    r = 0;
out:
    if (r < 0) {
        dw_zmq_close(z->rep);
        dw_zmq_close(z->ctl);
        dw_zmq_close(z->ctl_thread);
        free(z->keys);
        free(z);
        errno = -r;
        return NULL;
    }
    return z;
}

size_t dw_zap_allowed(const struct dw_zap *z)
{
    return z ? z->n_keys : 0;
}

void dw_zap_stop(struct dw_zap *z)
{
    if (!z)
        return;
    if (z->running) {
        zmq_send(z->ctl, "stop", 4, 0);
        pthread_join(z->thread, NULL);
    }
    zmq_close(z->ctl);
    free(z->keys);
    free(z);
}

/* Asks the handler thread to watch sock's connections (for clients that
 * fail before ZAP is asked). Not fatal: only the log line is lost. */
static void zap_watch(struct dw_zap *z, void *sock)
{
    char cmd[128], reply[8];
    unsigned slot = z->monitor_serial;
    int n;

    /* A socket has one monitor: binding it twice must not replace it. */
    for (unsigned i = 0; i < slot && i < MAX_MONITORS; i++)
        if (z->watched[i] == sock)
            return;
    if (slot >= MAX_MONITORS) {
        dw_warn("too many CURVE sockets to watch: clients without CURVE will be refused unlogged");
        return;
    }
    z->watched[slot] = sock;
    n = snprintf(cmd, sizeof(cmd), "monitor inproc://dw-zap-monitor-%p-%u", (void *)z,
                     z->monitor_serial++);
    int events = ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED |
                 ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL;
    if (zmq_socket_monitor(sock, cmd + 8, events) < 0 || zmq_send(z->ctl, cmd, (size_t)n, 0) < 0 ||
        zmq_recv(z->ctl, reply, sizeof(reply), 0) != 2)
        dw_warn("cannot watch a CURVE socket: clients without CURVE will be refused unlogged");
}

int dw_security_server(void *sock, const struct dw_curve_keys *keys, struct dw_zap *zap)
{
    int one = 1;
    if (!sock || !keys || !keys->secret_key[0] || !zap || !zap->running)
        return -EINVAL;
    if (zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &one, sizeof(one)) < 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, keys->secret_key, DW_Z85_KEY_LEN) < 0 ||
        zmq_setsockopt(sock, ZMQ_ZAP_DOMAIN, DW_ZAP_DOMAIN, strlen(DW_ZAP_DOMAIN)) < 0)
        return -errno;
    zap_watch(zap, sock);
    return 0;
}

int dw_security_client(void *sock, const struct dw_curve_keys *client_keys,
                       const char *server_public_key)
{
    if (!sock || !client_keys || !client_keys->secret_key[0] ||
        !dw_security_valid_z85(server_public_key))
        return -EINVAL;
    if (zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, server_public_key, DW_Z85_KEY_LEN) < 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, client_keys->public_key, DW_Z85_KEY_LEN) < 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, client_keys->secret_key, DW_Z85_KEY_LEN) < 0)
        return -errno;
    return 0;
}

int dw_security_bind(void *sock, const char *endpoint, const struct dw_curve_keys *keys,
                     struct dw_zap *zap, bool insecure, char *actual, size_t actual_cap,
                     char *why, size_t cap)
{
    bool curve = dw_security_is_tcp(endpoint) && keys && zap;
    const char *w = NULL;
    size_t len = actual_cap;
    int r, zero = 0;

    if ((r = dw_security_check_bind(endpoint, curve, insecure, &w)) < 0) {
        snprintf(why, cap, "%s: %s", endpoint, w);
        return r;
    }
    if (curve && (r = dw_security_server(sock, keys, zap)) < 0) {
        snprintf(why, cap, "CURVE server setup: %s", zmq_strerror(-r));
        return r;
    }
    if (!curve)
        zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &zero, sizeof(zero));
    if (zmq_bind(sock, endpoint) < 0) {
        r = -errno;
        snprintf(why, cap, "cannot bind %s: %s", endpoint, zmq_strerror(errno));
        return r;
    }
    if (actual && actual_cap &&
        (zmq_getsockopt(sock, ZMQ_LAST_ENDPOINT, actual, &len) < 0 || !actual[0]))
        snprintf(actual, actual_cap, "%s", endpoint);
    return 0;
}

int dw_security_connect(void *sock, const char *endpoint, const char *key_file,
                        const char *server_key_file, bool insecure, char *why, size_t cap)
{
    struct dw_curve_keys k;
    char server[DW_Z85_KEY_LEN + 1];
    const char *w = NULL;
    bool curve = dw_security_is_tcp(endpoint) && key_file && server_key_file;
    int r;

    if ((key_file != NULL) != (server_key_file != NULL)) {
        snprintf(why, cap, "a CURVE client needs both its own key and the server's public key");
        return -EINVAL;
    }
    if ((r = dw_security_check_connect(endpoint, curve, insecure, &w)) < 0) {
        snprintf(why, cap, "%s: %s", endpoint, w);
        return r;
    }
    if (curve) {
        if ((r = dw_security_load_keypair(key_file, &k, &w)) < 0) {
            snprintf(why, cap, "%s: %s", key_file, w);
            return r;
        }
        if ((r = dw_security_load_public(server_key_file, server, &w)) < 0) {
            explicit_bzero(&k, sizeof(k));
            snprintf(why, cap, "%s: %s", server_key_file, w);
            return r;
        }
        r = dw_security_client(sock, &k, server);
        explicit_bzero(&k, sizeof(k));
        if (r < 0) {
            snprintf(why, cap, "CURVE client setup: %s", zmq_strerror(-r));
            return r;
        }
    }
    if (zmq_connect(sock, endpoint) < 0) {
        r = -errno;
        snprintf(why, cap, "cannot connect to %s: %s", endpoint, zmq_strerror(errno));
        return r;
    }
    if (curve) {
        /* Later connects on this socket must not inherit the keys silently. */
        int zero = 0;
        zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &zero, sizeof(zero));
    }
    return 0;
}
