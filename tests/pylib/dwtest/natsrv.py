"""A real nats-server for the tests (docs/testing.md): on free loopback
ports (or on a host address in a network namespace), JetStream in the
case's private directory, ready when its monitoring endpoint says so
(/healthz, and for a cluster /jsz's meta leader), never after a sleep.
Read back with tests/nats/natscheck, the tests' own NATS client (Debian
packages no NATS library for Python). make_ca and server_cert make a
throwaway CA and a server certificate with /usr/bin/openssl, in the
case's directory, for a server with TLS."""
import json
import os
import random
import shutil
import socket
import struct
import subprocess
import sys
import urllib.error
import urllib.request

from .core import check, fail, skip, wait_for
from .stream import parse_frame_body

NATS_SERVER = shutil.which("nats-server") or "/usr/sbin/nats-server"
OPENSSL = "/usr/bin/openssl"
EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


def _openssl(*args):
    if not os.access(OPENSSL, os.X_OK):
        skip("openssl is not installed (scripts/install-deps.sh)")
    p = subprocess.run([OPENSSL, *args], capture_output=True, text=True, timeout=30)
    check(p.returncode == 0, "openssl %s: %s" % (args[0], p.stderr.strip()[-300:]))


def make_ca(run, name):
    """A throwaway CA: (certificate, key) paths."""
    cert, key = run.path(name + ".pem"), run.path(name + ".key")
    _openssl("req", "-x509", *EC_KEY, "-days", "2", "-subj", "/CN=ductwatch test " + name,
             "-keyout", key, "-out", cert)
    return cert, key


def server_cert(run, name, ca, san="IP:127.0.0.1"):
    """A server certificate for san signed by ca (from make_ca): (cert, key)."""
    cert, key, csr = (run.path(name + ext) for ext in (".pem", ".key", ".csr"))
    ext = run.path(name + ".ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=%s\nbasicConstraints=CA:FALSE\n"
                "extendedKeyUsage=serverAuth\n" % san)
    _openssl("req", *EC_KEY, "-subj", "/CN=" + name, "-keyout", key, "-out", csr)
    _openssl("x509", "-req", "-in", csr, "-CA", ca[0], "-CAkey", ca[1], "-set_serial", "1",
             "-days", "2", "-extfile", ext, "-out", cert)
    return cert, key


# ports for servers in private namespaces: below the kernel's ephemeral
# range (32768-60999 by default, per namespace), each handed out once
_private_ports = iter(random.Random(os.getpid()).sample(range(20000, 32000), 4000))


def free_port(netns=None):
    """A TCP port to listen on. On loopback, one the kernel just handed out
    (free now). In a private namespace (netns), one below the ephemeral
    range: a port from bind(0) in this namespace says nothing of that one,
    and there an outgoing connection (a cluster route, the leaf remote) took
    a listening port picked that way before its server bound it."""
    if netns is not None:
        return next(_private_ports)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fnv1a32(s):
    h = 2166136261
    for b in s.encode():
        h = ((h ^ b) * 16777619) & 0xffffffff
    return h


class NatsServer:
    """nats-server NAME with JetStream (store in the case's directory); a
    member of a cluster when cluster=(name, [route ports]) is given with
    this server's own route port; TLS required of every client when
    tls=(certificate, key) is given (its url is then tls://). With netns
    (dwtest.netns.Netns) it runs in that namespace, listening on host
    there, and is read through it."""

    def __init__(self, run, name, cluster=None, route_port=None, extra="", domain=None,
                 tls=None, netns=None, host="127.0.0.1"):
        if not os.access(NATS_SERVER, os.X_OK):
            skip("nats-server is not installed (scripts/install-deps.sh)")
        self.run, self.name, self.netns, self.host = run, name, netns, host
        self.port, self.http = free_port(netns), free_port(netns)
        self.route_port = route_port
        self.tls = tls
        self.conf = run.path(name + ".conf")
        text = ("server_name: %s\nlisten: %s:%d\nhttp: %s:%d\n"
                "jetstream { store_dir: \"%s\", max_mem: 64MB, max_file: 1GB%s }\n"
                % (name, host, self.port, host, self.http, run.path(name + "-js"),
                   ", domain: " + domain if domain else ""))
        if cluster:
            cname, routes = cluster
            text += ("cluster { name: %s, listen: 127.0.0.1:%d, routes: [%s] }\n"
                     % (cname, route_port, ", ".join("nats-route://127.0.0.1:%d" % p
                                                   for p in routes if p != route_port)))
        if tls:
            text += 'tls { cert_file: "%s", key_file: "%s", timeout: 2 }\n' % tls
        with open(self.conf, "w") as f:
            f.write(text + extra)
        self.proc = None
        self.start()

    @property
    def url(self):
        return "%s://%s:%d" % ("tls" if self.tls else "nats", self.host, self.port)

    def start(self):
        argv = [NATS_SERVER, "-c", self.conf]
        self.proc = self.run.spawn(self.netns.argv(*argv) if self.netns else argv)

    def monitor(self, path):
        """The monitoring endpoint's JSON, or None while it does not answer
        (or answers an error)."""
        url = "http://%s:%d%s" % (self.host, self.http, path)
        if self.netns:
            return _monitor_in(self.netns, url)
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                return json.loads(r.read())
        except (urllib.error.URLError, OSError, ValueError):
            return None

    def stream_state(self, stream):
        """/jsz's state of stream (messages, first_seq, last_seq, ...), or
        None while the server does not report it."""
        j = self.monitor("/jsz?accounts=true&streams=true") or {}
        for acc in j.get("account_details") or []:
            for st in acc.get("stream_detail") or []:
                if st.get("name") == stream:
                    return st.get("state")
        return None

    def wait_ready(self, timeout=30, cluster=False):
        def ready():
            if self.proc.poll() is not None:
                fail("nats-server %s exited: %s" % (self.name, self.proc.err_text()[-400:]))
            h = self.monitor("/healthz")
            if not h or h.get("status") != "ok":
                return False
            if cluster:
                j = self.monitor("/jsz") or {}
                return bool((j.get("meta_cluster") or {}).get("leader"))
            return True
        wait_for(ready, timeout, "nats-server %s ready (/healthz%s)"
                 % (self.name, ", /jsz meta leader" if cluster else ""))

    def kill(self):
        self.proc.kill()


_FETCH = ("import sys, urllib.request\n"
          "try:\n"
          "    sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=2).read().decode())\n"
          "except OSError:\n"
          "    sys.exit(1)\n")


def _monitor_in(netns, url):
    """GET url from inside netns (a thread of this process cannot enter it
    portably): the JSON, or None."""
    try:
        p = subprocess.run(netns.argv(sys.executable, "-c", _FETCH, url), capture_output=True,
                           text=True, timeout=10)
        return json.loads(p.stdout) if p.returncode == 0 else None
    except (subprocess.TimeoutExpired, ValueError):
        return None


def cluster(run, n=3, name="dwc", extra=lambda i: "", **kw):
    """n servers in one JetStream cluster, each ready with a meta leader;
    extra(i) is server i's own configuration, kw goes to every NatsServer
    (netns, host, domain)."""
    routes = [free_port(kw.get("netns")) for _ in range(n)]
    servers = [NatsServer(run, "n%d" % i, cluster=(name, routes), route_port=routes[i],
                          extra=extra(i), **kw)
               for i in range(n)]
    for s in servers:
        s.wait_ready(cluster=True)
    return servers


def dump(run, url, stream="DW", domain=None, netns=None):
    """Every message stream holds: dicts sseq, subject, id, data (bytes);
    read from inside netns when one is given."""
    argv = ["natscheck", "dump", url, stream] + ([domain] if domain else [])
    if netns:
        argv = netns.argv(*argv)
    p = run.run(argv, timeout=60)
    check(p.returncode == 0, "natscheck dump: %s" % p.stderr.strip())
    out = []
    for line in p.stdout.splitlines():
        m = json.loads(line)
        m["data"] = bytes.fromhex(m["data"])
        out.append(m)
    return out


def batch_frames(data, device=None):
    """The frames of a dw.p.K.frame.DEV body (common/frame_batch.h)."""
    check(data[:1] == b"\x01", "frame batch version %r" % data[:1])
    off, frames = 1, []
    while off < len(data):
        check(len(data) - off >= 4, "frame batch cut in a length")
        n, = struct.unpack_from("<I", data, off)
        check(n <= len(data) - off - 4, "frame batch cut in a frame")
        frames.append(parse_frame_body(data[off + 4:off + 4 + n], device))
        off += 4 + n
    return frames
