#!/usr/bin/python3
"""ductwatch-record end to end: a real ZeroMQ publisher speaking
docs/messages.md -> ductwatch-record -> session file read back with h5py,
also while it is still being written (SWMR); then rotation and a HELLO
change. The file must hold exactly what was sent."""
import json
import os
import re
import stat
import struct
import sys
import time

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import dwtest  # noqa: E402
import dwtest.wire as ds  # noqa: E402
from dwtest import case, check  # noqa: E402
from dwtest.record import Recorder  # noqa: E402

DEV = "bra-0042"


def unpack_sample(payload, n=16):
    v = struct.unpack("<%dh%dH2h3h%dB" % (n, n, n), payload)
    return (v[:n], v[n:2 * n], v[2 * n:2 * n + 2], v[2 * n + 2:2 * n + 5], v[2 * n + 5:])


def publish_session(p, g, n_frames, swmr_probe=None):
    """HELLO, samples, STATUS, garment and user events, an acquire gap, a
    stream hole, stats and alerts. Returns the list of what went out."""
    frames, events, alerts = [], [], []
    p.frame(g.hello_frame())
    for i in range(n_frames):
        skip = 0
        if i == 150:
            g.dseq += 2  # two garment frames lost on the link
            p.event("gap", "none", None, "acquire", t_us=g.t, missing=2)
            events.append(("gap", "acquire", 2))
        if i == 200:
            skip = 3     # three stream messages lost on ZeroMQ
            events.append(("gap", "record", 3))
        f = g.sample_frame()
        p.frame(f, skip=skip)
        frames.append((p.seq, f))
        if i % 40 == 7:
            p.frame(g.status_frame())
        if i % 90 == 11:
            p.frame(g.event_frame(3, 2, 38200 + i, b"oral"))
            events.append(("thermometer", "garment", g.dseq - 1))
        if i % 120 == 13:
            p.event("feed-start", "left", None, "user", t_us=g.t)
            events.append(("feed-start", "user", None))
        if i % 100 == 17:
            p.stats(g.t, frames=i, crc_errors=1)
        if i % 130 == 19:
            p.alert(g.t, value=1.0 + i / 1000.0)
            alerts.append(i)
        if swmr_probe and i in swmr_probe:
            swmr_probe[i]()
    return frames, events, alerts


@case()
def case_session(wd):
    """A whole session while a SWMR reader looks at the file, then every
    value read back."""
    ep = wd.ep("pub")
    p = ds.Publisher(ep, DEV, wd.ctx)
    rec = Recorder(wd, [ep], extra=["-v"])
    p.wait_subscriber()
    g = ds.Garment(DEV, seed=3)
    seen = {}

    # What the writer logs as flushed is what a SWMR reader sees.
    def probe_open():
        logged = rec.wait_flushed(1)
        f = h5py.File(path_box[0], "r", libver="latest", swmr=True)
        seen["f"] = f
        seen["n1"] = f["frames/seq"].shape[0]
        check(seen["n1"] >= logged, "the writer logged a flush of %d frames, a SWMR reader "
              "sees %d" % (logged, seen["n1"]))

    def probe_grow():
        logged = rec.wait_flushed(seen["n1"] + 1)
        d = seen["f"]["frames/seq"]
        d.refresh()
        seen["n2"] = d.shape[0]
        check(seen["n2"] >= logged, "the writer logged a flush of %d frames, a SWMR reader "
              "sees %d" % (logged, seen["n2"]))

    path_box = [None]
    # the file appears with the first HELLO
    p.frame(g.hello_frame())
    path_box[0] = rec.wait_file()
    frames, events, alerts = publish_session(
        p, g, 600, swmr_probe={250: probe_open, 500: probe_grow})
    rec.wait_flushed(600)   # everything arrived
    rc = rec.stop()
    seen["f"].close()
    check(rc == 0, "recorder exit %s on SIGTERM; stderr: %s" % (rc, rec.err))
    path = path_box[0]
    check(seen["n1"] > 0, "a SWMR reader saw no frames while recording")
    check(seen["n2"] > seen["n1"], "the SWMR reader did not see the file grow (%d -> %d)"
          % (seen["n1"], seen["n2"]))

    # name, mode, summary line
    check(re.fullmatch(re.escape(rec.dir) + "/" + DEV + r"-\d{8}T\d{6}Z\.h5", path),
          "file name %s" % path)
    check(stat.S_IMODE(os.stat(path).st_mode) == 0o600, "file mode is not 0600")
    closed = rec.closed()
    check(len(closed) == 1 and "frames 600," in closed[0] and "alerts %d," % len(alerts)
          in closed[0] and "gaps 2 (5 missing)" in closed[0], "summary: %r" % closed)

    with h5py.File(path, "r") as f:
        a = f.attrs
        check(a["format"] == b"ductwatch-session", "format attr %r" % a["format"])
        check(a["format_version"] == 2, "format_version")
        check(a["device_id"] == DEV.encode() and a["firmware"] == b"fw-1.2.3", "ids")
        check(a["software_version"].startswith(b"ductwatch-record "), "software_version")
        check(re.fullmatch(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", a["session_start"]),
              "session_start %r" % a["session_start"])
        check(a["sample_rate_hz"] == 10 and a["n_zones"] == 16, "rate/zones")
        check(abs(a["temp_scale_c"] - 0.01) < 1e-12, "temp scale")
        check(bytes(a["hello_payload"]) == g.hello, "hello_payload differs")

        lay = f["layout"]
        check(lay.shape == (16,), "layout shape %r" % (lay.shape,))
        check(set(lay.dtype.names) >= {"zone", "side", "quadrant", "ring", "mirror",
                                       "neighbours", "flags", "name"}, "layout columns")
        check(list(lay["zone"]) == list(range(16)), "layout zones")
        check(list(lay["mirror"]) == [(z + 8) % 16 for z in range(16)], "mirrors")
        nb = lay["neighbours"]
        check(nb.shape == (16, 4) and (nb[:, 3] == -1).all() and (nb[:, :3] >= 0).all(),
              "neighbours with -1 padding: %r" % nb[:2])
        check(lay["name"][0] == b"left upper-outer inner", "zone name %r" % lay["name"][0])

        fr = f["frames"]
        n = len(frames)
        want = {"seq": ("uint64", (n,)), "device_seq": ("uint32", (n,)),
                "t_device_us": ("uint64", (n,)), "t_host_ns": ("uint64", (n,)),
                "temperature_c": ("float32", (n, 16)), "pressure_kpa": ("float32", (n, 16)),
                "ambient_c": ("float32", (n, 2)), "accel_g": ("float32", (n, 3)),
                "status": ("uint8", (n, 16))}
        for k, (dt, shape) in want.items():
            d = fr[k]
            check(d.dtype == np.dtype(dt) and d.shape == shape,
                  "%s: %s %r, want %s %r" % (k, d.dtype, d.shape, dt, shape))
            check("units" in d.attrs, "%s has no units attribute" % k)
            # 30 s per chunk at 10 Hz; the garment's integers in the
            # fewest bits (scale-offset at its LSB) or shuffle+deflate
            if dt == "float32":
                digits = 3 if k in ("pressure_kpa", "accel_g") else 2
                check(d.chunks == (300, 1) and d.scaleoffset == digits,
                      "%s: chunks %r scale-offset %r, want (300, 1) and %d"
                      % (k, d.chunks, d.scaleoffset, digits))
            else:
                check(d.chunks[0] == 300 and d.compression == "gzip" and d.shuffle,
                      "%s is not chunked by 300 rows with shuffle+deflate" % k)
            check(d.maxshape[0] is None, "%s is not extendible" % k)
        check(fr["temperature_c"].attrs["units"] == b"degC", "temperature units")
        check(fr["pressure_kpa"].attrs["units"] == b"kPa", "pressure units")

        seqs = fr["seq"][:]
        check(list(seqs) == [s for s, _ in frames], "stream seqs differ from what was sent")
        check(list(fr["device_seq"][:]) == [f_[1] for _, f_ in frames], "device seqs differ")
        check(list(fr["t_device_us"][:]) == [f_[2] for _, f_ in frames], "device times differ")
        check((np.diff(fr["t_host_ns"][:].astype(np.int64)) >= 0).all(), "host times go back")
        temp, pres = fr["temperature_c"][:], fr["pressure_kpa"][:]
        amb, acc, st = fr["ambient_c"][:], fr["accel_g"][:], fr["status"][:]
        for i, (_, f_) in enumerate(frames):
            t, pr, am, ac, s = unpack_sample(f_[3])
            check(list(np.round(temp[i] / np.float64(0.01)).astype(int)) == list(t),
                  "frame %d temperatures" % i)
            check(list(np.round(pres[i] / np.float64(0.001)).astype(int)) == list(pr),
                  "frame %d pressures" % i)
            check(list(np.round(amb[i] / 0.01).astype(int)) == list(am), "ambient %d" % i)
            check(list(np.round(acc[i] / 0.001).astype(int)) == list(ac), "accel %d" % i)
            check(list(st[i]) == list(s), "status %d" % i)
        # values as a person reads them
        check(abs(float(temp[0][0]) - t0_of(frames)) < 0.006, "temperature in degC")

        ev = f["events"][:]
        kinds = [(k.decode(), s.decode()) for k, s in zip(ev["kind"], ev["source"])]
        check(kinds == [(k, s) for k, s, _ in events],
              "events %r\nwant %r" % (kinds, [(k, s) for k, s, _ in events]))
        for row, (k, s, x) in zip(ev, events):
            if k == "gap":
                check(row["missing"] == x, "gap missing %d != %d" % (row["missing"], x))
            if s == "garment":
                check(row["device_seq"] == x, "garment event device_seq %d != %d"
                      % (row["device_seq"], x))
                check(row["text"] == b"oral" and row["side"] == b"none", "event text/side")
            elif k != "gap" or s != "acquire":
                check(row["device_seq"] == -1, "host event with a device seq")
        therm = ev[ev["kind"] == b"thermometer"]
        check(abs(therm["value"][0] - 38.211) < 1e-9, "thermometer value %r" % therm["value"])
        check(np.isnan(ev[ev["kind"] == b"feed-start"]["value"]).all(), "null value not NaN")

        al = f["alerts"][:]
        check(len(al) == len(alerts), "alerts %d != %d" % (len(al), len(alerts)))
        check((al["rule"] == b"D1").all() and (al["level"] == b"L2").all() and
              (al["state"] == b"raised").all() and (al["zone"] == 5).all(), "alert fields")
        check(al["message"][0] == b"possible blocked duct", "alert message")
        check(json.loads(al["params"][0].decode()) == {"k": 1}, "alert params %r" % al["params"][0])
        check(list(al["id"]) == list(range(1, len(alerts) + 1)), "alert ids")

        sts = f["stats"][:]
        srcs = [s.decode() for s in sts["source"]]
        check(srcs.count("acquire") == 6, "acquire stats rows: %r" % srcs)
        check(srcs[-1] == "record", "no recorder stats row at close")
        last = sts[-1]
        check(last["stream_gaps"] == 1 and last["messages_missing"] == 3,
              "recorder counters %r" % (last,))
        check(last["frames_written"] == 600, "frames_written %d" % last["frames_written"])
        check(len(f["device_status"]) == 15 and len(f["hellos"]) == 2, "status/hello rows")
        check(f["device_status"]["mcu_temp_cc"].dtype == np.int16, "status dtype")




def t0_of(frames):
    return struct.unpack_from("<h", frames[0][1][3])[0] * 0.01


@case()
def case_rotation(wd):
    """--rotate 2s of device time at 10 Hz: a new file every 20 frames, none
    lost at the boundaries; a changed HELLO starts a new file too."""
    ep = wd.ep("pub2")
    p = ds.Publisher(ep, "bra-rot", wd.ctx)
    rec = Recorder(wd, [ep], extra=["--rotate", "2s"])
    p.wait_subscriber()
    g = ds.Garment("bra-rot", seed=5)
    p.frame(g.hello_frame())
    for _ in range(50):
        p.frame(g.sample_frame())
        time.sleep(0.002)  # distinct file names need distinct seconds? no: suffixes
    g.hello = ds.hello_payload("bra-rot", firmware="fw-2.0")
    p.frame(g.hello_frame())
    for _ in range(5):
        p.frame(g.sample_frame())
    for _ in range(4):
        last = rec.wait_file()
    rec.wait_rows(last, 5)   # everything arrived
    rc = rec.stop()
    check(rc == 0, "rotation recorder exit %s: %s" % (rc, rec.err))
    files = rec.files()
    check(len(files) == 4, "want 4 files (3 rotations... + HELLO change), got %r" % files)
    check(len(set(files)) == 4, "file names repeat")
    total, prev_name = [], None
    for i, path in enumerate(files):
        with h5py.File(path, "r") as f:
            seq = list(f["frames/seq"][:])
            total += seq
            reason = f.attrs["file_reason"].decode()
            check(reason == ["first-hello", "rotation", "rotation", "hello-changed"][i],
                  "%s: reason %s" % (path, reason))
            if prev_name:
                check(f.attrs["previous_file"].decode() == prev_name, "previous_file chain")
            prev_name = os.path.basename(path)
            if i < 2:
                check(len(seq) == 20, "%s holds %d frames, not 2 s worth" % (path, len(seq)))
            if i == 3:
                check(f.attrs["firmware"] == b"fw-2.0", "the new HELLO's firmware")
    want = [s for s, kind, *_ in p.sent if kind == ds.SAMPLE]
    check(total == want, "frames lost or repeated across rotation")


if __name__ == "__main__":
    dwtest.main(fixture=dwtest.Run)
