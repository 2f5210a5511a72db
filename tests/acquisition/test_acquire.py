#!/usr/bin/python3
"""ductwatch-acquire as a user runs it: real ptys (tests/lib/testgarment),
a real FIFO fed by the test's own encoder (pygarment), real ZeroMQ sockets
(pyzmq). Every case runs alone: test_acquire.py [--list] [CASE...]."""
import json
import os
import sys
import time

import zmq

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import dwtest  # noqa: E402
from dwtest import EVENT, HELLO, SAMPLE, STATUS, Stream, case, check, subscribe  # noqa: E402
from dwtest.garment import acquire, check_samples, expected_sample, summary, testgarment  # noqa: E402
from dwtest.wire import pg, wire  # noqa: E402


def sample_payload(s, n=16):
    return pg.sample_payload(*expected_sample(s, n))


def hello_payload(dev):
    return pg.hello_payload(dev, "pygarment", 100, pg.default_layout())


def sub(run):
    """A subscriber on acquire's stream, there before acquire starts."""
    return Stream(subscribe(run.ctx, run.ep("acq-pub")))


def final_stats(a, st):
    """Stops acquire (exit 0 on SIGTERM); the last stats, published on exit."""
    t0 = time.monotonic()
    check(a.stop() == 0, "acquire exited %s on SIGTERM" % a.returncode)
    print("acquire stopped in %.3f s" % (time.monotonic() - t0))
    st.quiet(0.5)
    check(st.stats is not None, "no stats received")
    return st.stats


def ask(req, obj):
    req.send(obj if isinstance(obj, bytes) else json.dumps(obj).encode())
    return json.loads(req.recv())


def requester(run, events):
    req = run.ctx.socket(zmq.REQ)
    req.setsockopt(zmq.LINGER, 0)
    req.setsockopt(zmq.RCVTIMEO, 5000)
    req.connect(events)
    return req


@case(parallel=False)
def case_stream(run):
    """A subscriber there before the garment streams, and one joining 0.5 s
    into the stream: both get everything from the very first frame, in
    order, values intact."""
    early = sub(run)
    g, pty = testgarment(run, "--frames", "300", "--rate", "200", "--wait-request",
                         "--pause-at", "100", "--pause-ms", "800")
    # acquire reads the port (and asks for the HELLO) once early is in.
    a, pub, _ = acquire(run, pty, "--wait-subscribers", "1")
    early.until(lambda: len(early.frames) >= 101, 20)
    # The garment is quiet now: the late subscriber joins between frames.
    late = Stream(subscribe(run.ctx, pub))
    n = 301
    early.until(lambda: len(early.frames) >= n, 20)
    late.until(lambda: len(late.frames) >= n, 20)
    s = summary(g)
    check(s["frames_sent"] == n, "garment sent %d" % s["frames_sent"])
    for name, st in (("early", early), ("late", late)):
        fr = st.frames
        check(len(fr) == n, "%s subscriber got %d frames, want %d" % (name, len(fr), n))
        check(st.msgs[0][0] == 1, "%s: first message has seq %d" % (name, st.msgs[0][0]))
        check(fr[0]["type"] == HELLO and fr[0]["device_seq"] == 0,
              "%s: first frame is not HELLO 0" % name)
        check(st.gaps == 0, "%s: %d stream gaps" % (name, st.gaps))
        check(fr[0]["device"] == "tg-0001", "device id")
        check(all(m["t_host_ns"] > 0 for m in fr), "t_host_ns")
        check_samples(st.frames)
    # The replay for the late subscriber reaches everybody: the early one
    # drops it by seq.
    check(early.dups > 0, "no replay seen")
    print("early subscriber dropped %d replayed duplicates" % early.dups)
    stats = final_stats(a, early)
    check(stats["frames"] == n and stats["frames_missing"] == 0, "stats %r" % stats)
    check(stats["crc_errors"] == 0 and stats["length_errors"] == 0, "stats errors %r" % stats)


@case(timeout=90, parallel=False)
def case_bulk(run):
    """100 000 frames as fast as the pty takes them: complete and in order."""
    n = 100000
    st = sub(run)
    g, pty = testgarment(run, "--frames", str(n), "--fast", "--wait-request")
    a, _, _ = acquire(run, pty, "--wait-subscribers", "1")
    t0 = time.monotonic()
    st.until(lambda: len(st.msgs) > 0, 10)
    st.until(lambda: st.max_dseq >= n, 60)
    dt = time.monotonic() - t0
    s = summary(g)
    check(len(st.frames) == n + 1, "got %d frames, want %d" % (len(st.frames), n + 1))
    check(st.gaps == 0, "%d stream gaps (%d missing)" % (st.gaps, st.missing))
    check_samples(st.frames)
    stats = final_stats(a, st)
    check(stats["frames"] == s["frames_sent"] and stats["frames_missing"] == 0,
          "stats %r" % stats)
    check(stats["zmq_dropped"] == 0, "zmq drops %r" % stats)
    print("%d frames in %.2f s: %.0f frames/s, %.1f MB/s" %
          (n + 1, dt, (n + 1) / dt, stats["bytes"] / dt / 1e6))


@case(timeout=90, parallel=False)
def case_bulk_hangup(run):
    """100 000 frames as fast as the pty takes them, then the garment hangs
    up on its own (no hold): it closes only once acquire took every byte
    (Linux drops unread input at hangup), so acquire publishes them all."""
    n = 100000
    st = sub(run)
    g, pty = testgarment(run, "--frames", str(n), "--fast", "--wait-request", hold_ms=0)
    a, _, _ = acquire(run, pty, "--wait-subscribers", "1")
    s = summary(g, timeout=90)
    check(g.wait(60) == 0, "testgarment exit %s" % g.returncode)
    st.until(lambda: st.events_of("link-down"), 30)
    check(st.events_of("link-down"), "no link-down after the hangup")
    check(len(st.frames) == n + 1, "got %d frames, want %d (the garment sent %d)"
          % (len(st.frames), n + 1, s["frames_sent"]))
    check(st.gaps == 0, "%d stream gaps (%d missing)" % (st.gaps, st.missing))
    stats = final_stats(a, st)
    check(stats["frames_missing"] == 0 and stats["crc_errors"] == 0, "stats %r" % stats)


@case(timeout=60, parallel=False)
def case_corrupt(run):
    """1 % of the bytes corrupted: nothing invalid published, and every frame
    the garment sent is either published or counted missing."""
    n = 20000
    st = sub(run)
    g, pty = testgarment(run, "--frames", str(n), "--fast", "--wait-request", "--corrupt", "0.01",
                         "--seed", "7")
    a, _, _ = acquire(run, pty, "--wait-subscribers", "1")
    s = summary(g)
    st.until(lambda: st.max_dseq >= n, 60)
    stats = final_stats(a, st)
    fr = st.frames
    check_samples(fr)
    check(st.gaps == 0, "stream gaps")
    check(stats["frames"] == len(fr), "stats frames %d, subscriber %d" % (stats["frames"], len(fr)))
    check(s["frames_sent"] == stats["frames"] + stats["frames_missing"],
          "sent %d != published %d + missing %d" % (s["frames_sent"], stats["frames"],
                                                   stats["frames_missing"]))
    gaps = st.events_of("gap")
    check(sum(int(e["missing"]) for e in gaps) == stats["frames_missing"],
          "gap events do not add up")
    check(len(gaps) == stats["device_seq_gaps"], "gap event count")
    errs = (stats["crc_errors"] + stats["length_errors"] + stats["cobs_errors"] +
            stats["version_errors"])
    check(errs > 0 and s["corrupted_frames"] > 0, "no corruption seen")
    check(stats["frames"] <= s["frames_sent"] - s["corrupted_frames"],
          "a corrupted frame got through")
    print("sent %d frames (%d corrupted, %d bytes flipped): published %d, missing %d in %d gaps; "
          "crc %d, length %d, cobs %d, version %d, resyncs %d" %
          (s["frames_sent"], s["corrupted_frames"], s["corrupted_bytes"], stats["frames"],
           stats["frames_missing"], stats["device_seq_gaps"], stats["crc_errors"],
           stats["length_errors"], stats["cobs_errors"], stats["version_errors"],
           stats["resyncs"]))


@case(parallel=False)
def case_replug(run):
    """The pty goes away and a new one appears behind the same symlink."""
    link = run.path("garment")
    st = sub(run)
    g, _ = testgarment(run, "--frames", "240", "--rate", "100", "--wait-request",
                       "--pty-link", link, "--unplug-at", "80", "--unplug-frames", "25",
                       "--unplug-ms", "400")
    a, _, _ = acquire(run, link, "--wait-subscribers", "1")
    s = summary(g)
    st.until(lambda: st.max_dseq >= s["last_dseq"], 20)
    kinds = [m["kind"] for m in st.events]
    check("link-down" in kinds and "link-up" in kinds, "events %r" % kinds)
    down = st.events_of("link-down")[0]["seq"]
    up = st.events_of("link-up")[0]["seq"]
    check(down < up, "link-up before link-down")
    after = [m for m in st.frames_of(SAMPLE) if m["seq"] > up]
    check(len(after) >= 150, "only %d samples after the replug" % len(after))
    gaps = st.events_of("gap")
    check(len(gaps) == 1 and int(gaps[0]["missing"]) == 25, "gap events %r" % gaps)
    check(all(e["source"] == "acquire" for e in st.events
              if e["kind"] in ("gap", "link-down", "link-up")), "source of host events")
    check(st.gaps == 0, "stream gaps")
    check_samples(st.frames)
    stats = final_stats(a, st)
    check(stats["reconnects"] == 1, "reconnects %r" % stats["reconnects"])
    check(s["frames_sent"] + s["lost_while_down"] == stats["frames"] + stats["frames_missing"],
          "accounting %r %r" % (s, stats))


@case(parallel=False)
def case_user_event(run):
    """A user event lands on the stream between its neighbouring frames, on
    the device time line; bad requests are refused with a reason."""
    st = sub(run)
    g, pty = testgarment(run, "--frames", "60", "--rate", "20", "--wait-request")
    a, _, events = acquire(run, pty, "--wait-subscribers", "1")
    req = requester(run, events)
    st.until(lambda: len(st.frames_of(SAMPLE)) >= 10, 10)
    time.sleep(0.013)  # somewhere between two frames
    r = ask(req, {"kind": "feed-start", "side": "left", "value": None, "text": "test feed"})
    check(r.get("ok") is True and isinstance(r.get("seq"), int), "reply %r" % r)
    r2 = ask(req, {"kind": "thermometer", "side": "none", "value": 38.2})
    check(r2.get("ok") is True and r2["seq"] > r["seq"], "reply %r" % r2)
    for bad, why in ((b"not json", "JSON"), ({"kind": "link-down"}, "acquisition"),
                     ({"kind": "nonsense"}, "kind"), ({"kind": "shower", "side": "middle"}, "side")):
        rb = ask(req, bad)
        check(rb.get("ok") is False and why in rb.get("error", ""),
              "bad request %r -> %r" % (bad, rb))
    summary(g)
    st.quiet(0.3)
    ev = st.events_of("feed-start")
    check(len(ev) == 1, "feed-start events %r" % ev)
    e = ev[0]
    check(e["seq"] == r["seq"] and e["source"] == "user" and e["side"] == "left" and
          e["text"] == "test feed" and e["value"] is None and e["device"] == "tg-0001",
          "event %r" % e)
    th = st.events_of("thermometer")
    check(len(th) == 1 and abs(th[0]["value"] - 38.2) < 1e-9, "thermometer %r" % th)
    before = [m for m in st.frames if m["seq"] < e["seq"]][-1]
    after = [m for m in st.frames if m["seq"] > e["seq"]][0]
    print("frame %d us, event %d us, frame %d us" % (before["t_device_us"], e["t_device_us"],
                                                     after["t_device_us"]))
    check(before["t_device_us"] <= e["t_device_us"] <= after["t_device_us"],
          "event time %d not between %d and %d" % (e["t_device_us"], before["t_device_us"],
                                                   after["t_device_us"]))
    stats = final_stats(a, st)
    check(stats["events_in"] == 2, "events_in %r" % stats["events_in"])


@case(parallel=False)
def case_fifo(run):
    """A FIFO fed by an independent Python encoder; before any frame, a user
    event is refused with 'no garment data yet'."""
    fifo = run.path("fifo")
    os.mkfifo(fifo)
    st = sub(run)
    a, _, events = acquire(run, fifo, "--wait-subscribers", "1")
    req = requester(run, events)
    r = ask(req, {"kind": "shower"})
    check(r == {"ok": False, "error": "no garment data yet"}, "reply %r" % r)
    data = b"\x00" + wire(HELLO, 0, 1000000, hello_payload("py-0001"))
    for s in range(1, 51):
        data += wire(SAMPLE, s, 1000000 + s * 10000, sample_payload(s))
    data += wire(EVENT, 51, 1600000, pg.event_payload(9, 1, 2500, "hi"))
    status = pg.status_payload(3900, 87, 1, 3125)
    data += wire(STATUS, 52, 1700000, status)
    with open(fifo, "wb") as f:
        f.write(data)
    st.until(lambda: len(st.frames_of(STATUS)) >= 1, 10)
    fr = st.frames
    check(len(fr) == 52 and fr[0]["device"] == "py-0001", "got %d frames" % len(fr))
    stf = st.frames_of(STATUS)[0]
    check(stf["payload"] == status and stf["device_seq"] == 52 and stf["t_device_us"] == 1700000,
          "status frame %r" % stf)
    check_samples(fr, devices=("py-0001",))
    b = st.events_of("button")[0]
    check(b["source"] == "garment" and b["side"] == "right" and b["value"] == 2.5 and
          b["text"] == "hi" and b["t_device_us"] == 1600000, "garment event %r" % b)
    stats = final_stats(a, st)
    check(stats["frames"] == 53 and stats["frames_missing"] == 0, "stats %r" % stats)


@case(parallel=False)
def case_pty_gone(run):
    """A pty named directly cannot come back: after its garment leaves,
    acquire must not open a new pty that got the same number (it would
    steal another program's bytes)."""
    st = sub(run)
    g, pty = testgarment(run, "--frames", "20", "--rate", "100", "--wait-request", hold_ms=0)
    a, _, _ = acquire(run, pty, "--wait-subscribers", "1")
    summary(g)
    g.wait(10)
    st.until(lambda: st.events_of("link-down"), 5)
    check(st.events_of("link-down"), "no link-down")
    # Linux hands out the lowest free pty number: most likely the same one.
    master, slave = os.openpty()
    try:
        same = os.ttyname(slave) == pty
        os.write(master, b"\x00" + wire(HELLO, 0, 5, hello_payload("py-0001")))
        st.quiet(1.5)
        check(not st.events_of("link-up"), "acquire reconnected to %s" % pty)
        check(all(m["device"] == "tg-0001" for m in st.frames), "read a stranger's pty")
        stats = final_stats(a, st)
        check(stats["link_up"] is False and stats["reconnects"] == 0, "stats %r" % stats)
        print("new pty %s the old number" % ("reused" if same else "did not reuse"))
    finally:
        os.close(master)
        os.close(slave)


@case()
def case_usage(run):
    def rc(*args):
        p = run.run(["ductwatch-acquire", *args], timeout=10)
        return p.returncode, p.stdout, p.stderr

    for args in ((), ("--bogus",), ("--port",), ("--port", "/dev/null", "--baud", "fast"),
                 ("--port", "/dev/null", "--baud", "0"), ("--port", "/dev/null", "--flow", "maybe"),
                 ("--port", "auto", "--usb-id", "xyz"), ("--port", "/dev/null", "extra")):
        code, out, err = rc(*args)
        check(code == 2, "%r exited %d" % (args, code))
        check(len(err.splitlines()) >= 1 and err.startswith("ductwatch-acquire: "),
              "stderr %r" % err)
    missing = run.path("ttyNOPE")
    code, out, err = rc("--port", missing)
    check(code == 1, "missing port exited %d" % code)
    check("cannot open %s: No such file or directory" % missing in err, "stderr %r" % err)
    code, out, err = rc("--port", "auto", "--usb-id", "fffe:0001")
    check(code == 1 and "no serial port with USB id fffe:0001 found" in err,
          "auto: %d %r" % (code, err))
    code, out, err = rc("--port", run.dir)
    check(code == 1 and "not a serial device" in err, "a directory as port: %d %r" % (code, err))
    code, out, err = rc("--help")
    check(code == 0 and "--port" in out and "115200" in out and "1209:d0c7" in out, "help")
    code, out, err = rc("--version")
    check(code == 0 and out.startswith("ductwatch-acquire "), "version %r" % out)
    code, out, err = rc("--list-ports")
    check(code == 0, "list-ports exited %d" % code)


if __name__ == "__main__":
    dwtest.main(fixture=dwtest.Run)
