#!/usr/bin/python3
"""Alerts through the real pipeline keep their 64-bit fields exact:
ductwatch-sim (pty) -> acquire -> detect -> record, and a subscriber of
detect's alerts. Every integer of an alert body is written as digits (detect
used to print t_host_ns and its stream id through a double, with an
exponent: 1.7654321098765432e+18), t_host_ns is a host time in ns of this
run, and the recorder's /alerts row holds the same numbers as the body, to
the nanosecond. An alert message of 1000 bytes (detect writes up to 767) is
in the file whole (the column used to cut at 255)."""
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import time

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import dwtest  # noqa: E402
from dwtest import case, check, subscribe  # noqa: E402
from dwtest.report import ductwatch, parse  # noqa: E402
from dwtest.garment import acquire  # noqa: E402
from dwtest.record import Recorder  # noqa: E402
from dwtest.wire import Garment, Publisher  # noqa: E402

# A detached sensor an hour in: alerts from about 1 h of device time on,
# 2 s after the start at 1800 x real time (the subscribers are connected by
# then), three more over the next 2 h.
SIM_ARGS = ["--scenario", "sensor-detached", "--seed", "1", "--duration", "3h", "--onset", "1h",
            "--rate", "1", "--speed", "1800", "-q"]
INTS = ("seq", "stream", "id", "t_device_us", "t_host_ns")


def digits(body, key):
    m = re.search(rb'"%s":(-?[0-9.eE+-]+)[,}]' % key.encode(), body)
    check(m, "no %s in %r" % (key, body))
    check(re.fullmatch(rb"[0-9]+", m.group(1)), "%s written as %r, not as digits: %r"
          % (key, m.group(1), body))
    return int(m.group(1))


def run(wd):
    acq_ep, det_ep = wd.ep("acquire"), wd.ep("detect")
    link = wd.path("garment")
    sub = subscribe(wd.ctx, det_ep, topic=b"alert.")
    det = wd.spawn(["ductwatch-detect", "--sub", acq_ep, "--pub", det_ep, "-q"])
    check(det.expect("pub: ") == det_ep, "detect's pub line")
    rec = Recorder(wd, [acq_ep, det_ep])
    t0 = time.time_ns()
    sim = wd.spawn(["ductwatch-sim", *SIM_ARGS, "--out", "pty", "--pty-link", link])
    sim.expect("pty: ")
    acq, _, _ = acquire(wd, link, "--wait-subscribers", "2", "-q", pub=acq_ep)
    path = rec.wait_file(timeout=30)
    check(sim.wait(120) == 0, "the simulator failed")
    bodies = []
    while sub.poll(2000):
        topic, body = sub.recv_multipart()
        bodies.append(body)
    t1 = time.time_ns()
    for p in (acq, det):
        check(p.stop() == 0, "%s exit status" % p.name)
    check(rec.stop() == 0, "recorder: %s" % rec.err)
    sub.close()
    return path, bodies, t0, t1


# T1's built-in parameters, as detect puts them in a body.
T1_PARAMS = {"delta_c": 0.5, "mad_factor": 3, "max_zone_fraction": 0.5, "sustain": "30m"}


def record_alerts(wd, alerts):
    """A publisher of documented bodies -> record: alerts is a list of
    (message, params); returns the closed file's path."""
    ep = wd.ep("long")
    p = Publisher(ep, "bra-long")
    g = Garment(device="bra-long")
    rec = Recorder(wd, [ep])
    try:
        p.wait_subscriber()
        p.frame(g.hello_frame())
        p.frame(g.sample_frame())
        for i, (msg, params) in enumerate(alerts):
            p.alert(g.t, state="cleared" if i % 2 else "raised", message=msg, params=params)
        path = rec.wait_file()
        rec.wait_row("alerts", lambda rows: len(rows) >= len(alerts), 60)
        check(rec.stop() == 0, "recorder: %s" % rec.err)
    finally:
        p.close()
    return path


def file_alerts(path):
    """(message, params) of every /alerts row as h5py gives them, as str."""
    with h5py.File(path, "r") as f:
        al = f["alerts"][:]
        names = al.dtype.names
        return [(r["message"].decode(), r["params"].decode() if "params" in names else None)
                for r in al]


def csv_alerts(wd, path):
    """The /alerts rows through ductwatch's own reader (`ductwatch export`)."""
    out = wd.path("csv")
    st, _, err = ductwatch("export", "-q", path, "--csv", out)
    check(st == 0, "export: %s" % err)
    name = os.path.basename(path)[:-3] + "-alerts.csv"
    with open(os.path.join(out, name), newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def report_cells(wd, path):
    """(class, text) of the message and parameters cells of the report's alert rows."""
    html = wd.path("report.html")
    st, _, err = ductwatch("report", "-q", path, "-o", html)
    check(st == 0, "report: %s" % err)
    page, _ = parse(html)
    return [[(c.attrs.get("class", ""), c.all_text()) for c in r.children][7:9]
            for r in page.root.find_all("tr", cls="alert-row")]


@case(timeout=60)
def case_long_message(wd):
    """h5py reads messages of 600 (with degree signs), 999 and 1023 bytes
    whole, and each alert's params as the body had them."""
    m600 = ("Possible blocked duct at left lower-inner outer: 1.4 \u00b0C warmer. " * 20)
    m600 = m600.encode()[:600].decode("utf-8", "ignore")
    m600 += "x" * (600 - len(m600.encode()))
    check(len(m600.encode()) == 600, "the 600-byte message is %d" % len(m600.encode()))
    m999 = ("Possible blocked duct at left lower-inner outer: 1.4 \u00b0C warmer. " * 20)[:999]
    sent = [(m600, T1_PARAMS), (m999, {"delta_c": 0.25}), ("x" * 1023, {})]
    got = file_alerts(record_alerts(wd, sent))
    check([m for m, _ in got] == [m for m, _ in sent],
          "messages cut: %r" % [len(m.encode()) for m, _ in got])
    check(all(isinstance(m, str) for m, _ in got), "not str")
    check([json.loads(p) for _, p in got] == [p for _, p in sent], "params %r" % got)


def longest_detector_message():
    """The longest alert message the detector can build and its message
    size: detect-longest-message (tests/processing) enumerates every rule at
    every level it reaches, at every place, with the 7-day note, through the
    detector's own message code, so a longer template makes this longer too."""
    out = subprocess.run([dwtest.prog("detect-longest-message")], capture_output=True,
                         text=True, check=True).stdout.splitlines()
    msg, buf = out[0], int(out[1])
    check(len(msg.encode()) > 200, "the longest message is only %r" % msg)
    check(len(msg.encode()) < buf, "the detector cuts its own %d-byte message at %d"
          % (len(msg.encode()), buf - 1))
    return msg, buf


@case(timeout=60)
def case_longest_message(wd):
    """The longest message the detector can build, through record -> file
    -> ductwatch's reader (export) and the report: whole everywhere."""
    msg, buf = longest_detector_message()
    n = len(msg.encode())
    path = record_alerts(wd, [(msg, T1_PARAMS)])
    with h5py.File(path, "r") as f:
        width = f["alerts"].dtype["message"].itemsize
    check(width > n and width >= buf, "column %d for a %d-byte message" % (width, n))
    check(file_alerts(path)[0][0] == msg, "h5py: cut at %d" % len(file_alerts(path)[0][0]))
    row = csv_alerts(wd, path)[0]
    check(row["message"] == msg, "reader: %d of %d bytes" % (len(row["message"].encode()), n))
    check(json.loads(row["params"]) == T1_PARAMS, "reader params %r" % row["params"])
    cells = report_cells(wd, path)
    check(cells[0][0] == ("message", msg), "report: %r" % (cells[0][0],))
    check(json.loads(cells[0][1][1]) == T1_PARAMS, "report params %r" % (cells[0][1],))
    print("ok: the longest message is %d bytes (detector buffer %d, column %d)" % (n, buf, width))


def rewrite_as_format1(path, width):
    """The file as a format 1 recorder wrote it: /alerts without params,
    message string[width] (256 before 2026-12), format_version 1; same
    chunks, filters and attributes."""
    with h5py.File(path, "r+") as f:
        rows, attrs = f["alerts"][:], dict(f["alerts"].attrs)
        names = [n for n in rows.dtype.names if n != "params"]
        old = np.dtype([(n, "S%d" % width if n == "message" else rows.dtype[n]) for n in names])
        new = np.zeros(len(rows), dtype=old)
        for n in names:
            new[n] = rows[n]
        del f["alerts"]
        d = f.create_dataset("alerts", data=new, chunks=(64,), maxshape=(None,), shuffle=True,
                             compression="gzip", compression_opts=4, fletcher32=True)
        for k, v in attrs.items():
            d.attrs[k] = v
        f.attrs["format_version"] = np.int32(1)


@case(timeout=90)
def case_old_layout(wd):
    """Format 1 files (message string[256] before 2026-12, string[1024]
    after; no params) still open in ductwatch info, export and report: the
    message as the file has it, marked cut where it filled 256 bytes, and
    no parameters."""
    long = ("Possible blocked duct at left lower-inner outer, 1.4 C warmer. " * 8)[:400]
    short = "Possible localized warmth at left lower-inner outer."
    path = record_alerts(wd, [(long, T1_PARAMS), (short, T1_PARAMS)])
    for width in (256, 1024):
        old = wd.path("old-%d.h5" % width)
        shutil.copy(path, old)
        rewrite_as_format1(old, width)
        st, out, err = ductwatch("info", old)
        check(st == 0 and b"format 1\n" in out and b"2 alerts" in out,
              "info of a format 1 file: %d %r %s" % (st, out, err))
        rows = csv_alerts(wd, old)
        want = [long[:width], short]
        check([r["message"] for r in rows] == want and [r["params"] for r in rows] == ["", ""],
              "export of a %d-wide format 1 file: %r" % (width, rows))
        cells = report_cells(wd, old)
        cut = "message cut" if width == 256 else "message"
        check([c[0] for c in cells] == [(cut, want[0]), ("message", short)],
              "report of a %d-wide format 1 file: %r" % (width, [c[0] for c in cells]))
        check([c[1] for c in cells] == [("params", "not recorded")] * 2, "params %r" % cells)
    print("ok: format 1 files of 256 and 1024 bytes read back")


@case(timeout=120)
def case_pipeline(wd):
    path, bodies, t0, t1 = run(wd)
    check(bodies, "no alert reached the subscriber")
    with h5py.File(path, "r") as f:
        rows = {int(r["seq"]): r for r in f["alerts"][:]}
    for body in bodies:
        a = json.loads(body)
        for k in INTS:
            check(digits(body, k) == a[k], "%s differs from its digits" % k)
        check(t0 <= a["t_host_ns"] <= t1, "t_host_ns %d is not a time of this run (%d..%d)"
              % (a["t_host_ns"], t0, t1))
        check(int(float(a["stream"])) == a["stream"], "stream id %d is not an exact double"
              % a["stream"])
        r = rows.get(a["seq"])
        check(r is not None, "alert seq %d is not in the file (%r)" % (a["seq"], sorted(rows)))
        for k in ("id", "t_device_us", "t_host_ns"):
            check(int(r[k]) == a[k], "/alerts %s %d, the body said %d" % (k, r[k], a[k]))
        check(r["message"].decode() == a["message"], "message %r" % r["message"])
        check(json.loads(r["params"].decode()) == a["params"] and a["params"],
              "params %r, the body said %r" % (r["params"], a["params"]))
    print("ok: %d alert(s), every integer exact (t_host_ns %d in the file)"
          % (len(bodies), rows[json.loads(bodies[0])["seq"]]["t_host_ns"]))


if __name__ == "__main__":
    dwtest.main(fixture=dwtest.Run)
