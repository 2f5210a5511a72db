#!/usr/bin/python3
"""ductwatch-bridge against a real nats-server (docs/operations.md): test
garments on ptys, real acquires, the bridge, JetStream; every message read
back from the stream by natscheck (tests/nats/natscheck.c). Frames: every
one exactly once, in the right partition, with its message id; the
partition agrees with nats-server's own partition() mapping; a bridge
killed with -9 and restarted resumes without loss or repeat, and what it
sends again is dropped by the stream for its Nats-Msg-Id; a 3-server
cluster (replicas 3) loses a server and the stream goes on; a leaf hub
with its own JetStream domain holds the data while the fleet is away and
the fleet's stream sources all of it afterwards, both when the fleet
server is stopped and when the hub and the fleet are separate hosts
(network namespaces) whose link goes down for a minute. Security: a
server that requires TLS (a throwaway CA made with openssl) carries a
garment through a bridge and a record worker given the CA, and refuses
the bridge without it, with another CA, or a plain-text client; a hub's
user may publish only its own devices' subjects, and the bridge says so
when the server refuses one."""
import json
import os
import random
import re
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import dwtest  # noqa: E402
from dwtest import HELLO, SAMPLE, Run, case, check, fail, skip, wait_for  # noqa: E402
from dwtest.garment import acquire, check_samples, summary, testgarment  # noqa: E402
from dwtest.natsrv import (NatsServer, batch_frames, cluster, dump, fnv1a32, free_port,  # noqa: E402
                           make_ca, server_cert)
from dwtest.netns import Netns, netns_usable, veth_pair  # noqa: E402
from dwtest.record import Recorder  # noqa: E402
from dwtest.stream import parse_frame_body  # noqa: E402

PARTS = 4
SUBJECT = re.compile(r"^dw\.p\.(\d+)\.(frame|event|stats|alert|hello)\.([^.]+)$")


def garment(run, device, *args):
    """A test garment (values a function of the device seq) read by acquire:
    (garment proc, acquire proc, pub endpoint)."""
    g, port = testgarment(run, "--device", device, *args)
    a, pub, _ = acquire(run, port, pub=run.ep(device + "-pub"), events=run.ep(device + "-ev"))
    return g, a, pub


def bridge(run, urls, pubs, *args, wrap=lambda *argv: list(argv)):
    b = run.spawn(wrap("ductwatch-bridge", "--nats", ",".join(urls), "--create-stream",
                   "--partitions", str(PARTS), "--name", "hub1", "--stats-interval", "500",
                   *sum((["--sub", p] for p in pubs), []), *args))
    check(b.expect("nats: ", timeout=20) == ",".join(urls), "bridge's nats: line")
    return b


def bridged(b, sig=signal.SIGTERM):
    """The bridge's counters from its last line, after it ended on sig."""
    b.send_signal(sig)
    line = b.expect("bridged: ", timeout=30)
    check(b.wait(30) == 0, "bridge exit status %s: %s" % (b.returncode, b.err_text()[-300:]))
    c = json.loads(line)
    print("bridge counters:", c)
    return c


def stored(run, url, stream="DW", netns=None):
    """What the stream holds, checked message by message: subjects in the
    device's partition, frame messages one garment-second with the id of
    their first and last frame. Per device: (frames, other messages)."""
    by_dev = {}
    for m in dump(run, url, stream, netns=netns):
        s = SUBJECT.match(m["subject"])
        check(s, "subject %r" % m["subject"])
        k, kind, dev = int(s.group(1)), s.group(2), s.group(3)
        check(k == fnv1a32(dev) % PARTS, "%s in partition %d, not %d"
              % (dev, k, fnv1a32(dev) % PARTS))
        frames, others = by_dev.setdefault(dev, ([], []))
        if kind == "hello":
            # the HELLO's copy for workers that meet the device mid-stream
            h = parse_frame_body(m["data"], dev)
            check(h["type"] == HELLO and m["id"] == "%016x-%d-hello" % (h["stream"], h["seq"]),
                  "hello copy %r" % m["id"])
        elif kind == "frame":
            fs = batch_frames(m["data"], dev)
            check(len({f["t_device_us"] // 1000000 for f in fs}) == 1,
                  "a frame message spans device seconds")
            check(m["id"] == "%016x-%d-%d" % (fs[0]["stream"], fs[0]["seq"], fs[-1]["seq"]),
                  "frame message id %r" % m["id"])
            frames += fs
        else:
            body = json.loads(m["data"])
            check(m["id"] == "%016x-%d" % (body["stream"], body["seq"]), "id %r" % m["id"])
            others.append((kind, body))
    return by_dev


def check_seq_order(run, url, stream="DW"):
    """In stream order, each device's frames, events and stats (acquire's
    one sequence) come in that sequence's order, as the workers hand them
    over (natsio/jssub.h): an event or stats message does not overtake the
    garment-second of frames it came in. The number of messages checked."""
    last, n = {}, 0
    for m in dump(run, url, stream):
        s = SUBJECT.match(m["subject"])
        kind, dev = s.group(2), s.group(3)
        if kind == "frame":
            seqs = [(f["stream"], f["seq"]) for f in batch_frames(m["data"], dev)]
        elif kind in ("event", "stats"):
            body = json.loads(m["data"])
            seqs = [(body["stream"], body["seq"])]
        else:
            continue
        for st, q in seqs:
            prev = last.get(dev)
            check(prev is None or prev[0] != st or q > prev[1],
                  "%s: %s seq %d stored after seq %d" % (dev, kind, q, prev[1] if prev else 0))
            last[dev] = (st, q)
        n += 1
    return n


def samples_in(run, url, device, stream="DW"):
    frames = stored(run, url, stream).get(device, ([], []))[0]
    return sum(1 for f in frames if f["type"] == SAMPLE)


def check_once(by_dev, device, samples):
    """Every frame of device exactly once; its samples what the garment sent."""
    frames, others = by_dev[device]
    keys = [(f["stream"], f["seq"]) for f in frames]
    check(len(keys) == len(set(keys)), "%s: %d frames stored twice"
          % (device, len(keys) - len(set(keys))))
    got = sorted(frames, key=lambda f: f["seq"])
    n = sum(1 for f in got if f["type"] == SAMPLE)
    check(n == samples, "%s: %d samples stored, %d sent" % (device, n, samples))
    check(any(f["type"] == HELLO for f in got), "%s: no HELLO stored" % device)
    check_samples(got, devices=(device,))
    ids = [(k, b["stream"], b["seq"]) for k, b in others]
    check(len(ids) == len(set(ids)), "%s: a stats/event message stored twice" % device)


@case(timeout=60)
def partition_mapping():
    """The bridge's partition is nats-server's partition(N, ...) mapping:
    200 device ids through a server mapping for 4 and 7 partitions, and the
    bridge's subjects for real garments in the end-to-end cases."""
    with Run() as run:
        srv = NatsServer(run, "map", extra=(
            'mappings = {\n'
            '  "dwm4.frame.*": "dw.p.{{partition(4,1)}}.frame.{{wildcard(1)}}"\n'
            '  "dwm7.frame.*": "dw.p.{{partition(7,1)}}.frame.{{wildcard(1)}}"\n}\n'))
        srv.wait_ready()
        rnd = random.Random(19)
        devs = ["tg-%04d" % i for i in range(100)] + [
            "".join(rnd.choice("abcdefXYZ0123456789_-") for _ in range(rnd.randint(1, 32)))
            for _ in range(100)]
        for n in (4, 7):
            p = run.run(["natscheck", "map", srv.url, "dwm%d.frame" % n, *devs], timeout=60)
            check(p.returncode == 0, "natscheck map: %s" % p.stderr)
            for line in p.stdout.splitlines():
                m = json.loads(line)
                want = "dw.p.%d.frame.%s" % (fnv1a32(m["device"]) % n, m["device"])
                check(m["subject"] == want, "server mapped %s to %s, FNV-1a says %s"
                      % (m["device"], m["subject"], want))
            check(len(p.stdout.splitlines()) == len(devs), "every device mapped")


@case(timeout=60)
def usage_and_credentials():
    """Bad usage exits 2 with a one-line reason; a password file that
    group or others can read is refused (exit 1) before any connection; a
    server that requires a user: refused with a wrong password, bridged
    with the right one (read from a 0600 file)."""
    with Run() as run:
        for args, pat in ((["--sub", "ipc://x"], "missing --nats URL"),
                          (["--nats", "nats://127.0.0.1:1", "--partitions", "0"], "bad --partitions"),
                          (["--nats", "nats://127.0.0.1:1", "--name", "a.b"], "bad --name"),
                          (["--nats", "nats://127.0.0.1:1", "--stream", "a.b"], "bad --stream")):
            p = run.run(["ductwatch-bridge", *args])
            check(p.returncode == 2 and re.search(pat, p.stderr),
                  "%s: exit %d, %r" % (args, p.returncode, p.stderr))
        srv = NatsServer(run, "auth", extra=(
            'authorization { users: [ { user: hub1, password: "right-one" } ] }\n'))
        srv.wait_ready()
        g, a, pub = garment(run, "tg-u1", "--frames", "200", "--rate", "100")
        pw = run.path("nats.pass")
        with open(pw, "w") as f:
            f.write("hub1:right-one\n")
        os.chmod(pw, 0o644)
        p = run.run(["ductwatch-bridge", "--nats", srv.url, "--sub", pub, "--user-file", pw])
        check(p.returncode == 1 and "group or others" in p.stderr,
              "a 0644 password file: exit %d, %r" % (p.returncode, p.stderr))
        os.chmod(pw, 0o600)
        with open(pw, "w") as f:
            f.write("hub1:wrong-one\n")
        p = run.run(["ductwatch-bridge", "--nats", srv.url, "--sub", pub, "--user-file", pw])
        check(p.returncode == 1 and "cannot connect" in p.stderr
              and "Authorization Violation" in p.stderr,
              "a wrong password: exit %d, %r" % (p.returncode, p.stderr))
        with open(pw, "w") as f:
            f.write("hub1:right-one\n")
        b = bridge(run, [srv.url], [pub], "--user-file", pw)
        sent = summary(g)["samples"]
        url = "nats://hub1:right-one@127.0.0.1:%d" % srv.port
        wait_for(lambda: samples_in(run, url, "tg-u1") >= sent, 30, "the samples stored",
                 step=0.3)
        bridged(b)
        check_once(stored(run, url), "tg-u1", sent)


@case(timeout=60)
def single_server():
    """Three garments through three acquires and one bridge into one
    server: every frame exactly once, one message per garment-second, the
    acquires' stats too, each device's in its seq order, all acked when the
    bridge ends."""
    with Run() as run:
        srv = NatsServer(run, "n0")
        srv.wait_ready()
        devs = ["tg-a1", "tg-b2", "tg-c3"]
        gs = [garment(run, d, "--frames", "400", "--rate", "100") for d in devs]
        t0 = time.monotonic()
        b = bridge(run, [srv.url], [pub for _, _, pub in gs])
        sent = {d: summary(g)["samples"] for d, (g, _, _) in zip(devs, gs)}
        for d in devs:
            wait_for(lambda: samples_in(run, srv.url, d) >= sent[d], 30,
                     "%s's %d samples in the stream" % (d, sent[d]), step=0.3)
        print("all %d samples stored in %.1f s" % (sum(sent.values()), time.monotonic() - t0))
        c = bridged(b)
        by_dev = stored(run, srv.url)
        for d in devs:
            check_once(by_dev, d, sent[d])
        print("%d messages in each device's seq order" % check_seq_order(run, srv.url))
        check(c["pending"] == 0 and c["acked"] == c["published"],
              "bridge ended with messages unacked: %s" % c)
        check(c["gaps"] == 0 and c["refused"] == 0, "gaps or refusals: %s" % c)
        # 4 device seconds of frames each (400 at 100 Hz): about 4 messages,
        # never one per frame
        check(c["batches"] <= 3 * 6, "%d frame messages for %d frames" % (c["batches"],
                                                                         c["frames"]))


@case(timeout=90)
def kill_restart():
    """A bridge killed with -9 mid-stream and started again: no frame lost,
    none stored twice (the new bridge resumes after the stream's last frame
    message of the device), and what acquire replays to the new bridge
    (stats) is sent again and dropped by the stream for its Nats-Msg-Id."""
    with Run() as run:
        srv = NatsServer(run, "n0")
        srv.wait_ready()
        g, a, pub = garment(run, "tg-k1", "--frames", "1200", "--rate", "100",
                            "--hold-ms", "90000")
        b = bridge(run, [srv.url], [pub])
        wait_for(lambda: samples_in(run, srv.url, "tg-k1") >= 300, 30,
                 "300 samples in the stream", step=0.2)
        b.kill()
        b.wait(10)
        before = samples_in(run, srv.url, "tg-k1")
        b2 = bridge(run, [srv.url], [pub], "-v")
        sent = summary(g)["samples"]
        wait_for(lambda: samples_in(run, srv.url, "tg-k1") >= sent, 40,
                 "all %d samples in the stream" % sent, step=0.3)
        c = bridged(b2)
        print("stored before the kill: %d samples; after: %d" % (before, sent))
        check(before < sent, "the kill came after the garment ended: no restart tested")
        check_once(stored(run, srv.url), "tg-k1", sent)
        check("the stream holds its frames up to" in b2.err_text(),
              "the new bridge did not resume from the stream")
        check(c["resumed"] > 0, "the new bridge left nothing out: %s" % c)
        check(c["duplicates"] > 0, "no resent message was dropped as a duplicate: %s" % c)


@case(timeout=90)
def stalled_server():
    """The server frozen (SIGSTOP) for 4 s while a garment streams, with a
    window of 2 unacked messages and a 500 ms ack wait: the bridge waits
    (stalls), sends what was not acked again with the same ids, and once
    the server runs again every frame is stored exactly once: the copies
    that did arrive twice are dropped by their Nats-Msg-Id."""
    with Run() as run:
        srv = NatsServer(run, "n0")
        srv.wait_ready()
        g, a, pub = garment(run, "tg-s1", "--frames", "1200", "--rate", "100",
                            "--hold-ms", "80000")
        b = bridge(run, [srv.url], [pub], "--max-pending", "2", "--ack-wait", "500")
        wait_for(lambda: samples_in(run, srv.url, "tg-s1") >= 200, 30,
                 "200 samples in the stream", step=0.2)
        srv.proc.send_signal(signal.SIGSTOP)
        try:
            b.wait_log("publishes not acked", timeout=20)
            time.sleep(4)  # the outage itself: a time to pass, not a state to wait for
        finally:
            srv.proc.send_signal(signal.SIGCONT)
        sent = summary(g)["samples"]
        wait_for(lambda: samples_in(run, srv.url, "tg-s1") >= sent, 40,
                 "all %d samples in the stream" % sent, step=0.3)
        c = bridged(b)
        check(c["retried"] > 0 and c["stalls"] > 0, "no retry or no stall: %s" % c)
        check(c["pending"] == 0 and c["acked"] == c["published"], "unacked: %s" % c)
        check_once(stored(run, srv.url), "tg-s1", sent)


@case(timeout=120, parallel=False)
def cluster_server_lost():
    """A 3-server cluster, the stream with 3 replicas: the server the
    bridge is connected to is killed (-9) while the garment streams; the
    bridge reconnects to another and goes on, and both survivors hold
    every frame exactly once."""
    with Run() as run:
        servers = cluster(run)
        urls = [s.url for s in servers]
        g, a, pub = garment(run, "tg-r3", "--frames", "1500", "--rate", "100",
                            "--hold-ms", "110000")
        b = bridge(run, urls, [pub], "--replicas", "3", "--ack-wait", "2000")
        wait_for(lambda: samples_in(run, urls[1], "tg-r3") >= 300, 40,
                 "300 samples in the stream", step=0.3)
        # the server the bridge is connected to: it has to reconnect too
        conn = [s for s in servers
                if any(c.get("name") == "hub1"
                       for c in (s.monitor("/connz") or {}).get("connections") or [])]
        check(len(conn) == 1, "the bridge is connected to %d servers" % len(conn))
        t = time.monotonic()
        conn[0].kill()
        urls_left = [s.url for s in servers if s is not conn[0]]
        sent = summary(g, timeout=60)["samples"]
        wait_for(lambda: samples_in(run, urls_left[0], "tg-r3") >= sent, 60,
                 "all %d samples in the stream after a server was lost" % sent, step=0.5)
        print("all stored %.1f s after the kill" % (time.monotonic() - t))
        c = bridged(b)
        check(c["pending"] == 0 and c["acked"] == c["published"], "unacked: %s" % c)
        check("NATS connection back" in b.err_text(), "the bridge did not reconnect")
        for u in urls_left:
            check_once(stored(run, u), "tg-r3", sent)


@case(timeout=120, parallel=False)
def leaf_link_cut():
    """A hub's own nats-server as a leaf node of the fleet's, with its own
    JetStream domain (hub1): the bridge publishes into the hub's stream DW;
    the fleet's stream FLEET (dw.p.> for hubs without a leaf, too) sources
    it through $JS.hub1.API. The fleet server is stopped while the garment
    streams (an outage of the fleet; leaf-netns-link-cut cuts the link): the hub keeps everything, and once the fleet
    server is back FLEET holds every frame exactly once (the leaf remote
    denies dw.>, so nothing arrives both directly and through the source)."""
    with Run() as run:
        leaf_port = free_port()
        fleet = NatsServer(run, "fleet", domain="fleet",
                           extra="leafnodes { listen: 127.0.0.1:%d }\n" % leaf_port)
        fleet.wait_ready()
        hub = NatsServer(run, "hub", domain="hub1", extra=(
            'leafnodes { remotes: [ { url: "nats-leaf://127.0.0.1:%d", '
            'deny_exports: ["dw.>"], deny_imports: ["dw.>"] } ] }\n' % leaf_port))
        hub.wait_ready()
        wait_for(lambda: (fleet.monitor("/leafz") or {}).get("leafnodes", 0) >= 1, 30,
                 "the hub's leaf connection (/leafz)")
        g, a, pub = garment(run, "tg-l1", "--frames", "1500", "--rate", "100",
                            "--hold-ms", "110000")
        b = bridge(run, [hub.url], [pub])
        p = run.run(["natscheck", "source", fleet.url, "FLEET", "DW", "hub1"])
        check(p.returncode == 0, "the fleet's sourcing stream: %s" % p.stderr.strip())
        wait_for(lambda: samples_in(run, fleet.url, "tg-l1", "FLEET") >= 200, 30,
                 "200 samples sourced into FLEET", step=0.2)
        fleet.proc.stop()
        cut = samples_in(run, hub.url, "tg-l1")
        wait_for(lambda: samples_in(run, hub.url, "tg-l1") >= cut + 300, 30,
                 "300 more samples in the hub while the link is cut", step=0.2)
        fleet.start()
        fleet.wait_ready()
        sent = summary(g, timeout=60)["samples"]
        t = time.monotonic()
        wait_for(lambda: samples_in(run, fleet.url, "tg-l1", "FLEET") >= sent, 60,
                 "all %d samples in FLEET after the link came back" % sent, step=0.5)
        print("link cut at %d samples; FLEET complete %.1f s after the garment ended"
              % (cut, time.monotonic() - t))
        c = bridged(b)
        check(c["pending"] == 0 and c["acked"] == c["published"], "unacked: %s" % c)
        check_once(stored(run, hub.url), "tg-l1", sent)
        check_once(stored(run, fleet.url, "FLEET"), "tg-l1", sent)


def refused(run, argv, *pats):
    """A bridge that must not connect: exit 1 within 15 s (no hang), its
    one-line reason matching every pattern."""
    t = time.monotonic()
    p = run.run(["ductwatch-bridge", "--drain-timeout", "0", *argv], timeout=30)
    took = time.monotonic() - t
    print("refused in %.1f s: %s" % (took, p.stderr.strip()))
    check(p.returncode == 1 and "nats: " not in p.stdout,
          "%s: exit %d, stdout %r" % (argv, p.returncode, p.stdout))
    for pat in pats:
        check(re.search(pat, p.stderr), "%s: %r does not say %r" % (argv, p.stderr, pat))
    check(took < 15, "refused only after %.1f s" % took)


def plain_text_refused(srv):
    """A client that speaks plain text to srv: the server's INFO asks for
    TLS, and CONNECT and PING in plain text get no PONG: it closes."""
    with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
        f = s.makefile("rb")
        info = f.readline()
        check(info.startswith(b"INFO ") and json.loads(info[5:]).get("tls_required") is True,
              "INFO without tls_required: %r" % info[:200])
        s.sendall(b'CONNECT {"verbose":false,"pedantic":false}\r\nPING\r\n')
        rest = b""
        try:
            while True:
                b = s.recv(4096)
                if not b:
                    break
                rest += b
        except socket.timeout:
            fail("the server kept a plain-text client open 10 s")
        check(b"PONG" not in rest, "a plain-text client got %r" % rest[:200])


def recorded_rows(d, writing=False):
    """The device seqs of /frames over every session file in d (h5py);
    writing: a file the recorder has not opened for readers yet counts as
    empty."""
    import h5py
    seqs = []
    for name in sorted(os.listdir(d)):
        if not name.endswith(".h5"):
            continue
        try:
            with h5py.File(os.path.join(d, name), "r", libver="latest", swmr=True) as f:
                seqs += [int(x) for x in f["frames/device_seq"][:]]
        except (OSError, KeyError):
            if not writing:
                raise
    return seqs


@case(timeout=90)
def tls():
    """A nats-server that requires TLS (its certificate for 127.0.0.1 from
    a throwaway CA): a bridge and a record worker given the CA over tls://
    carry a garment's frames into the worker's file, each once (h5py), on
    a TLS connection (/connz). Refused, each with exit 1 and its reason in
    a few seconds (no hang, no plain text): a bridge without the CA (tls://
    or nats://), with another CA, with a certificate for another name; a
    bridge asking for TLS from a server without it; a plain-text client."""
    with Run() as run:
        ca, other_ca = make_ca(run, "ca"), make_ca(run, "other-ca")
        srv = NatsServer(run, "tls", tls=server_cert(run, "server", ca))
        srv.wait_ready()
        plain = NatsServer(run, "plain")
        plain.wait_ready()
        misnamed = NatsServer(run, "misnamed", tls=server_cert(run, "misnamed", ca,
                                                                "DNS:elsewhere.example"))
        misnamed.wait_ready()
        sub = ["--sub", run.ep("nothing")]
        refused(run, ["--nats", srv.url, *sub], "cannot connect", "SSL handshake error",
                "unable to get local issuer certificate")
        # nats:// to a server that requires TLS: TLS all the same, not plain text
        refused(run, ["--nats", srv.url.replace("tls:", "nats:"), *sub], "SSL handshake error",
                "unable to get local issuer certificate")
        refused(run, ["--nats", srv.url, "--tls-ca", other_ca[0], *sub], "SSL handshake error",
                "unable to get local issuer certificate")
        refused(run, ["--nats", misnamed.url, "--tls-ca", ca[0], *sub], "IP address mismatch")
        refused(run, ["--nats", plain.url.replace("nats:", "tls:"), *sub],
                "Secure Connection not available")
        refused(run, ["--nats", plain.url, "--tls-ca", ca[0], *sub],
                "Secure Connection not available")
        plain_text_refused(srv)

        g, a, pub = garment(run, "tg-t1", "--frames", "300", "--rate", "100")
        b = bridge(run, [srv.url], [pub], "--tls-ca", ca[0])
        k = fnv1a32("tg-t1") % PARTS
        rec = Recorder(run, [], dir=run.path("rec"),
                       extra=["--nats", srv.url, "--partition", str(k), "--tls-ca", ca[0],
                              "--layout", "session"])
        check(rec.p.expect("nats: ", timeout=20).startswith(srv.url), "record's nats: line")
        conns = (srv.monitor("/connz") or {}).get("connections") or []
        print("connections:", [(c.get("name"), c.get("tls_version")) for c in conns])
        check(len(conns) == 2 and all(c.get("tls_version") for c in conns),
              "not every connection is TLS: %s" % conns)
        sent = summary(g)["samples"]
        wait_for(lambda: len(recorded_rows(run.path("rec"), True)) >= sent, 40,
                 "the record worker's file holds the %d samples" % sent, step=0.3)
        c = bridged(b)
        check(c["pending"] == 0 and c["acked"] == c["published"], "unacked: %s" % c)
        check(rec.stop() == 0, "record exit: %s" % rec.err[-400:])
        seqs = recorded_rows(run.path("rec"))
        print("%d samples sent, %d rows recorded (device seq %d..%d)"
              % (sent, len(seqs), min(seqs), max(seqs)))
        check(len(seqs) == sent and len(set(seqs)) == sent and max(seqs) - min(seqs) == sent - 1,
              "%d rows for %d samples, %d distinct" % (len(seqs), sent, len(set(seqs))))


HUB_ACL = ('{ user: %s, password: "%s-pw", permissions: { publish: { allow: ['
           '"dw.p.*.*.%s", "$JS.API.STREAM.INFO.DW", "$JS.API.STREAM.MSG.GET.DW", '
           '"dw.bridge.%s.stats"] } } }\n')


@case(timeout=90)
def hub_permissions():
    """Each hub's NATS user may publish only its own devices' subjects
    (docs/security.md). hub1's bridge carries its garment tg-p1 and a
    garment of hub2's, tg-p2: the server refuses tg-p2's subjects, the
    bridge says so once per subject with the server's words, stores none
    of tg-p2 and all of tg-p1 once, counts the refused messages (denied)
    and exits 1; hub1 cannot create the stream either."""
    with Run() as run:
        srv = NatsServer(run, "acl", extra=(
            "authorization { users: [\n"
            '  { user: admin, password: "admin-pw" }\n  ' + HUB_ACL % ("hub1", "hub1", "tg-p1", "hub1")
            + "  " + HUB_ACL % ("hub2", "hub2", "tg-p2", "hub2") + "] }\n"))
        srv.wait_ready()
        admin = "nats://admin:admin-pw@127.0.0.1:%d" % srv.port
        pw = run.path("hub1.pass")
        with open(pw, "w") as f:
            f.write("hub1:hub1-pw\n")
        os.chmod(pw, 0o600)
        refused(run, ["--nats", srv.url, "--user-file", pw, "--create-stream", "--sub",
                      run.ep("nothing")], "cannot create stream DW")
        bridged(bridge(run, [admin], [run.ep("nothing")]))  # the stream, made by the fleet's admin
        g1, _, pub1 = garment(run, "tg-p1", "--frames", "300", "--rate", "100")
        g2, _, pub2 = garment(run, "tg-p2", "--frames", "300", "--rate", "100")
        b = bridge(run, [srv.url], [pub1, pub2], "--user-file", pw, "--ack-wait", "1000")
        sent = summary(g1)["samples"]
        summary(g2)
        wait_for(lambda: samples_in(run, admin, "tg-p1") >= sent, 30, "tg-p1's samples stored",
                 step=0.3)
        b.wait_log(r'refuses this user.s publish \(Permissions Violation for Publish to '
                   r'"dw\.p\.\d+\.frame\.tg-p2"\)', timeout=20)
        b.send_signal(signal.SIGTERM)
        c = json.loads(b.expect("bridged: ", timeout=30))
        print("bridge counters:", c)
        check(b.wait(30) == 1, "bridge exit %s after refused messages" % b.returncode)
        err = b.err_text()
        print(err.strip())
        check(re.search(r"\d+ message\(s\) refused by the NATS server", err),
              "no count of the refused messages at the end")
        check(len(re.findall("Permissions Violation for Publish to", err)) ==
              len(set(re.findall(r'Publish to "([^"]+)"', err))), "a subject refused twice")
        check(c["denied"] > 0 and c["pending"] == 0, "counters: %s" % c)
        by_dev = stored(run, admin)
        check("tg-p2" not in by_dev, "hub2's garment stored by hub1")
        check_once(by_dev, "tg-p1", sent)


CUT_S = 60


def messages(srv, stream):
    st = srv.stream_state(stream)
    return st["messages"] if st else 0


def fleet_held(fleet):
    """The FLEET messages every one of the fleet's replicas holds."""
    return min(messages(f, "FLEET") for f in fleet)


def leaf_conns(srv):
    """/leafz's count of leaf connections, None while it does not answer."""
    j = srv.monitor("/leafz")
    return j.get("leafnodes", 0) if j else None


def netns_world(run):
    """The hub and the fleet as two hosts: namespaces joined by a veth pair,
    the hub 10.232.0.1 on hub0, the fleet 10.232.0.2; the fleet's 3-server
    cluster (domain fleet, leaf connections on its host address) and the
    hub's nats-server (domain hub1, its leaf remote to any of the three,
    denying dw.>). (hub namespace, hub server, fleet servers) once the leaf
    is up."""
    if not netns_usable():
        skip("no network namespaces here (needs root, unshare, nsenter, ip)")
    hub_ns, fleet_ns = Netns(run, 600), Netns(run, 600)
    veth_pair(hub_ns, fleet_ns, "10.232.0", ("hub0", "fleet0"))
    leaf_ports = [free_port(fleet_ns) for _ in range(3)]
    fleet = cluster(run, domain="fleet", netns=fleet_ns, host="10.232.0.2",
                    extra=lambda i: "leafnodes { listen: 10.232.0.2:%d }\n" % leaf_ports[i])
    hub = NatsServer(run, "hub", domain="hub1", netns=hub_ns, extra=(
        'leafnodes { remotes: [ { urls: [%s], '
        'deny_exports: ["dw.>"], deny_imports: ["dw.>"] } ] }\n'
        % ", ".join('"nats-leaf://10.232.0.2:%d"' % p for p in leaf_ports)))
    hub.wait_ready()
    wait_for(lambda: sum(leaf_conns(f) or 0 for f in fleet) >= 1, 30,
             "the hub's leaf connection (the fleet's /leafz)", step=0.3)
    return hub_ns, hub, fleet


def link_cut(hub_ns, hub, fleet):
    """hub0 down for CUT_S seconds, polling /jsz and /leafz throughout: DW
    grows, FLEET stays. DW's messages at the end of the cut."""
    at_cut = messages(fleet[0], "FLEET")
    hub_ns.sh("ip link set hub0 down")
    t0 = time.monotonic()
    seen = []
    lost_leaf = {}
    # the cut itself is a time to pass; what happens during it is polled
    while time.monotonic() - t0 < CUT_S:
        seen.append((time.monotonic() - t0, messages(fleet[0], "FLEET"), messages(hub, "DW")))
        for who, srvs in (("hub", [hub]), ("fleet", fleet)):
            n = [leaf_conns(f) for f in srvs]
            if who not in lost_leaf and None not in n and sum(n) == 0:
                lost_leaf[who] = "%.0f s into the cut" % (time.monotonic() - t0)
        time.sleep(0.5)
    hub_ns.sh("ip link set hub0 up")
    late = [f for t, f, _ in seen if t >= 5]
    check(late and max(late) == min(late),
          "FLEET still changed 5 s into the cut: %s" % sorted(set(late)))
    print("cut %.1f s: FLEET %d messages at the cut, %d during it; DW %d -> %d; the "
          "leaf connection closed by %s" % (time.monotonic() - t0, at_cut, max(late), seen[0][2],
                                           seen[-1][2], lost_leaf or "neither"))
    check(seen[-1][2] - seen[0][2] >= CUT_S - 5,
          "the hub's DW took %d messages during a %d s cut" % (seen[-1][2] - seen[0][2], CUT_S))
    return seen[-1][2]


@case(timeout=300, parallel=False)
def leaf_netns_link_cut():
    """The hub (its leaf nats-server with JetStream domain hub1, the test
    garment, acquire, the bridge) and the fleet's 3-server cluster on two
    hosts: network namespaces joined by a veth pair. The fleet's stream
    FLEET (replicas 3) sources the hub's DW through $JS.hub1.API. The hub's end of the link
    goes down for a minute (ip link set hub0 down) while the garment
    streams: FLEET takes nothing during the cut, the hub's DW takes every
    garment-second; once the link is up again FLEET catches up on every
    replica, and in the end both hold every frame exactly once and the bridge has nothing
    pending. Waits poll /jsz and /leafz; the minute is a time to pass."""
    t_case = time.monotonic()
    with Run() as run:
        hub_ns, hub, fleet = netns_world(run)
        dev = "tg-n1"
        # 20 Hz for 110 s: streams before, through and after the cut
        g = run.spawn(hub_ns.argv("testgarment", "--hold-ms", "200000", "--device", dev,
                                  "--frames", "2200", "--rate", "20"))
        pty = g.expect("pty: ")
        pub, ev = run.ep(dev + "-pub"), run.ep(dev + "-ev")
        a = run.spawn(hub_ns.argv("ductwatch-acquire", "--port", pty, "--pub", pub,
                                  "--events", ev))
        check(a.expect("pub: ") == pub and a.expect("events: ") == ev, "acquire's lines")
        b = bridge(run, [hub.url], [pub], wrap=hub_ns.argv)
        p = run.run(fleet[0].netns.argv("natscheck", "source", fleet[0].url, "FLEET", "DW",
                                        "hub1", "3"))
        check(p.returncode == 0, "the fleet's sourcing stream: %s" % p.stderr.strip())
        wait_for(lambda: fleet_held(fleet) >= 10, 30, "10 messages sourced into FLEET",
                 step=0.3)
        dw_at_up = link_cut(hub_ns, hub, fleet)
        t_up = time.monotonic()
        wait_for(lambda: (leaf_conns(hub) or 0) >= 1, 60, "the hub's leaf connection again",
                 step=0.3)
        print("the hub's /leafz has the leaf %.1f s after the link came back"
              % (time.monotonic() - t_up))
        wait_for(lambda: fleet_held(fleet) >= dw_at_up, 120,
                 "FLEET's replicas holding the %d messages DW held when the link came back"
                 % dw_at_up, step=0.3)
        caught_up = time.monotonic() - t_up
        sent = summary(g, timeout=120)["samples"]
        c = bridged(b)
        dw = messages(hub, "DW")
        wait_for(lambda: fleet_held(fleet) >= dw, 60, "FLEET's replicas holding all %d" % dw,
                 step=0.3)
        print("FLEET held what DW held at the link's return %.1f s after it; everything "
              "%.1f s after it (the garment ended in between)"
              % (caught_up, time.monotonic() - t_up))
        check(c["pending"] == 0 and c["acked"] == c["published"], "unacked: %s" % c)
        check_once(stored(run, hub.url, netns=hub_ns), dev, sent)
        check_once(stored(run, fleet[0].url, "FLEET", netns=fleet[0].netns), dev, sent)
        held = [messages(f, "FLEET") for f in fleet]
        check(held == [dw] * 3, "FLEET's replicas hold %s messages, DW %d" % (held, dw))
    print("case wall time %.1f s, load average %s" % (time.monotonic() - t_case,
                                                     open("/proc/loadavg").read().strip()))


if __name__ == "__main__":
    dwtest.main()
