"""ductwatch alerts: follows what a real ZeroMQ publisher sends, as JSON
lines (--json, bodies verbatim) or readable lines; exits 0 on SIGINT."""
import json
import shutil
import signal
import subprocess

import zmq

from toolslib import DUCTWATCH, Fail, check, main, private_env, read_line

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


def follow(extra):
    env, d = private_env()
    ctx = zmq.Context.instance()
    pub = ctx.socket(zmq.XPUB)
    pub.setsockopt(zmq.LINGER, 0)
    pub.bind("ipc://%s/detect" % d)
    p = subprocess.Popen([DUCTWATCH, "alerts"] + extra, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env)
    try:
        # Wait for its subscription so nothing is dropped by the PUB side.
        check(pub.poll(10000), "no subscription from ductwatch alerts")
        sub = pub.recv()
        check(sub == b"\x01alert.", "subscription %r" % sub)
        bodies = [json.dumps(a, separators=(",", ":")).encode() for a in ALERTS]
        for a, b in zip(ALERTS, bodies):
            pub.send_multipart([b"alert." + a["device"].encode(), b])
        # Something that is not an alert must not show (not subscribed anyway).
        pub.send_multipart([b"stats.bra-7", b'{"seq":13}'])
        lines = [read_line(p, 10) for _ in ALERTS]
        p.send_signal(signal.SIGINT)
        rc = p.wait(5)
        rest = p.stdout.read().decode()
        check(rc == 0, "exit %d after SIGINT" % rc)
        return lines, bodies, rest
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        pub.close()
        shutil.rmtree(d)


def test_json():
    lines, bodies, rest = follow(["--json"])
    check([l.encode() for l in lines] == bodies, "json lines %r" % lines)
    check(rest == "", "extra output %r" % rest)


def test_text():
    lines, _, _ = follow([])
    check("L1" in lines[0] and "raised" in lines[0] and "D1" in lines[0], lines[0])
    check("left lower-inner outer" in lines[0] and "possible blocked duct" in lines[0], lines[0])
    check("1d 02:03:04" in lines[0], "device time: %r" % lines[0])
    check("L3" in lines[1] and "G2" in lines[1] and "fever" in lines[1], lines[1])
    check("cleared" in lines[2], lines[2])
    check(all("\x1b" not in l for l in lines), "escape codes in text output")


if __name__ == "__main__":
    main([test_json, test_text])
