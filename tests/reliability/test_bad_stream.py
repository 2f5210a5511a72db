"""Bad input at run time, as a user meets it:

- a garment whose HELLOs are absurd (0 or 200 zones, rate 0, payload length
  not matching its zone count) and a SAMPLE that does not fit the HELLO:
  each dropped and counted (length_errors, and the device sequence gap it
  leaves), acquire keeps running and the good frames after them stream;
- requests on the events endpoint that are not JSON, not objects, of an
  unknown kind, or otherwise invalid: each refused with its reason, acquire
  keeps running and the stream stays contiguous;
- a disk that fills up (a real 2 MiB tmpfs, when mount is permitted):
  ductwatch-record says so, exits 1, and the file opens in h5py with every
  frame it holds in order."""
import json
import os
import struct
import subprocess
import sys

import zmq

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import dwtest  # noqa: E402
from dwtest import Stream, case, check, skip, subscribe  # noqa: E402
from dwtest.garment import PtyGarment, acquire, testgarment  # noqa: E402
from dwtest.record import Recorder  # noqa: E402
from dwtest.wire import pg  # noqa: E402


def hello_bytes(n_zones=16, rate=10, extra=b"", set_zones=None):
    p = bytearray(pg.hello_payload("REL-1", "rel-1.0", rate, pg.default_layout()[:n_zones]))
    if set_zones is not None:
        p[34] = set_zones
    return bytes(p) + extra


def sample_bytes(n, k):
    return pg.sample_payload([3000 + k] * n, [100] * n, [2500, 2500], [0, 0, 1000], [0] * n)


@case()
def test_absurd_hello(t):
    g = PtyGarment()
    try:
        # acquire reads the port once this subscriber is in
        st = Stream(subscribe(t.ctx, t.ep("acq-pub")))
        a, pub, _ = acquire(t, g.path, "--wait-subscribers", "1")
        bad = [
            hello_bytes(set_zones=0),                  # 0 zones
            hello_bytes(set_zones=200),                # 200 zones in a 16-zone payload
            hello_bytes(rate=0),                       # rate 0
            hello_bytes(extra=b"\x00\x00\x00"),        # length != 48 + 5 * n_zones
        ]
        out = b"\x00"
        for p in bad:
            out += g.g.frame(pg.HELLO, 1000, p)
        out += g.g.frame(pg.SAMPLE, 2000, sample_bytes(16, 0))   # before any valid HELLO
        out += g.g.frame(pg.HELLO, 3000, hello_bytes())          # device seq 5
        for k in range(1, 51):
            out += g.g.frame(pg.SAMPLE, 3000 + k * 100000, sample_bytes(16, k))
        out += g.g.frame(pg.SAMPLE, 9000000, sample_bytes(8, 99))  # 8 zones, HELLO says 16
        for k in range(51, 101):
            out += g.g.frame(pg.SAMPLE, 3000 + k * 100000, sample_bytes(16, k))
        g.write(out)
        ok = st.until(lambda: len(st.frames) >= 101, 20)
        g.host_bytes()
        check(ok, "got %d frames, want 101" % len(st.frames))
        check(a.poll() is None, "acquire exited %s" % a.returncode)
        fr = st.frames
        check(fr[0]["type"] == pg.HELLO and fr[0]["device_seq"] == 5, "first frame %r" % fr[0])
        temps = [struct.unpack_from("<h", f["payload"])[0] - 3000 for f in fr[1:]]
        check(temps == [k for k in range(1, 101)], "samples out of order or wrong: %r" % temps)
        check(st.gaps == 0, "%d stream gaps" % st.gaps)
        gaps = [e for e in st.events if e["kind"] == "gap"]
        check([e["missing"] for e in gaps] == [5, 1], "gap events %r" % gaps)
        rc = a.stop()
        check(rc == 0, "acquire exit %d on SIGTERM" % rc)
        st.until(lambda: st.stats is not None and st.stats["frames"] == 101, 5)
        s = st.stats
        check(s is not None, "no stats")
        # 4 HELLOs + 1 SAMPLE with an invalid payload; the pre-HELLO
        # SAMPLE is missing without being an error.
        check(s["length_errors"] == 5 and s["crc_errors"] == 0, "stats %r" % s)
        check(s["frames"] == 101 and s["frames_missing"] == 6, "stats %r" % s)
        check(s["frames"] + s["frames_missing"] == g.g.seq, "frames sent %d, accounted %d"
              % (g.g.seq, s["frames"] + s["frames_missing"]))
        print("absurd HELLOs: %d garment frames, %d streamed, %d accounted as missing "
              "(length_errors %d), acquire kept running"
              % (g.g.seq, s["frames"], s["frames_missing"], s["length_errors"]))
    finally:
        g.close()


@case()
def test_bad_events(t):
    ctx = t.ctx
    tg, port = testgarment(t, "--frames", "400", "--rate", "100")
    st = Stream(subscribe(ctx, t.ep("acq-pub")))
    a, pub, events = acquire(t, port, "--wait-subscribers", "1")
    check(st.until(lambda: len(st.frames) >= 20, 10), "no frames")
    req = ctx.socket(zmq.REQ)
    req.setsockopt(zmq.LINGER, 0)
    req.setsockopt(zmq.RCVTIMEO, 5000)
    req.connect(events)
    cases = [
        (b"{not json", "not a JSON object"),
        (b"[1, 2, 3]", "not a JSON object"),
        (b"\xff\xfe\x00garbage", "not a JSON object"),
        (b"", "not a JSON object"),
        (b'{"kind": "teleport"}', 'bad or missing "kind"'),
        (b'{"side": "left"}', 'bad or missing "kind"'),
        (b'{"kind": 7}', 'bad or missing "kind"'),
        (b'{"kind": "gap"}', "this kind is published by acquisition only"),
        (b'{"kind": "link-down"}', "this kind is published by acquisition only"),
        (b'{"kind": "feed-start", "side": "middle"}', 'bad "side"'),
        (b'{"kind": "thermometer", "value": "hot"}', 'bad "value"'),
        (b'{"kind": "feed-start", "text": "' + b"x" * 100 + b'"}', 'bad "device", "source" or "text"'),
        (b'{"kind": "feed-start", "seq": -4}', 'bad "seq"'),
        (b'{"kind": "feed-start", "device": "someone-else"}', "wrong device"),
        (b'{"kind": "feed-start", "text": "' + b"y" * 5000 + b'"}', "request too long"),
    ]
    for body, reason in cases:
        req.send(body)
        r = json.loads(req.recv())
        check(r.get("ok") is False and reason in r.get("error", ""),
              "%r: reply %r, want the reason %r" % (body[:40], r, reason))
    req.send_multipart([b'{"kind": "shower"}', b"ignored part"])
    r = json.loads(req.recv())
    check(r.get("ok") is True, "a valid event refused: %r" % r)
    check(a.poll() is None, "acquire exited %s" % a.returncode)
    check(st.until(lambda: len(st.frames) >= 401, 20), "got %d frames" % len(st.frames))
    rc = a.stop()
    check(rc == 0, "acquire exit %d" % rc)
    st.until(lambda: st.stats is not None and st.stats["frames"] == 401, 5)
    user = [e for e in st.events if e.get("source") == "user"]
    check(len(user) == 1 and user[0]["kind"] == "shower" and user[0]["seq"] == r["seq"],
          "user events on the stream: %r" % user)
    check(st.gaps == 0 and st.first == 1, "stream gaps %d, first seq %s" % (st.gaps, st.first))
    dseq = [f["device_seq"] for f in st.frames]
    check(dseq == list(range(401)), "garment frames not contiguous")
    check(st.stats and st.stats["events_in"] == 1, "events_in %r" % (st.stats,))
    print("events endpoint: %d bad requests refused with their reason, 1 accepted; stream of "
          "%d frames contiguous" % (len(cases), len(dseq)))
    req.close()


@case(timeout=90)
def test_disk_full(t):
    import h5py
    mnt = t.path("small")
    os.mkdir(mnt)
    m = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", mnt],
                       capture_output=True, text=True)
    if m.returncode != 0:
        skip("mount -t tmpfs not permitted here (%s)" % m.stderr.strip())
    try:
        tg, port = testgarment(t, "--frames", "200000", "--fast")
        pub = t.ep("acq-pub")
        rec = Recorder(t, [pub], dir=mnt)
        a, _, _ = acquire(t, port, "--wait-subscribers", "1")
        rc = rec.p.wait(60)
        out, err = rec.p.rest(5), rec.err
        check(rc == 1, "recorder exit %d on a full disk (want 1)\n%s" % (rc, err[-800:]))
        path = [l[6:] for l in out.splitlines() if l.startswith("file: ")]
        check(len(path) == 1, "files %r" % out)
        check(any(path[0] in l and ("the disk is full" in l or "No space left" in l)
                  for l in err.splitlines()), "no clear error: %r" % err[-800:])
        check("WRITE FAILED" in out, "summary does not say it failed: %r" % out)
        with h5py.File(path[0], "r") as f:
            seq = f["frames/seq"][:]
            n = len(seq)
            check(n > 1000, "only %d frames kept" % n)
            check(all(seq[i] < seq[i + 1] for i in range(n - 1)), "frames out of order")
            check(f["frames/temperature_c"].shape[0] == n, "columns differ")
        a.stop()
        errline = [l for l in err.splitlines() if "error" in l][0]
        print("disk full (2 MiB tmpfs): recorder exit 1, %d frames readable; %s" % (n, errline))
    finally:
        for p in t.procs:
            p.kill()
        subprocess.run(["umount", "-l", mnt])


if __name__ == "__main__":
    dwtest.main(fixture=dwtest.Run)
