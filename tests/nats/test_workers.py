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
import json
import os
import re
import signal
import sys
import time

import zmq

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import dwtest  # noqa: E402
from dwtest import Run, case, check, wait_for  # noqa: E402
from dwtest.garment import acquire, testgarment  # noqa: E402
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


def recorder(run, url, k, *extra, layout="session", env=None):
    r = Recorder(run, [], dir=run.path("rec%d" % k), env=env,
                 extra=["--nats", url, "--partition", str(k), "--layout", layout,
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
            if not os.path.exists(path):
                continue  # empty: killed as it created the file (--recover removes it)
            f = h5py.File(path, "r")
        with f:
            if "devices" in f:
                read_fleet_file(f, seqs, gaps)
                continue
            dev = text(f.attrs["device_id"])
            seqs.setdefault(dev, []).extend(int(s) for s in f["frames/seq"][:])
            ev = f["events"][:] if "events" in f else []
            gaps[dev] = gaps.get(dev, 0) + sum(1 for e in ev if text(e["kind"]) == "gap")
    return seqs, gaps


def text(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def read_fleet_file(f, seqs, gaps):
    """read_files for a fleet file (docs/storage.md section 11): the rows
    of many garments, each with its /devices index."""
    ids = [text(i) for i in f["devices"]["device_id"]]
    seq = f["frames/seq"][:]  # extended last: its length is the rows'
    for d, s in zip(f["frames/device"][:len(seq)], seq):
        seqs.setdefault(ids[d], []).append(int(s))
    for e in f["events"][:]:
        if text(e["kind"]) == "gap":
            gaps[ids[e["device"]]] = gaps.get(ids[e["device"]], 0) + 1


def check_exactly_once(run, per_dev, devices):
    """Every garment's samples (seq 2..per_dev) in its own partition's
    worker files, each once, no gap row anywhere."""
    seen = {}
    files = [read_files(run, run.path("rec%d" % k)) for k in range(PARTS)]
    want = set(range(2, per_dev + 1))
    lost = sum(len(want - set(s)) for seqs, _ in files for s in seqs.values())
    lost += (devices - sum(len(seqs) for seqs, _ in files)) * len(want)
    print("frames lost: %d of %d; written twice: %d; gap rows: %d"
          % (lost, devices * len(want),
             sum(len(s) - len(set(s)) for seqs, _ in files for s in seqs.values()),
             sum(sum(g.values()) for _, g in files)))
    for k in range(PARTS):
        seqs, gaps = files[k]
        for dev, s in seqs.items():
            check(fnv1a32(dev) % PARTS == k, "%s recorded by worker %d, its partition is %d"
                  % (dev, k, fnv1a32(dev) % PARTS))
            check(dev not in seen, "%s recorded by two workers" % dev)
            check(len(s) == len(set(s)), "%s: %d frames written twice"
                  % (dev, len(s) - len(set(s))))
            check(set(s) == set(range(2, per_dev + 1)), "%s: %d of %d samples, missing %s"
                  % (dev, len(set(s)), per_dev - 1,
                     sorted(set(range(2, per_dev + 1)) - set(s))[:10]))
            check(gaps.get(dev, 0) == 0, "%s: %d gap rows" % (dev, gaps.get(dev, 0)))
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


def resume_and_finish(run, srv, lg, b, recs, victim, seconds, layout="session"):
    """Starts record-p<victim> again (it must resume), lets the load end and
    every record consumer ack everything, stops the workers: the new worker
    and the frames each garment sent."""
    r2, line = recorder(run, srv.url, victim, layout=layout)
    check(line.endswith("(resumed)"), "the new worker did not resume: %r" % line)
    per_dev = loadgen_done(lg, seconds + 40)
    bridge_end(b)
    names = ["record-p%d" % k for k in range(PARTS)]
    wait_for(lambda: all_acked(names, srv), 60, "every consumer acked all (/jsz)", step=0.3)
    for k, p in recs.items():
        if k != victim:
            check(p.stop() == 0, "record exit: %s" % p.err[-400:])
    check(r2.stop() == 0, "restarted record exit: %s" % r2.err[-400:])
    return r2, per_dev


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
        r2, per_dev = resume_and_finish(run, srv, lg, b, recs, victim, seconds)
        m = re.search(r"record-p\d: (\d+) messages \((\d+) redelivered\)", r2.err)
        check(m, "restarted worker's counters: %s" % r2.err[-400:])
        print("killed with %d un-acked; the new worker took %s messages, %s redelivered"
              % (held, m.group(1), m.group(2)))
        check_exactly_once(run, per_dev, devices)


def killack_env(run, at):
    """The environment of a record worker that kills itself when it is
    about to send its at-th ack (tests/nats/killack.c)."""
    env = dict(run.env)
    env["LD_PRELOAD"] = os.path.join(os.environ["DW_BUILD_ROOT"], "tests", "nats", "killack.so")
    env["DW_KILLACK_AT"] = str(at)
    # an ASan build wants its runtime first; the preloaded library is ahead
    env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS"),
                                                 "verify_asan_link_order=0"]))
    return env


def killed_at_ack(layout):
    """A record worker (layout) killed after the HDF5 flush that holds some
    rows and before its acks for them reach the server (it kills itself as
    it is about to send its third batch of acks): the server delivers those
    messages again to the restarted worker, which finds them in the killed
    worker's files and leaves them out. Over the old and the new files
    nothing is lost and nothing is written twice."""
    with Run() as run:
        devices, seconds = 24, 14
        srv, lg, b = fleet(run, devices, seconds)
        recs = {k: recorder(run, srv.url, k, layout=layout)[0] for k in range(1, PARTS)}
        recs[0], _ = recorder(run, srv.url, 0, layout=layout, env=killack_env(run, 3))
        check(recs[0].p.wait(40) == -signal.SIGKILL,
              "record-p0 did not die at its 3rd batch of acks")
        held = consumers(srv)["record-p0"]["num_ack_pending"]
        check(held > 0, "record-p0 died with nothing un-acked")
        r2, per_dev = resume_and_finish(run, srv, lg, b, recs, 0, seconds, layout)
        check_exactly_once(run, per_dev, devices)
        m = re.search(r"record-p0: (\d+) messages \((\d+) redelivered\).*?(\d+) already on disk",
                      r2.err)
        check(m, "restarted worker's counters: %s" % r2.err[-400:])
        print("killed at its 3rd batch of acks with %d un-acked; the new worker took %s messages, %s "
              "redelivered, %s parts already on disk" % (held, m.group(1), m.group(2), m.group(3)))
        check(int(m.group(3)) > 0, "no redelivered part was found on disk")


@case(timeout=120)
def record_killed_at_ack():
    """killed_at_ack with a session file per garment."""
    killed_at_ack("session")


@case(timeout=120)
def record_killed_at_ack_fleet():
    """killed_at_ack with fleet files (the killed worker's and the new
    one's: the new worker reads what the killed one's holds last)."""
    killed_at_ack("fleet")


@case(timeout=150, parallel=False)
def cluster_300():
    """A 3-server cluster (stream replicas 3), 300 garments at 10 Hz through
    one bridge, 4 record and 4 detect workers; one nats-server killed with
    -9 mid-run (the leader of most record consumers): the stream and the
    consumers go on on the other two, and
    every frame lands in exactly one record worker's files, once.
    Garment-seconds in flight when a consumer's leader died come again
    only after the ack wait, after newer ones: the workers hold the newer
    ones back until they come (natsio/jssub.h)."""
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
        # the server that leads most record consumers: what was on its way
        # from it to their workers comes again only after the ack wait
        leaders = [((consumers(*servers).get("record-p%d" % k) or {}).get("cluster") or {})
                   .get("leader") for k in range(PARTS)]
        victim = max(servers, key=lambda srv: leaders.count(srv.name))
        print("killing %s, leader of %d of %d record consumers"
              % (victim.name, leaders.count(victim.name), PARTS))
        victim.kill()
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
        holes = [hole_counters(p.err) for p in recs]
        redelivered = [re.search(r"\((\d+) redelivered\)", p.err) for p in recs]
        print("record workers: redelivered %s; waited for a hole, holes given up: %s"
              % ([int(m.group(1)) if m else None for m in redelivered], holes))
        seen = check_exactly_once(run, per_dev, devices)
        print("per partition:", [sum(1 for k in seen.values() if k == p) for p in range(PARTS)])


def hole_counters(err):
    """(messages that waited for a hole, holes given up) from a worker's
    counters line."""
    m = re.search(r"(\d+) waited for a hole, (\d+) holes given up", err)
    check(m, "counters line with holes: %s" % err[-400:])
    return int(m.group(1)), int(m.group(2))


def one_garment_reordered(run, move):
    """One garment's 8 s through the bridge into JetStream, then the
    stream written again with its third garment-second moved behind the
    two after it (move True: as a redelivery after the ack wait comes) or
    left out (move False: it never comes). Then a record worker for its
    partition (ack wait 1 s) takes it all: (recorder, per_dev, dir,
    seconds from its start to everything acked)."""
    srv = NatsServer(run, "n0")
    srv.wait_ready()
    lg, ep = loadgen(run, 1, 8)
    b = bridge(run, srv.url, ep)
    per_dev = loadgen_done(lg, 40)
    bridge_end(b)
    p = run.run(["natscheck", "dump", srv.url, "DW"])
    check(p.returncode == 0, "natscheck dump: %s" % p.stderr)
    msgs = [json.loads(line) for line in p.stdout.splitlines()]
    frames = [i for i, m in enumerate(msgs) if ".frame." in m["subject"]]
    check(len(frames) >= 6, "%d frame messages for 8 s" % len(frames))
    third = msgs.pop(frames[2])
    if move:
        msgs.insert(frames[4], third)  # after the 4th and 5th (indices shifted by the pop)
    p = run.run(["natscheck", "republish", srv.url, "DW"],
                input="".join("%s %s\n" % (m["subject"], m["data"]) for m in msgs))
    check(p.returncode == 0, "natscheck republish: %s" % p.stderr)
    k = fnv1a32("g00000") % PARTS
    t = time.monotonic()
    r, _ = recorder(run, srv.url, k, "--ack-wait", "1000")
    wait_for(lambda: all_acked(["record-p%d" % k], srv) and
             (consumers(srv)["record-p%d" % k]["delivered"]["stream_seq"] >= len(msgs)), 30,
             "record-p%d acked all (/jsz)" % k, step=0.1)
    took = time.monotonic() - t
    check(r.stop() == 0, "record exit: %s" % r.err[-400:])
    return r, per_dev, run.path("rec%d" % k), took


@case(timeout=60)
def second_redelivered_late():
    """A garment-second that JetStream delivers after the two that follow
    it (what a redelivery after a consumer leader's death does): the
    worker holds those two back until it comes; every frame is recorded
    once, in order, no gap row."""
    with Run() as run:
        r, per_dev, d, took = one_garment_reordered(run, True)
        seqs, gaps = read_files(run, d)
        s = seqs.get("g00000", [])
        print("%d of %d frames, %d gap rows, acked after %.1f s; waited, given up: %s"
              % (len(s), per_dev - 1, gaps.get("g00000", 0), took, hole_counters(r.err)))
        check(s == list(range(2, per_dev + 1)), "frames not all once in order: missing %s"
              % sorted(set(range(2, per_dev + 1)) - set(s))[:20])
        check(gaps.get("g00000", 0) == 0, "gap rows: %d" % gaps.get("g00000", 0))
        check(hole_counters(r.err) == (2, 0), "the two later seconds did not wait once each")


@case(timeout=60)
def second_never_comes():
    """A garment-second missing from JetStream for good: the worker waits
    2 ack waits for it, then records what followed and counts the gap
    (one gap row, the missing frames one run), never silently."""
    with Run() as run:
        r, per_dev, d, took = one_garment_reordered(run, False)
        seqs, gaps = read_files(run, d)
        s = seqs.get("g00000", [])
        missing = sorted(set(range(2, per_dev + 1)) - set(s))
        print("%d of %d frames, missing %s, %d gap rows, acked after %.1f s; waited, given "
              "up: %s" % (len(s), per_dev - 1, missing, gaps.get("g00000", 0), took,
                          hole_counters(r.err)))
        check(len(s) == len(set(s)) and s == sorted(s), "frames repeated or out of order")
        check(5 <= len(missing) <= 15 and missing == list(range(missing[0], missing[-1] + 1)),
              "not one garment-second missing: %s" % missing)
        check(gaps.get("g00000", 0) == 1, "gap rows: %d, want 1" % gaps.get("g00000", 0))
        check(hole_counters(r.err)[1] == 1, "holes given up: %s" % (hole_counters(r.err),))
        check(took >= 2.0, "acked after %.1f s: the hole was not waited for" % took)


ALERT_LINE = re.compile(r"^ductwatch-detect: info: (\S+) ([A-Z]\d) (L\d) (raised|updated|cleared) "
                        r"zone (-?\d+): ", re.M)


def printed_alerts(d, device):
    """(rule, level, state, zone) of every alert detect logged (-v) for device."""
    return [m.groups()[1:] for m in ALERT_LINE.finditer(d.err_text()) if m.group(1) == device]


def file_alerts(run, d, device):
    """(rule, level, state, zone, side, t_device_us, id) of every /alerts row of
    device over the files in d: session files (the garment's own) and fleet
    files (/alerts rows whose device column names it in /devices)."""
    import h5py

    def text(v):
        return v.decode() if isinstance(v, bytes) else str(v)
    rows = []
    for name in sorted(os.listdir(d)):
        if not name.endswith(".h5"):
            continue
        with h5py.File(os.path.join(d, name), "r") as f:
            if "devices" in f:
                ids = {int(r["index"]): text(r["device_id"]) for r in f["devices"][:]}
                mine = [r for r in f["alerts"][:] if ids[int(r["device"])] == device]
            else:
                mine = list(f["alerts"][:]) if text(f.attrs["device_id"]) == device else []
            rows += [(text(r["rule"]), text(r["level"]), text(r["state"]), str(int(r["zone"])),
                      text(r["side"]), int(r["t_device_us"]), int(r["id"])) for r in mine]
    return rows


def alert_messages(run, url, k, device):
    """The Nats-Msg-Ids of the alert messages the stream holds for device."""
    p = run.run(["natscheck", "dump", url, "DW"])
    check(p.returncode == 0, "natscheck dump: %s" % p.stderr)
    subject = "dw.p.%d.alert.%s" % (k, device)
    return [m["id"] for m in map(json.loads, p.stdout.splitlines()) if m["subject"] == subject]


def thermometer_once_detect_runs(run, events, srv, k):
    """A REQ socket to acquire's events endpoint for thermometer(), once
    the detect worker of partition k has taken frames (/jsz)."""
    req = run.ctx.socket(zmq.REQ)
    req.setsockopt(zmq.LINGER, 0)
    req.setsockopt(zmq.RCVTIMEO, 5000)
    req.connect(events)
    wait_for(lambda: (consumers(srv).get("detect-p%d" % k) or {}).get("ack_floor", {})
             .get("stream_seq", 0) > 3, 20, "frames at detect-p%d (/jsz)" % k)
    return req


def thermometer(req, celsius):
    req.send(json.dumps({"kind": "thermometer", "side": "none", "value": celsius}).encode())
    reply = json.loads(req.recv())
    check(reply.get("ok"), "acquire took no thermometer reading: %r" % reply)


def fever_through_fleet(layout):
    """A garment on a real acquire (hub) whose wearer logs 38.4 C, 39.0 C,
    then 36.8 C: hub -> bridge -> JetStream -> the detect worker of its
    partition raises G2, updates it (L3) and clears it -> the alerts on
    JetStream -> the record worker -> /alerts rows of that garment's file
    (layout), the rule, level, state and zone detect printed, each once.
    Then the detect worker is killed with -9 and its durable consumer
    deleted, so the next worker takes the whole partition again and sends
    the three alerts again: the stream drops them by their Nats-Msg-Id and
    nothing is stored twice."""
    with Run() as run:
        dev = "fever-01"
        k = fnv1a32(dev) % PARTS
        srv = NatsServer(run, "n0")
        srv.wait_ready()
        _, port = testgarment(run, "--values", "fixed", "--device", dev, "--rate", "10")
        _, pub, events = acquire(run, port, pub=run.ep("acq"), events=run.ep("ev"))
        b = bridge(run, srv.url, pub)
        r, _ = recorder(run, srv.url, k, layout=layout)
        d = detector(run, srv.url, k)
        req = thermometer_once_detect_runs(run, events, srv, k)
        for n, celsius in enumerate((38.4, 39.0, 36.8)):
            thermometer(req, celsius)
            wait_for(lambda: len(printed_alerts(d, dev)) > n, 20,
                     "detect's alert after %.1f C" % celsius)
        first = printed_alerts(d, dev)
        print("detect printed:", first)
        check(first[0][:3] == ("G2", "L2", "raised") and first[1][1:3] == ("L3", "updated") and
              first[2][2] == "cleared" and len(first) == 3,
              "alerts %s, want G2 raised, updated to L3, cleared" % first)
        wait_for(lambda: len(alert_messages(run, srv.url, k, dev)) >= 3, 20,
                 "the alerts in the stream")
        d.kill()
        check(d.wait(10) == -signal.SIGKILL, "detect not killed")
        p = run.run(["natscheck", "delete-consumer", srv.url, "DW", "detect-p%d" % k])
        check(p.returncode == 0, "delete-consumer: %s" % p.stderr)
        d2 = detector(run, srv.url, k)
        wait_for(lambda: len(printed_alerts(d2, dev)) >= 3, 30,
                 "the new worker raising them again")
        check(printed_alerts(d2, dev) == first, "the new worker printed %s, the first %s"
              % (printed_alerts(d2, dev), first))
        bridge_end(b)
        names = ["record-p%d" % k, "detect-p%d" % k]
        wait_for(lambda: all_acked(names, srv), 40, "both consumers acked all (/jsz)", step=0.3)
        ids = alert_messages(run, srv.url, k, dev)
        print("alert messages in the stream:", ids)
        check(r.stop() == 0, "record exit: %s" % r.err[-400:])
        check(d2.stop() == 0, "detect exit: %s" % d2.err_text()[-400:])
        rows = file_alerts(run, r.dir, dev)
        print("/alerts rows (%s layout):" % layout, rows)
        check([row[:4] for row in rows] == first, "/alerts %s, detect printed %s"
              % ([row[:4] for row in rows], first))
        check(len(ids) == 3, "%d alert messages in the stream, want 3" % len(ids))
        check(all(row[4] == "none" for row in rows), "sides %s" % [row[4] for row in rows])
        check(len({row[6] for row in rows}) == 1, "one alert, ids %s" % [row[6] for row in rows])
        m = re.search(r"alerts to JetStream: (\d+) published, (\d+) acked, (\d+) dropped",
                      d2.err_text())
        print("the new worker's alerts:", m.group(0) if m else None)
        check(m and m.group(1) == m.group(2) == m.group(3) == "3",
              "the new worker's 3 alerts not dropped as duplicates: %s" % d2.err_text()[-400:])


@case(timeout=120)
def alert_to_session_file():
    """fever_through_fleet with the record worker's session files."""
    fever_through_fleet("session")


@case(timeout=120)
def alert_to_fleet_file():
    """fever_through_fleet with the record worker's fleet file."""
    fever_through_fleet("fleet")


@case(timeout=90)
def alert_refused():
    """A detect worker whose NATS user may not publish alerts (the server's
    permissions: docs/security.md): the fever's alert is refused by the
    server; the worker logs the server's words, stops with exit 1 and
    leaves the input that raised the alert un-acked for a worker that may
    publish it, instead of acking it with the alert lost."""
    with Run() as run:
        dev = "fever-02"
        k = fnv1a32(dev) % PARTS
        srv = NatsServer(run, "acl", extra=(
            'authorization { users: [\n  { user: admin, password: "admin-pw" }\n'
            '  { user: detect, password: "detect-pw", permissions: { publish: { allow: '
            '["$JS.API.>", "$JS.ACK.>"] } } }\n] }\n'))
        srv.wait_ready()
        admin = "nats://admin:admin-pw@127.0.0.1:%d" % srv.port
        pw = run.path("detect.pass")
        with open(pw, "w") as f:
            f.write("detect:detect-pw\n")
        os.chmod(pw, 0o600)
        _, port = testgarment(run, "--values", "fixed", "--device", dev, "--rate", "10")
        _, pub, events = acquire(run, port, pub=run.ep("acq"), events=run.ep("ev"))
        b = bridge(run, admin, pub)
        d = run.spawn(["ductwatch-detect", "--nats", srv.url, "--partition", str(k),
                       "--user-file", pw, "-v"])
        d.expect("nats: ", timeout=20)
        req = thermometer_once_detect_runs(run, events, srv, k)
        thermometer(req, 38.4)
        wait_for(lambda: len(printed_alerts(d, dev)) > 0, 20, "detect's alert after 38.4 C")
        floor = consumers(srv)["detect-p%d" % k]["ack_floor"]["stream_seq"]
        t = time.monotonic()
        check(d.wait(30) == 1, "detect exit %s: %s" % (d.returncode, d.err_text()[-600:]))
        print("detect stopped %.1f s after its alert; %s" % (
            time.monotonic() - t, [ln for ln in d.err_text().splitlines()
                                   if "refuse" in ln or "alerts to JetStream" in ln]))
        check(re.search(r'refuses this user.s publish \(Permissions Violation for Publish to '
                        r'"dw\.p\.%d\.alert\.%s"\)' % (k, dev), d.err_text()),
              "no refusal logged: %s" % d.err_text()[-600:])
        check(re.search(r"alerts to JetStream: 1 published, 0 acked, .* 1 refused",
                        d.err_text()), "detect's counters: %s" % d.err_text()[-600:])
        c = consumers(srv)["detect-p%d" % k]
        print("consumer after the exit: ack floor %d (before the alert %d), %d un-acked"
              % (c["ack_floor"]["stream_seq"], floor, c["num_ack_pending"]))
        check(c["num_ack_pending"] > 0, "the alert's input was acked: %s" % c)
        check(alert_messages(run, admin, k, dev) == [], "an alert stored")
        bridge_end(b)


if __name__ == "__main__":
    dwtest.main()
