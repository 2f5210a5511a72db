"""`ductwatch info` and `ductwatch export` on session files written through
storage's real writer (mksession): every number info gives (text and
--json) is what h5py reads from the file; export's CSV files hold the
file's frames, events and alerts with zone names in the header, the
garment's and the clock's time, empty cells for faults and no formula a
spreadsheet would run; long files show progress; bad inputs fail with the
documented status."""
import csv
import json
import math
import os
import stat
import sys
from collections import Counter

import h5py

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import dwtest  # noqa: E402
from dwtest import case, check  # noqa: E402
from dwtest.report import ductwatch, mksession  # noqa: E402


def run(*args, timeout=300):
    st, out, err = ductwatch(*args, timeout=timeout)
    return st, out.decode(), err


def text(b):
    return b.decode() if isinstance(b, bytes) else str(b)


@case(timeout=120)
def test_info(t):
    d = t.dir
    sess = os.path.join(d, "bra-0042-20261124T183159Z.h5")
    made = mksession(sess, "--hours", "2")
    crashed = os.path.join(d, "crashed.h5")
    mksession(crashed, "--hours", "0.2", "--crash")
    st, out, err = run("info", "--json", sess, crashed)
    check(st == 0, "info --json: %d %s" % (st, err))
    a, b = json.loads(out)
    with h5py.File(sess, "r") as f:
        t = f["frames/t_device_us"][:]
        ev, al = f["events"][:], f["alerts"][:]
        check(a["device"] == text(f.attrs["device_id"]) and
              a["firmware"] == text(f.attrs["firmware"]), "ids: %s" % a)
        check(a["session_start"] == text(f.attrs["session_start"]), "start")
        check(a["rows"] == {"frames": len(t), "hellos": f["hellos"].shape[0],
                            "status": f["device_status"].shape[0], "events": len(ev),
                            "alerts": len(al), "stats": f["stats"].shape[0]},
              "rows %s" % a["rows"])
        check(a["t_first_device_us"] == int(t[0]) and a["t_last_device_us"] == int(t[-1]),
              "device span")
        check(a["rate_hz"] == int(f.attrs["sample_rate_hz"]), "rate")
    span_s = (int(t[-1]) - int(t[0])) / 1e6
    check(abs(a["span_s"] - span_s) < 1e-6, "span %s vs %s" % (a["span_s"], span_s))
    check(abs(a["rate_measured_hz"] - (len(t) - 1) / span_s) < 1e-6, "measured rate")
    check(a["clock_from"] == "2026-11-24T18:31:59Z" and a["clock_to"] == "2026-11-24T20:31:58Z",
          "clock span %s - %s" % (a["clock_from"], a["clock_to"]))
    kinds = Counter(text(k) for k in ev["kind"])
    check(a["events"] == dict(kinds), "events by kind %s vs %s" % (a["events"], kinds))
    gaps = ev[ev["kind"] == b"gap"]
    check(a["gaps"] == len(gaps) == 1 and a["frames_missing"] == int(gaps["missing"].sum()) == 12,
          "gaps %s/%s" % (a["gaps"], a["frames_missing"]))
    want = {}
    for r in al:
        k = "%s %s" % (text(r["rule"]), text(r["level"]))
        want.setdefault(k, Counter())[text(r["state"])] += 1
    check(a["alerts"] == {k: {s: c[s] for s in ("raised", "updated", "cleared")}
                          for k, c in want.items()}, "alerts %s" % a["alerts"])
    size = os.path.getsize(sess)
    check(a["file_bytes"] == size, "size")
    check(abs(a["bytes_per_hour"] - size / (span_s / 3600)) <= 1, "bytes per hour")
    check(a["closed"] is True and b["closed"] is False, "closed: %s %s" % (a["closed"], b["closed"]))
    check(made["frames"] == len(t), "mksession frames")

    st, out, err = run("info", sess)
    check(st == 0, "info: %s" % err)
    for w in ("bra-test", "%d frames" % len(t), "10.00 Hz measured", "1 gap, 12 frames missing",
              "T1 L0 raised 1 (updated 1, cleared 1)", "%d bytes" % size, "(2.00 h)"):
        check(w in out, "info text lacks %r:\n%s" % (w, out))
    st, out, err = run("info", crashed)
    check("NOT CLOSED" in out, "a crashed file is not said: %s" % out)
    st, out, err = run("info", sess, os.path.join(d, "nope.h5"))
    check(st == 1 and "bra-test" in out and "nope.h5" in err, "a missing file among good ones")
    st, out, err = run("info")
    check(st == 2 and "missing FILE.h5" in err, "no file: %d %s" % (st, err))


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


@case(timeout=180)
def test_export(t):
    d = t.dir
    sess = os.path.join(d, "s.h5")
    mksession(sess, "--hours", "1", "--text", "=HYPERLINK(\"x\"), 1", "--fault-zone", "6")
    out = os.path.join(d, "csv")
    st, _, err = run("export", sess, "--csv", out)
    check(st == 0, "export: %s" % err)
    for n in ("s-frames.csv", "s-events.csv", "s-alerts.csv"):
        p = os.path.join(out, n)
        check(stat.S_IMODE(os.stat(p).st_mode) == 0o600, "%s is not 0600" % n)
    check(not [n for n in os.listdir(out) if n.startswith(".")], "temporary file left")
    rows = read_csv(os.path.join(out, "s-frames.csv"))
    head, rows = rows[0], rows[1:]
    with h5py.File(sess, "r") as f:
        names = [text(n) for n in f["layout"]["name"]]
        temp, pres = f["frames/temperature_c"][:], f["frames/pressure_kpa"][:]
        status, t = f["frames/status"][:], f["frames/t_device_us"][:]
        start_ns = int(f.attrs["session_start_ns"])
        start_us = int(f.attrs["session_start_device_us"])
        ev, al = f["events"][:], f["alerts"][:]
    check(head[:3] == ["t_device_us", "elapsed_s", "clock_utc"], "header %s" % head[:3])
    check(head[3:3 + 16] == ["temperature_c " + n for n in names], "temperature columns")
    check(head[19:35] == ["pressure_kpa " + n for n in names], "pressure columns")
    check(len(rows) == len(t), "%d rows for %d frames" % (len(rows), len(t)))
    faults = 0
    for i in (0, 1, 7, len(rows) // 2, len(rows) - 1):
        r = rows[i]
        check(int(r[0]) == int(t[i]), "row %d device time" % i)
        check(abs(float(r[1]) - (int(t[i]) - int(t[0])) / 1e6) < 1e-3, "row %d elapsed" % i)
        for z in range(16):
            bad = status[i][z] & 5
            faults += bool(bad)
            cell = r[3 + z]
            check((cell == "") == bool(bad), "row %d zone %d fault %d cell %r" % (i, z, bad, cell))
            if not bad:
                check(abs(float(cell) - temp[i][z]) < 0.006, "row %d zone %d %s vs %s"
                      % (i, z, cell, temp[i][z]))
            check(int(r[35 + z]) == status[i][z], "status column")
        check(abs(float(r[19]) - pres[i][0]) < 0.0006 or status[i][0] & 10, "pressure")
    check(faults >= 2, "no faulted reading among the rows checked (%d)" % faults)
    sec = (start_ns + (int(t[0]) - start_us) * 1000) // 10**9
    import time
    check(rows[0][2] == time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(sec)),
          "clock of the first row: %s" % rows[0][2])
    evr = read_csv(os.path.join(out, "s-events.csv"))
    check(len(evr) == len(ev) + 1 and evr[0][3] == "kind", "events rows %d" % len(evr))
    for r, e in zip(evr[1:], ev):
        check(r[3] == text(e["kind"]) and int(r[0]) == int(e["t_device_us"]), "event %s" % r)
        check((r[5] == "") == math.isnan(e["value"]), "value cell %r for %r" % (r[5], e["value"]))
        if text(e["source"]) == "user":
            check(r[8] == "'=HYPERLINK(\"x\"), 1", "a formula reaches the spreadsheet: %r" % r[8])
    alr = read_csv(os.path.join(out, "s-alerts.csv"))
    check(len(alr) == len(al) + 1, "alerts rows")
    check([r[4] for r in alr[1:]] == [text(a["rule"]) for a in al] and
          [int(r[8]) for r in alr[1:]] == [int(a["zone"]) for a in al], "alert rows")

    # a long file: progress on stderr, every 10 %
    big = os.path.join(d, "big.h5")
    made = mksession(big, "--hours", "14.5")
    check(made["frames"] > 500000, "big is small: %s" % made)
    st, _, err = run("export", big, "--csv", out)
    lines = [l for l in err.splitlines() if "reading" in l]
    check(st == 0 and len(lines) >= 5 and lines[-1].endswith("100%"), "progress: %r" % err)
    check(sum(1 for _ in open(os.path.join(out, "big-frames.csv"))) == made["frames"] + 1,
          "big frames")
    st, _, err = run("export", "-q", big, "--csv", out)
    check(st == 0 and err == "", "-q printed %r" % err)

    st, _, err = run("export", sess)
    check(st == 2 and "--csv" in err, "no --csv: %d %s" % (st, err))
    st, _, err = run("export", os.path.join(d, "nope.h5"), "--csv", out)
    check(st == 1 and "nope.h5" in err, "missing file: %d %s" % (st, err))
    st, _, err = run("export", d, "--csv", out)
    check(st == 1 and "is a directory" in err, "a directory: %d %s" % (st, err))
    open(os.path.join(d, "afile"), "w").close()
    st, _, err = run("export", sess, "--csv", os.path.join(d, "afile"))
    check(st == 1 and "not a directory" in err, "--csv onto a file: %d %s" % (st, err))


if __name__ == "__main__":
    dwtest.main(fixture=dwtest.Run)
