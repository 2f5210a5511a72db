"""Text from outside on a terminal (issue 21, item 6): an event text or an
alert message holding terminal escapes (OSC retitle, clear screen, BEL, the
C1 CSI U+009B, DEL) is shown escaped by `ductwatch view` and `ductwatch
alerts`, on a real pseudo-terminal; `alerts --json` lines stay the same
JSON with no raw control character. The publisher is the test's own (a
compromised acquire or detect, or a broker in between)."""
import json
import os
import pty
import select
import subprocess
import time

import zmq

from hostilelib import (HELLO, PROG, SAMPLE, Publisher, Tmp, check, hello_payload, run,
                        sample_payload, stop)

HOSTILE = "\x1b]0;TITLE\x07\x1b[2J\u009b2J\x7fend"
SHOWN = "\\x1b]0;TITLE\\x07\\x1b[2J\\u009b2J\\x7fend"


def on_pty(t, argv):
    """Starts argv with stdout and stderr on a new pseudo-terminal; returns
    (proc, master fd)."""
    master, slave = pty.openpty()
    p = t.spawn(argv, stdout=slave, stderr=slave)
    os.close(slave)
    return p, master


def read_pty(master, until, timeout=15):
    """Bytes from the terminal until until(bytes) holds, the program closed
    it, or timeout."""
    out = b""
    end = time.monotonic() + timeout
    while not until(out) and time.monotonic() < end:
        r, _, _ = select.select([master], [], [], 0.2)
        if r:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
    return out


def assert_escaped(out, what):
    text = out.decode("utf-8", "replace")
    check(b"\x1b]0;" not in out and b"\x07" not in out and "\u009b" not in text and
          b"\x7f" not in out, "%s put the raw escapes on the terminal: %r" % (what, out[-600:]))
    check(SHOWN in text, "%s does not show the text escaped (%r): %r" % (what, SHOWN, text[-600:]))


def test_view():
    ctx = zmq.Context()
    with Tmp() as t:
        pub = Publisher(ctx, t)
        view, master = on_pty(t, [PROG["ductwatch"], "view", "--once", "--no-color", "--sub",
                                  pub.ep, "--timeout", "10"])
        try:
            pub.wait_subscriber()
            time.sleep(0.2)
            pub.frame("frame.TTY-1", HELLO, hello_payload("TTY-1"), 0)
            pub.event("event.TTY-1", "symptom", text=HOSTILE, source="user")
            for k in range(5):
                pub.frame("frame.TTY-1", SAMPLE, sample_payload(k), k + 1)
            out = read_pty(master, lambda o: False, 15)
            rc = view.wait(5)
        finally:
            pub.close()
            os.close(master)
        check(rc == 0, "view --once exit %s: %r" % (rc, out[-400:]))
        assert_escaped(out, "ductwatch view")


def alert_body(seq):
    return {"seq": seq, "stream": 1700000000000000001, "device": "TTY-1", "id": seq,
            "rule": "G3", "level": "L2", "state": "raised", "side": "left", "zone": 0,
            "zone_name": "left upper-outer outer", "value": 39.0, "threshold": 38.5,
            "t_device_us": 5000000, "t_host_ns": 1700000000000000000,
            "ruleset_version": "1", "params": {}, "message": HOSTILE}


def test_alerts():
    ctx = zmq.Context()
    with Tmp() as t:
        pub = Publisher(ctx, t)
        al, master = on_pty(t, [PROG["ductwatch"], "alerts", "--sub", pub.ep])
        try:
            pub.wait_subscriber()
            time.sleep(0.2)
            pub.send("alert.TTY-1", json.dumps(alert_body(1)).encode())
            out = read_pty(master, lambda o: b"end" in o, 10)
            rc = stop(al, "ductwatch alerts")
        finally:
            pub.close()
            os.close(master)
        check(rc == 0, "alerts exit %d" % rc)
        assert_escaped(out, "ductwatch alerts")


def test_alerts_json():
    ctx = zmq.Context()
    with Tmp() as t:
        pub = Publisher(ctx, t)
        al = t.spawn([PROG["ductwatch"], "alerts", "--json", "--sub", pub.ep])
        try:
            pub.wait_subscriber()
            time.sleep(0.2)
            # raw control characters inside the JSON string, as a broken
            # publisher could send them (JSON itself forbids them there)
            raw = json.dumps(alert_body(1), ensure_ascii=False).replace(
                "\\u001b", "\x1b").replace("\\u0007", "\x07").encode()
            check(b"\x1b" in raw, "test body has no raw ESC")
            pub.send("alert.TTY-1", raw)
            pub.send("alert.TTY-1", json.dumps(alert_body(2)).encode())
            r, _, _ = select.select([al.stdout], [], [], 10)
            time.sleep(0.5)
            rc = stop(al, "ductwatch alerts --json")
            out = al.stdout.read()
        finally:
            pub.close()
        check(rc == 0, "alerts --json exit %d" % rc)
        lines = out.split(b"\n")[:-1]
        check(len(lines) == 2, "want 2 JSON lines, got %r" % out)
        for ln in lines:
            check(not any(b < 0x20 or b == 0x7f for b in ln), "raw control byte in %r" % ln)
            a = json.loads(ln)
            check(a["message"] == HOSTILE, "message changed: %r" % a["message"])


if __name__ == "__main__":
    run([test_view, test_alerts, test_alerts_json])
