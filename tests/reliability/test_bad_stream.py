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
import time

import zmq

from rellib import pygarment as pg
from rellib import (PROG, TESTGARMENT, Fail, PtyGarment, Stream, Tmp, check, main, read_line,
                    start_acquire, stop, subscribe)


def hello_bytes(n_zones=16, rate=10, extra=b"", set_zones=None):
    p = bytearray(pg.hello_payload("REL-1", "rel-1.0", rate, pg.default_layout()[:n_zones]))
    if set_zones is not None:
        p[34] = set_zones
    return bytes(p) + extra


def sample_bytes(n, k):
    return pg.sample_payload([3000 + k] * n, [100] * n, [2500, 2500], [0, 0, 1000], [0] * n)


def test_absurd_hello():
    ctx = zmq.Context()
    with Tmp() as t:
        g = PtyGarment()
        try:
            a, pub, _ = start_acquire(t, g.path)
            st = Stream(subscribe(ctx, pub))
            time.sleep(0.3)          # the subscription reaches acquire
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
            g.drain_host()
            check(ok, "got %d frames, want 101" % len(st.frames))
            check(a.poll() is None, "acquire exited %s" % a.returncode)
            fr = st.frames
            check(fr[0]["type"] == pg.HELLO and fr[0]["device_seq"] == 5, "first frame %r" % fr[0])
            temps = [struct.unpack_from("<h", f["payload"])[0] - 3000 for f in fr[1:]]
            check(temps == [k for k in range(1, 101)], "samples out of order or wrong: %r" % temps)
            check(st.gaps == 0, "%d stream gaps" % st.gaps)
            gaps = [e for e in st.events if e["kind"] == "gap"]
            check([e["missing"] for e in gaps] == [5, 1], "gap events %r" % gaps)
            rc = stop(a, "acquire")
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
    ctx.destroy(linger=0)


def test_bad_events():
    ctx = zmq.Context()
    with Tmp() as t:
        tg = t.spawn([TESTGARMENT, "--frames", "400", "--rate", "100", "--hold-ms", "30000"])
        line = read_line(tg)
        check(line.startswith("pty: "), "testgarment said %r" % line)
        st = Stream(subscribe(ctx, "ipc://" + t.path("acq-pub")))
        a, pub, events = start_acquire(t, line[5:], "--wait-subscribers", "1")
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
        rc = stop(a, "acquire")
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
    ctx.destroy(linger=0)


def test_disk_full():
    import h5py
    with Tmp() as t:
        mnt = t.path("small")
        os.mkdir(mnt)
        m = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", mnt],
                           capture_output=True, text=True)
        if m.returncode != 0:
            print("mount -t tmpfs not permitted here (%s): skipped" % m.stderr.strip())
            return "skip"
        try:
            tg = t.spawn([TESTGARMENT, "--frames", "200000", "--fast", "--hold-ms", "60000"],
                         stderr=subprocess.DEVNULL)
            line = read_line(tg)
            pub = "ipc://" + t.path("acq-pub")
            rec = t.spawn([PROG["ductwatch-record"], "--sub", pub, "--dir", mnt],
                          stderr=subprocess.PIPE, text=True)
            a, _, _ = start_acquire(t, line[5:], "--wait-subscribers", "1")
            try:
                rc = rec.wait(60)
            except subprocess.TimeoutExpired:
                raise Fail("the recorder did not stop on a full disk within 60 s")
            out, err = rec.stdout.read(), rec.stderr.read()
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
            stop(a, "acquire")
            errline = [l for l in err.splitlines() if "error" in l][0]
            print("disk full (2 MiB tmpfs): recorder exit 1, %d frames readable; %s" % (n, errline))
        finally:
            for p in t.procs:
                if p.poll() is None:
                    p.kill()
                    p.wait()
            subprocess.run(["umount", "-l", mnt])


if __name__ == "__main__":
    main([test_absurd_hello, test_bad_events, test_disk_full])
