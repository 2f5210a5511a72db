"""Odd input through acquire (issue 21, docs/reliability.md "Hostile
input"), each case one garment on a real pty:

- garment_utf8: a garment EVENT text with bytes that are not UTF-8 is
  published with U+FFFD in their place: the JSON parses, and the recorder
  stores valid UTF-8;
- user_utf8: the events endpoint refuses such a text with its reason and
  takes a valid one (accents, a check mark) unchanged;
- thermometer: readings outside 30..45 C are refused on the events endpoint
  with the reason; a garment EVENT with one is dropped and counted, and
  never reaches the stream;
- time_jump: single SAMPLEs stamped 2^64-1 and +10 years are dropped and
  counted, leave one-frame gaps, and move neither the frames' time line nor
  drift_ppm; a real clock jump is followed after 3 frames;
- time_jump_alerts: the same two SAMPLEs in a 1 Hz stream that detect and
  the recorder take from acquire: the alerts detect raises after them (S4
  from a sensor's fault bit in the samples, G2 from a garment thermometer
  EVENT) keep exact
  integer t_device_us on the time line of the file's /frames, and no S2
  (garment off) is raised for the years the bogus stamp skipped;
- gap_before_hello: frames before the first HELLO leave a gap event that a
  recorder subscribed from the start writes into the file."""
import json
import os
import struct
import sys
import time

import zmq

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import dwtest  # noqa: E402
from dwtest import Stream, case, check, subscribe  # noqa: E402
from dwtest.garment import PtyGarment, acquire  # noqa: E402
from dwtest.record import Recorder  # noqa: E402
from dwtest.wire import pg  # noqa: E402

BAD_TEXT = b"\xff\xfe \x80 \xc0\xaf \xed\xa0\x80"
FFFD = "\ufffd"


def event_payload(kind, value, text):
    return struct.pack("<BBHi", kind, 2, 0, value) + text


def sample(k):
    return pg.sample_payload([3400 + k % 50] * 16, [100] * 16, [2500, 2500], [0, 0, 1000], [0] * 16)


class Setup:
    """A pty garment, acquire on it (waiting for `subs` subscribers), a
    stream subscriber, optionally a recorder."""

    def __init__(self, t, ctx, record=False):
        self.t, self.g = t, PtyGarment()
        self.ctx = ctx
        pub = t.ep("acq-pub")
        self.st = Stream(subscribe(ctx, pub))
        self.rdir = t.path("rec")
        if record:
            self.rec = Recorder(t, [pub], extra=["-v"], dir=self.rdir)
        self.a, self.pub, self.events = acquire(t, self.g.path, "--wait-subscribers",
                                                "2" if record else "1")
        self.req = None

    def write(self, data):
        self.g.write(data)
        self.g.host_bytes()

    def ask(self, body):
        if not self.req:
            self.req = self.ctx.socket(zmq.REQ)
            self.req.setsockopt(zmq.LINGER, 0)
            self.req.setsockopt(zmq.RCVTIMEO, 5000)
            self.req.connect(self.events)
        self.req.send(body)
        return json.loads(self.req.recv())

    def finish(self):
        """Stops acquire; its final stats."""
        rc = self.a.stop()
        check(rc == 0, "acquire exit %d" % rc)
        self.st.until(lambda: self.st.stats is not None and not self.st.stats["link_up"] is None
                      and self.a.poll() is not None, 3)
        self.st.poll(500)
        if self.req:
            self.req.close()
        self.g.close()
        return self.st.stats


@case()
def test_garment_utf8(t):
    ctx = t.ctx
    s = Setup(t, ctx, record=True)
    g = s.g.g
    out = b"\x00" + g.hello(1000)
    for k in range(5):
        out += g.frame(pg.SAMPLE, 100000 * (k + 1), sample(k))
    out += g.frame(pg.EVENT, 600000, event_payload(10, 0, BAD_TEXT))
    out += g.frame(pg.EVENT, 600001, event_payload(10, 0, "douleur \u00e0 gauche".encode()))
    for k in range(5, 10):
        out += g.frame(pg.SAMPLE, 100000 * (k + 2), sample(k))
    s.write(out)
    try:
        got = s.st.until(lambda: len(s.st.frames) >= 11, 10)
    except UnicodeDecodeError as e:
        raise AssertionError("an event on the stream is not UTF-8 JSON: %s" % e)
    check(got, "got %d frames" % len(s.st.frames))
    texts = [e["text"] for e in s.st.events if e.get("source") == "garment"]
    want = FFFD * 2 + " " + FFFD + " " + FFFD * 2 + " " + FFFD * 3
    check(texts == [want, "douleur \u00e0 gauche"], "garment texts %r" % texts)
    s.rec.wait_flushed(10)   # the recorder has every frame (the events came before)
    s.finish()
    check(s.rec.stop() == 0, "record exit")
    import h5py
    files = os.listdir(s.rdir)
    check(len(files) == 1, "files %r" % files)
    with h5py.File(os.path.join(s.rdir, files[0]), "r") as f:
        ev = f["events"][:]
        stored = [bytes(r["text"]).rstrip(b"\x00") for r in ev if
                  bytes(r["source"]).rstrip(b"\x00") == b"garment"]
    check([x.decode("utf-8") for x in stored] == texts, "stored texts %r" % stored)


@case()
def test_user_utf8(t):
    ctx = t.ctx
    s = Setup(t, ctx)
    g = s.g.g
    out = b"\x00" + g.hello(1000) + g.frame(pg.SAMPLE, 100000, sample(0))
    s.write(out)
    check(s.st.until(lambda: len(s.st.frames) >= 2, 10), "no frames")
    for bad in (BAD_TEXT, b"\xc0\xaf", b"ok \xed\xa0\x80"):
        r = s.ask(b'{"kind":"symptom","text":"' + bad + b'"}')
        check(r.get("ok") is False and r.get("error") == '"text" is not valid UTF-8',
              "%r: reply %r" % (bad, r))
    good = "douleur \u00e0 gauche \u2713"
    r = s.ask(json.dumps({"kind": "symptom", "text": good}, ensure_ascii=False).encode())
    check(r.get("ok") is True, "valid UTF-8 refused: %r" % r)
    check(s.st.until(lambda: any(e.get("source") == "user" for e in s.st.events), 5),
          "the event is not on the stream")
    user = [e["text"] for e in s.st.events if e.get("source") == "user"]
    check(user == [good], "user texts on the stream %r" % user)
    s.finish()


@case()
def test_thermometer(t):
    ctx = t.ctx
    s = Setup(t, ctx)
    g = s.g.g
    out = b"\x00" + g.hello(1000)
    for k in range(3):
        out += g.frame(pg.SAMPLE, 100000 * (k + 1), sample(k))
    s.write(out)
    check(s.st.until(lambda: len(s.st.frames) >= 4, 10), "no frames")
    for v in ("1e308", "2147483.647", "29.9", "45.1", "-40"):
        r = s.ask(('{"kind":"thermometer","value":%s}' % v).encode())
        check(r.get("ok") is False and "outside 30..45 C" in r.get("error", ""),
              "thermometer %s: reply %r" % (v, r))
    r = s.ask(b'{"kind":"thermometer","value":38.2}')
    check(r.get("ok") is True, "38.2 refused: %r" % r)
    # the garment's own: int32 milli-degrees at its maximum, then a good one
    out = g.frame(pg.EVENT, 400000, event_payload(3, 2147483647, b""))
    out += g.frame(pg.EVENT, 400001, event_payload(3, 38500, b""))
    out += g.frame(pg.SAMPLE, 500000, sample(4))
    s.write(out)
    check(s.st.until(lambda: len(s.st.frames) >= 5, 10), "frames after the events")
    stats = s.finish()
    values = [e["value"] for e in s.st.events if e["kind"] == "thermometer"]
    check(values == [38.2, 38.5], "thermometer values on the stream %r" % values)
    gaps = [e["missing"] for e in s.st.events if e["kind"] == "gap"]
    check(gaps == [1], "gap events %r (the dropped EVENT is one missing frame)" % gaps)
    check(stats["length_errors"] == 1, "length_errors %r" % stats["length_errors"])


@case(timeout=60)
def test_time_jump(t):
    ctx = t.ctx
    s = Setup(t, ctx)
    g = s.g.g
    t0 = 5000000
    s.write(b"\x00" + g.hello(t0))
    k = 0
    start = time.monotonic()

    def paced(n):
        # at 10 Hz of real time, so that the drift estimate has points
        nonlocal k
        for _ in range(n):
            k += 1
            s.write(g.frame(pg.SAMPLE, t0 + 100000 * k, sample(k)))
            time.sleep(max(0, start + 0.1 * k - time.monotonic()))
            s.st.poll(0)

    paced(25)
    s.write(g.frame(pg.SAMPLE, 2 ** 64 - 1, sample(0)))
    paced(15)
    s.write(g.frame(pg.SAMPLE, t0 + 100000 * k + 10 * 365 * 86400 * 10 ** 6, sample(0)))
    n_stats = s.st.n_stats
    paced(25)
    check(s.st.n_stats > n_stats, "no stats after the jumps")
    mid = dict(s.st.stats)
    good = k
    # a real jump of two days: the third frame on the new line is taken
    t1 = t0 + 100000 * k + 2 * 86400 * 10 ** 6
    for j in range(5):
        s.write(g.frame(pg.SAMPLE, t1 + 100000 * j, sample(j)))
    check(s.st.until(lambda: len(s.st.frames) >= 1 + good + 3, 10),
          "got %d frames" % len(s.st.frames))
    stats = s.finish()
    times = [f["t_device_us"] for f in s.st.frames]
    before = times[:1 + good]
    check(before == [t0 + 100000 * i for i in range(good + 1)],
          "frames before the real jump are not the good ones in order: %r" %
          [x for x in before if x > t0 + 100000 * good][:3])
    check(times[1 + good:] == [t1 + 100000 * j for j in (2, 3, 4)],
          "after the clock jump: %r" % times[1 + good:])
    gaps = [e["missing"] for e in s.st.events if e["kind"] == "gap"]
    check(gaps == [1, 1, 2], "gap events %r (want 1, 1, 2)" % gaps)
    check(stats["length_errors"] == 4, "length_errors %r, want 4" % stats["length_errors"])
    # the garment runs at the host's pace: within 2 % (pty and scheduling)
    check(abs(mid["drift_ppm"]) < 20000, "drift_ppm %r after the jumps" % mid["drift_ppm"])
    print("time jump: %d good frames in order, 4 dropped and counted, drift_ppm %.0f after "
          "them" % (good + 1, mid["drift_ppm"]))


def contact_sample(k, fault_zone=None):
    """About 1 kPa on every zone at 34.xx C in a 25 C room, both moving a
    little (a reading that stays within 1 LSB for 30 min is stuck, S3);
    fault_zone with its temperature sensor's fault bit set (S4)."""
    status = [0] * 16
    if fault_zone is not None:
        status[fault_zone] = 1
    return pg.sample_payload([3400 + k % 50] * 16, [1000 + k % 40] * 16, [2500, 2500],
                             [0, 0, 1000], status)


def alert_sub(ctx, ep, timeout=10):
    """A SUB on detect's alerts, once its connection is up (the alerts come
    in a burst: a subscriber that joins late would miss them). The monitor
    is on before the connect, so that the handshake cannot go unseen."""
    from zmq.utils.monitor import recv_monitor_message
    sock = ctx.socket(zmq.SUB)
    sock.setsockopt(zmq.LINGER, 0)
    mon = sock.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED)
    try:
        sock.connect(ep)
        sock.setsockopt(zmq.SUBSCRIBE, b"alert.")
        check(mon.poll(timeout * 1000), "no connection to detect within %d s" % timeout)
        recv_monitor_message(mon)
    finally:
        sock.disable_monitor()
        mon.close()
    return sock


class Alerts:
    """detect's alert messages as they come (their seq starts at 0, not at
    1 like acquire's: dwtest's Stream would take the first for a replay)."""

    def __init__(self, sock):
        self.sock, self.alerts = sock, []

    def poll(self, timeout_ms):
        while self.sock.poll(timeout_ms):
            self.alerts.append(json.loads(self.sock.recv_multipart()[1]))
            timeout_ms = 0

    def until(self, cond, timeout):
        end = time.monotonic() + timeout
        while not cond() and time.monotonic() < end:
            self.poll(100)
        return cond()


@case(timeout=90)
def test_time_jump_alerts(t):
    ctx = t.ctx
    pub, rdir, det_ep = t.ep("acq-pub"), t.path("rec"), t.ep("det")
    g = PtyGarment()
    g.g.rate_hz = 1
    rec = Recorder(t, [pub], extra=["-v"], dir=rdir)
    det = t.spawn(["ductwatch-detect", "-v", "--sub", pub, "--pub", det_ep])
    al = Alerts(alert_sub(ctx, det_ep))
    a, _, _ = acquire(t, g.path, "--wait-subscribers", "2")
    t0 = 60 * 10 ** 6
    out = bytearray(b"\x00" + g.g.hello(t0))
    k = 0

    def samples(n, fault_zone=None):
        nonlocal k
        for _ in range(n):
            k += 1
            out.extend(g.g.frame(pg.SAMPLE, t0 + 10 ** 6 * k, contact_sample(k, fault_zone)))
    samples(12 * 60)
    out.extend(g.g.frame(pg.SAMPLE, 2 ** 64 - 1, contact_sample(0)))
    samples(6 * 60)
    out.extend(g.g.frame(pg.SAMPLE, t0 + 10 ** 6 * k + 10 * 365 * 86400 * 10 ** 6,
                         contact_sample(0)))
    samples(10 * 60)
    samples(5, fault_zone=3)         # zone 3's thermistor says it failed: S4
    t_ev = t0 + 10 ** 6 * k + 500000
    out.extend(g.g.frame(pg.EVENT, t_ev, event_payload(3, 38200, b"")))   # G2
    samples(3 * 60)
    g.write(bytes(out))
    g.host_bytes()
    good = k    # the SAMPLEs in time (the HELLO is not a row of /frames)
    # G2 comes at once, S4 at the end of its minute (with the next
    # minute's first sample); what else comes is checked below
    al.until(lambda: {"G2", "S4"} <= {x["rule"] for x in al.alerts}, 30)
    al.poll(500)
    # the good SAMPLEs' times: what /frames must hold (read back below)
    ft = [t0 + 10 ** 6 * i for i in range(1, good + 1)]
    got = [(x["rule"], x["state"], x["t_device_us"]) for x in al.alerts]
    print("time jump with detect: %d good frames (t %d..%d s), alerts %r" %
          (good, ft[0] // 10 ** 6, ft[-1] // 10 ** 6,
           [(r, st, tt / 1e6 if isinstance(tt, (int, float)) else tt) for r, st, tt in got]))
    bad = [x for x in got if not isinstance(x[2], int) or isinstance(x[2], bool) or
           not ft[0] <= x[2] <= ft[-1] + 60 * 10 ** 6]
    check(not bad, "alerts off the frames' time line (%d..%d us): %r" % (ft[0], ft[-1], bad))
    check(not [x for x in got if x[0] == "S2"], "a spurious S2: %r" % got)
    s4 = [x for x in al.alerts if x["rule"] == "S4" and x["state"] == "raised"]
    check(s4 and s4[0]["zone"] == 3, "S4 of zone 3 from the samples after the jumps: %r" % got)
    t_fault = t0 + 10 ** 6 * (k - 3 * 60 - 4)
    check(t_fault <= s4[0]["t_device_us"] <= t_fault + 2 * 60 * 10 ** 6,
          "S4 at %r, the fault from %d" % (s4[0]["t_device_us"], t_fault))
    g2 = [x for x in al.alerts if x["rule"] == "G2"]
    check(g2, "no G2 from detect: %r; detect said %s" % (got, det.err_text()[-1500:]))
    g2 = g2[0]
    check(t_ev <= g2["t_device_us"] <= t_ev + 60 * 10 ** 6,
          "G2 at %r, the reading at %d" % (g2["t_device_us"], t_ev))
    rec.wait_flushed(good, 30)
    check(a.stop() == 0, "acquire exit")
    check(det.stop() == 0, "detect exit")
    check(rec.stop() == 0, "record exit")
    import h5py
    files = os.listdir(rdir)
    check(len(files) == 1, "files %r" % files)
    with h5py.File(os.path.join(rdir, files[0]), "r") as f:
        stored = [int(x) for x in f["frames/t_device_us"][:]]
    check(stored == ft, "the file's /frames are not the good frames in order: %r" %
          [x for x in stored if x > ft[-1]][:3])
    g.close()


@case()
def test_gap_before_hello(t):
    ctx = t.ctx
    s = Setup(t, ctx, record=True)
    g = s.g.g
    out = b"\x00"
    for k in range(3):
        out += g.frame(pg.SAMPLE, 100000 * (k + 1), sample(k))
    out += g.hello(400000)
    for k in range(10):
        out += g.frame(pg.SAMPLE, 500000 + 100000 * k, sample(k))
    s.write(out)
    check(s.st.until(lambda: len(s.st.frames) >= 11, 10), "frames")
    s.rec.wait_flushed(10)   # the recorder has every frame
    stats = s.finish()
    check(s.rec.stop() == 0, "record exit")
    check(stats["frames_missing"] == 3, "acquire frames_missing %r" % stats["frames_missing"])
    import h5py
    files = os.listdir(s.rdir)
    check(len(files) == 1, "files %r" % files)
    with h5py.File(os.path.join(s.rdir, files[0]), "r") as f:
        ev = f["events"][:]
        gaps = [int(r["missing"]) for r in ev if bytes(r["kind"]).rstrip(b"\x00") == b"gap"]
        unrec = int(f["stats"][-1]["unrecordable"]) if len(f["stats"]) else -1
    check(gaps == [3], "gap rows in the file %r, want [3] (acquire's frames_missing)" % gaps)
    check(unrec == 0, "recorder unrecordable %d" % unrec)


if __name__ == "__main__":
    dwtest.main(fixture=dwtest.Run)
