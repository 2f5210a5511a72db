"""ductwatch alerts: follows what a real ZeroMQ publisher sends, as JSON
lines (--json, bodies verbatim) or readable lines; exits 0 on SIGINT."""
import json
import os
import signal
import sys

import zmq

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import dwtest  # noqa: E402
from dwtest import case, check  # noqa: E402

ALERTS = [
    {"seq": 10, "stream": 1700000000000000000, "device": "bra-7", "id": "a1", "rule": "D1",
     "level": "L1", "state": "raised", "side": "left", "zone": 5,
     "zone_name": "left lower-inner outer", "value": 1.42, "threshold": 1.3,
     "t_device_us": 93784000000, "t_host_ns": 1764000000000000000, "ruleset_version": "1",
     "params": {"sustain_min": 120}, "message": "possible blocked duct, left lower-inner"},
    {"seq": 11, "stream": 1700000000000000000, "device": "bra-7", "id": "a2", "rule": "G2",
     "level": "L3", "state": "raised", "side": "none", "zone": -1, "zone_name": "",
     "value": 38.6, "threshold": 38.0, "t_device_us": 93790000000,
     "t_host_ns": 1764000001000000000, "ruleset_version": "1", "params": {},
     "message": "fever: seek care today"},
    {"seq": 12, "stream": 1700000000000000000, "device": "bra-7", "id": "a1", "rule": "D1",
     "level": "L1", "state": "cleared", "side": "left", "zone": 5,
     "zone_name": "left lower-inner outer", "value": 1.1, "threshold": 1.3,
     "t_device_us": 93800000000, "t_host_ns": 1764000002000000000, "ruleset_version": "1",
     "params": {}, "message": "cleared"},
]


def follow(t, extra):
    pub = t.ctx.socket(zmq.XPUB)
    pub.setsockopt(zmq.LINGER, 0)
    pub.bind("ipc://%s/detect" % t.rundir)
    p = t.spawn(["ductwatch", "alerts"] + extra)
    # Wait for its subscription so nothing is dropped by the PUB side.
    check(pub.poll(10000), "no subscription from ductwatch alerts")
    sub = pub.recv()
    check(sub == b"\x01alert.", "subscription %r" % sub)
    bodies = [json.dumps(a, separators=(",", ":")).encode() for a in ALERTS]
    for a, b in zip(ALERTS, bodies):
        pub.send_multipart([b"alert." + a["device"].encode(), b])
    # Something that is not an alert must not show (not subscribed anyway).
    pub.send_multipart([b"stats.bra-7", b'{"seq":13}'])
    lines = [p.line(10) for _ in ALERTS]
    rc = p.stop(10, signal.SIGINT)
    p.rest(5)
    rest = "\n".join(p.lines[len(lines):])
    check(rc == 0, "exit %d after SIGINT" % rc)
    return lines, bodies, rest


@case()
def test_json(t):
    lines, bodies, rest = follow(t, ["--json"])
    check([l.encode() for l in lines] == bodies, "json lines %r" % lines)
    check(rest == "", "extra output %r" % rest)


@case()
def test_text(t):
    lines, _, _ = follow(t, [])
    check("L1" in lines[0] and "raised" in lines[0] and "D1" in lines[0], lines[0])
    check("left lower-inner outer" in lines[0] and "possible blocked duct" in lines[0], lines[0])
    check("1d 02:03:04" in lines[0], "device time: %r" % lines[0])
    check("L3" in lines[1] and "G2" in lines[1] and "fever" in lines[1], lines[1])
    check("cleared" in lines[2], lines[2])
    check(all("\x1b" not in l for l in lines), "escape codes in text output")


if __name__ == "__main__":
    dwtest.main(fixture=dwtest.Run)
