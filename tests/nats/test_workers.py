#!/usr/bin/python3
"""Fleet workers on a real nats-server (docs/operations.md): a load
generator (many garments on one ZeroMQ endpoint), ductwatch-bridge into
JetStream with 4 partitions, and per partition a ductwatch-record and a
ductwatch-detect started with --nats URL --partition K. Read back with
h5py: every frame lands in the files of exactly one record worker (its
device's partition), exactly once, with no gap counted; a record worker
killed with -9 mid-run and started again loses nothing and writes nothing
twice. The tests wait for the server's own account of the consumers
(/jsz), never for a time to pass."""
import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import dwtest  # noqa: E402
from dwtest import Run, case, check, wait_for  # noqa: E402
from dwtest.natsrv import NatsServer, cluster, fnv1a32  # noqa: E402
from dwtest.record import Recorder, recover  # noqa: E402

PARTS = 4


def loadgen(run, devices, seconds, rate=10):
    """N garments on one endpoint, waiting for the bridge: (proc, endpoint)."""
    ep = run.ep("loadgen")
    p = run.spawn(["loadgen", "--pub", ep, "--devices", str(devices), "--rate", str(rate),
                   "--duration", "%ds" % seconds, "--linger", "1s"])
    check(p.expect("pub: ", timeout=20) == ep, "loadgen's pub: line")
    return p, ep


def loadgen_done(p, timeout):
    """Per garment: the frames it sent (HELLO included)."""
    line = p.until(r"^loadgen: ", timeout)
    m = re.search(r"\((\d+) per garment\)", line)
    check(m and "0 refused" in line and p.wait(10) == 0, "loadgen: %s" % line)
    return int(m.group(1))


def bridge_end(b):
    """The bridge stopped: its open garment-seconds published and acked."""
    b.send_signal(signal.SIGTERM)
    b.until(r"^bridged: ", 30)
    check(b.wait(30) == 0, "bridge exit %s: %s" % (b.returncode, b.err_text()[-300:]))


def bridge(run, url, ep, *extra):
    b = run.spawn(["ductwatch-bridge", "--nats", url, "--create-stream", "--partitions",
                   str(PARTS), "--name", "hub1", "--sub", ep, *extra])
    check(b.expect("nats: ", timeout=20) == url, "bridge's nats: line")
    return b


def recorder(run, url, k, *extra):
    r = Recorder(run, [], dir=run.path("rec%d" % k),
                 extra=["--nats", url, "--partition", str(k), "--layout", "session",
                        "--ack-wait", "4000", "-v", *extra])
    line = r.p.expect("nats: ", timeout=20)
    check(line.split()[1] == "record-p%d" % k, "record's nats: line %r" % line)
    return r, line


def detector(run, url, k):
    d = run.spawn(["ductwatch-detect", "--nats", url, "--partition", str(k), "-v"])
    line = d.expect("nats: ", timeout=20)
    check(line.split()[1] == "detect-p%d" % k, "detect's nats: line %r" % line)
    return d


def consumers(*servers):
    """name -> the consumer's detail (/jsz?consumers=true) as its leader
    reports it (in a cluster, a follower's copy may lag)."""
    out = {}
    for srv in servers:
        if srv.proc.poll() is not None:
            continue
        j = srv.monitor("/jsz?consumers=true") or {}
        for acc in j.get("account_details") or []:
            for st in acc.get("stream_detail") or []:
                for c in st.get("consumer_detail") or []:
                    leader = (c.get("cluster") or {}).get("leader")
                    if leader in (None, srv.name):
                        out[c["name"]] = c
    return out


def all_acked(names, *servers):
    """Every consumer named has nothing left to deliver and nothing un-acked."""
    cs = consumers(*servers)
    return all(n in cs and cs[n]["num_pending"] == 0 and cs[n]["num_ack_pending"] == 0
               for n in names)


def stream_messages(srv):
    j = srv.monitor("/jsz?streams=true") or {}
    for acc in j.get("account_details") or []:
        for st in acc.get("stream_detail") or []:
            if st["name"] == "DW":
                return st["state"]["messages"]
    return 0


def read_files(run, d):
    """device -> [stream seqs of its /frames rows] and device -> gap rows,
    over every session file in d (a file left by a killed recorder is
    recovered first)."""
    import h5py
    seqs, gaps = {}, {}
    for name in sorted(os.listdir(d)):
        if not name.endswith(".h5"):
            continue
        path = os.path.join(d, name)
        try:
            f = h5py.File(path, "r", libver="latest", swmr=True)
        except OSError:
            recover(run, path)
            f = h5py.File(path, "r")
        with f:
            dev = f.attrs["device_id"]
            dev = dev.decode() if isinstance(dev, bytes) else str(dev)
            seqs.setdefault(dev, []).extend(int(s) for s in f["frames/seq"][:])
            ev = f["events"][:] if "events" in f else []
            kinds = [e["kind"] for e in ev] if len(ev) else []
            gaps[dev] = gaps.get(dev, 0) + sum(1 for k in kinds
                                               if (k.decode() if isinstance(k, bytes) else k)
                                               == "gap")
    return seqs, gaps


def check_exactly_once(run, per_dev, devices):
    """Every garment's samples (seq 2..per_dev) in its own partition's
    worker files, each once, no gap row anywhere."""
    seen = {}
    for k in range(PARTS):
        seqs, gaps = read_files(run, run.path("rec%d" % k))
        for dev, s in seqs.items():
            check(fnv1a32(dev) % PARTS == k, "%s recorded by worker %d, its partition is %d"
                  % (dev, k, fnv1a32(dev) % PARTS))
            check(dev not in seen, "%s recorded by two workers" % dev)
            check(len(s) == len(set(s)), "%s: %d frames written twice"
                  % (dev, len(s) - len(set(s))))
            check(set(s) == set(range(2, per_dev + 1)), "%s: %d of %d samples, missing %s"
                  % (dev, len(set(s)), per_dev - 1,
                     sorted(set(range(2, per_dev + 1)) - set(s))[:10]))
            check(gaps.get(dev, 0) == 0, "%s: %d gap rows" % (dev, gaps[dev]))
            seen[dev] = k
    check(len(seen) == devices, "%d of %d garments recorded" % (len(seen), devices))
    return seen


def fleet(run, devices, seconds):
    srv = NatsServer(run, "n0")
    srv.wait_ready()
    lg, ep = loadgen(run, devices, seconds)
    b = bridge(run, srv.url, ep)
    return srv, lg, b


@case(timeout=90)
def four_partitions():
    """40 garments at 10 Hz for 8 s through one bridge, 4 record and 4
    detect workers: every frame in exactly one record worker's files (its
    device's partition), once, no gap; every consumer acked everything."""
    with Run() as run:
        devices, seconds = 40, 8
        srv, lg, b = fleet(run, devices, seconds)
        recs = [recorder(run, srv.url, k)[0] for k in range(PARTS)]
        dets = [detector(run, srv.url, k) for k in range(PARTS)]
        per_dev = loadgen_done(lg, seconds + 40)
        bridge_end(b)
        names = ["record-p%d" % k for k in range(PARTS)] + ["detect-p%d" % k
                                                           for k in range(PARTS)]
        t = time.monotonic()
        wait_for(lambda: stream_messages(srv) > 0 and all_acked(names, srv), 40,
                 "every consumer acked all (/jsz)", step=0.3)
        print("all acked %.1f s after loadgen ended; stream holds %d messages"
              % (time.monotonic() - t, stream_messages(srv)))
        for p in recs:
            check(p.stop() == 0, "record exit: %s" % p.err[-400:])
        for d in dets:
            check(d.stop() == 0, "detect exit: %s" % d.err_text()[-400:])
            check(re.search(r"detect-p\d: \d+ messages", d.err_text()),
                  "detect's counters line")
        seen = check_exactly_once(run, per_dev, devices)
        print("per partition:", [sum(1 for k in seen.values() if k == p) for p in range(PARTS)])


@case(timeout=120)
def record_killed():
    """A record worker killed with -9 mid-run (after it flushed and acked
    some) and started again: it resumes from its durable consumer; over the
    old and the new files nothing is lost and nothing is written twice."""
    with Run() as run:
        devices, seconds = 24, 14
        srv, lg, b = fleet(run, devices, seconds)
        recs = {k: recorder(run, srv.url, k)[0] for k in range(PARTS)}
        victim = max(range(PARTS), key=lambda k: sum(1 for i in range(devices)
                                                      if fnv1a32("g%05d" % i) % PARTS == k))
        wait_for(lambda: (consumers(srv).get("record-p%d" % victim) or {})
                 .get("ack_floor", {}).get("stream_seq", 0) > 50, 40,
                 "record-p%d acked some (/jsz)" % victim, step=0.2)
        recs[victim].p.kill()
        check(recs[victim].p.wait(10) == -signal.SIGKILL, "not killed")
        held = consumers(srv)["record-p%d" % victim]["num_ack_pending"]
        r2, line = recorder(run, srv.url, victim)
        check(line.endswith("(resumed)"), "the new worker did not resume: %r" % line)
        per_dev = loadgen_done(lg, seconds + 40)
        bridge_end(b)
        names = ["record-p%d" % k for k in range(PARTS)]
        wait_for(lambda: all_acked(names, srv), 60, "every consumer acked all (/jsz)",
                 step=0.3)
        for k, p in recs.items():
            if k != victim:
                check(p.stop() == 0, "record exit: %s" % p.err[-400:])
        check(r2.stop() == 0, "restarted record exit: %s" % r2.err[-400:])
        m = re.search(r"record-p\d: (\d+) messages \((\d+) redelivered\)", r2.err)
        check(m, "restarted worker's counters: %s" % r2.err[-400:])
        print("killed with %d un-acked; the new worker took %s messages, %s redelivered"
              % (held, m.group(1), m.group(2)))
        check_exactly_once(run, per_dev, devices)


@case(timeout=150, parallel=False)
def cluster_300():
    """A 3-server cluster (stream replicas 3), 300 garments at 10 Hz through
    one bridge, 4 record and 4 detect workers; one nats-server killed with
    -9 mid-run: the stream and the consumers go on on the other two, and
    every frame lands in exactly one record worker's files, once.
    Known to fail (docs/operations.md, "Not built yet"): garment-seconds
    in flight when the consumer's leader died come again only after the
    ack wait, after newer ones, and are dropped as repeats. Run with
    DW_NATS_CLUSTER_WORKERS=1 until that is handled."""
    if os.environ.get("DW_NATS_CLUSTER_WORKERS") != "1":
        dwtest.skip("known to lose a garment-second when a consumer leader dies "
                    "(docs/operations.md); DW_NATS_CLUSTER_WORKERS=1 runs it")
    with Run() as run:
        devices, seconds = 300, 12
        servers = cluster(run)
        url = ",".join(s.url for s in servers)
        lg, ep = loadgen(run, devices, seconds)
        b = bridge(run, url, ep, "--replicas", "3", "--ack-wait", "2000")
        recs = [recorder(run, url, k)[0] for k in range(PARTS)]
        dets = [detector(run, url, k) for k in range(PARTS)]
        wait_for(lambda: (consumers(*servers).get("record-p0") or {})
                 .get("ack_floor", {}).get("stream_seq", 0) > 100, 60,
                 "record-p0 acked some (/jsz)", step=0.3)
        servers[2].kill()
        per_dev = loadgen_done(lg, seconds + 60)
        bridge_end(b)
        names = ["record-p%d" % k for k in range(PARTS)] + ["detect-p%d" % k
                                                           for k in range(PARTS)]
        t = time.monotonic()
        wait_for(lambda: all_acked(names, *servers), 60, "every consumer acked all (/jsz)",
                 step=0.5)
        print("all acked %.1f s after the bridge ended, one server down"
              % (time.monotonic() - t))
        for p in recs:
            check(p.stop() == 0, "record exit: %s" % p.err[-400:])
        for d in dets:
            check(d.stop() == 0, "detect exit: %s" % d.err_text()[-400:])
        seen = check_exactly_once(run, per_dev, devices)
        print("per partition:", [sum(1 for k in seen.values() if k == p) for p in range(PARTS)])


if __name__ == "__main__":
    dwtest.main()
