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
