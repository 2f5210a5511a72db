#!/usr/bin/python3
"""Alerts through the real pipeline keep their 64-bit fields exact:
ductwatch-sim (pty) -> acquire -> detect -> record, and a subscriber of
detect's alerts. Every integer of an alert body is written as digits (detect
used to print t_host_ns and its stream id through a double, with an
exponent: 1.7654321098765432e+18), t_host_ns is a host time in ns of this
run, and the recorder's /alerts row holds the same numbers as the body, to
the nanosecond. An alert message of 1000 bytes (detect writes up to 767) is
in the file whole (the column used to cut at 255)."""
import json
import os
import re
import sys
import time

import h5py

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import dwtest  # noqa: E402
from dwtest import case, check, subscribe  # noqa: E402
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


def long_message(wd):
    """A publisher of documented bodies -> record: the longest messages whole."""
    ep = wd.ep("long")
    p = Publisher(ep, "bra-long")
    g = Garment(device="bra-long")
    rec = Recorder(wd, [ep])
    msg = ("Possible blocked duct at left lower-inner outer: 1.4 \u00b0C warmer. " * 20)[:999]
    try:
        p.wait_subscriber()
        p.frame(g.hello_frame())
        p.frame(g.sample_frame())
        p.alert(g.t, message=msg)
        p.alert(g.t, state="cleared", message="x" * 1023)
        path = rec.wait_file()
        rec.wait_row("alerts", lambda rows: len(rows) >= 2, 60)
        check(rec.stop() == 0, "recorder: %s" % rec.err)
    finally:
        p.close()
    with h5py.File(path, "r") as f:
        got = [m.decode() for m in f["alerts"]["message"]]
    check(got == [msg, "x" * 1023], "messages cut: %r" % [len(m) for m in got])


@case(timeout=60)
def case_long_message(wd):
    long_message(wd)


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
    print("ok: %d alert(s), every integer exact (t_host_ns %d in the file)"
          % (len(bodies), rows[json.loads(bodies[0])["seq"]]["t_host_ns"]))


if __name__ == "__main__":
    dwtest.main(fixture=dwtest.Run)
