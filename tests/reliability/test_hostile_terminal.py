"""Text from outside on a terminal (issue 21, item 6): an event text or an
alert message holding terminal escapes (OSC retitle, clear screen, BEL, the
C1 CSI U+009B, DEL) is shown escaped by `ductwatch view` and `ductwatch
alerts`, on a real pseudo-terminal, and by `ductwatch run` (its event
lines above the status line, a symptom logged through `ductwatch log`
while it runs); `alerts --json` lines stay the same
JSON with no raw control character; a program's log line that quotes a
topic from outside (the recorder's refusal) shows it escaped too. The
publisher is the test's own (a compromised acquire or detect, or a broker
in between). `ductwatch info` shows the texts of a session file escaped
too: a file is input, and its event kinds and alert rules came from messages."""
import json
import os
import pty
import signal
import sys
import time

import h5py

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import dwtest  # noqa: E402
from dwtest import HELLO, SAMPLE, case, check, read_pty  # noqa: E402
from dwtest.record import Recorder  # noqa: E402
from dwtest.report import ductwatch, mksession  # noqa: E402
from hostilelib import Publisher, hello_payload, sample_payload  # noqa: E402

HOSTILE = "\x1b]0;TITLE\x07\x1b[2J\u009b2J\x7fend"
SHOWN = "\\x1b]0;TITLE\\x07\\x1b[2J\\u009b2J\\x7fend"


def on_pty(t, argv):
    """Starts argv with stdout and stderr on a new pseudo-terminal; returns
    (proc, master fd)."""
    master, slave = pty.openpty()
    p = t.spawn(argv, stdout=slave, stderr=slave)
    os.close(slave)
    return p, master


def assert_escaped(out, what):
    text = out.decode("utf-8", "replace")
    check(b"\x1b]0;" not in out and b"\x07" not in out and "\u009b" not in text and
          b"\x7f" not in out, "%s put the raw escapes on the terminal: %r" % (what, out[-600:]))
    check(SHOWN in text, "%s does not show the text escaped (%r): %r" % (what, SHOWN, text[-600:]))


@case()
def test_view(t):
    ctx = t.ctx
    pub = Publisher(ctx, t)
    view, master = on_pty(t, ["ductwatch", "view", "--once", "--no-color", "--sub",
                              pub.ep, "--timeout", "10"])
    try:
        pub.wait_subscriber()
        time.sleep(0.2)
        pub.frame("frame.TTY-1", HELLO, hello_payload("TTY-1"), 0)
        pub.event("event.TTY-1", "symptom", text=HOSTILE, source="user")
        for k in range(5):
            pub.frame("frame.TTY-1", SAMPLE, sample_payload(k), k + 1)
        out = read_pty(master, view, 15, raw=True)
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


@case()
def test_alerts(t):
    ctx = t.ctx
    pub = Publisher(ctx, t)
    al, master = on_pty(t, ["ductwatch", "alerts", "--sub", pub.ep])
    try:
        pub.wait_subscriber()   # alerts subscribes to alert. only
        pub.send("alert.TTY-1", json.dumps(alert_body(1)).encode())
        out = read_pty(master, None, 10, until=lambda o: b"end" in o, raw=True)
        rc = al.stop()
    finally:
        pub.close()
        os.close(master)
    check(rc == 0, "alerts exit %d" % rc)
    assert_escaped(out, "ductwatch alerts")


@case()
def test_alerts_json(t):
    ctx = t.ctx
    pub = Publisher(ctx, t)
    al = t.spawn(["ductwatch", "alerts", "--json", "--sub", pub.ep])
    try:
        pub.wait_subscriber()   # alerts subscribes to alert. only
        # raw control characters inside the JSON string, as a broken
        # publisher could send them (JSON itself forbids them there)
        raw = json.dumps(alert_body(1), ensure_ascii=False).replace(
            "\\u001b", "\x1b").replace("\\u0007", "\x07").encode()
        check(b"\x1b" in raw, "test body has no raw ESC")
        pub.send("alert.TTY-1", raw)
        pub.send("alert.TTY-1", json.dumps(alert_body(2)).encode())
        lines = [al.line(10), al.line(10)]
        rc = al.stop()
        rest = al.rest(5)
    finally:
        pub.close()
    check(rc == 0, "alerts --json exit %d" % rc)
    check(rest == "\n".join(lines), "want 2 JSON lines, got %r" % rest)
    for ln in lines:
        check(not any(ord(c) < 0x20 or c == "\x7f" for c in ln), "raw control byte in %r" % ln)
        a = json.loads(ln)
        check(a["message"] == HOSTILE, "message changed: %r" % a["message"])


@case()
def test_log_line(t):
    pub = Publisher(t.ctx, t)
    rec = Recorder(t, [pub.ep], extra=["-v"], dir=t.path("rec"))
    try:
        pub.wait_subscriber()
        # a topic that is no device id: the recorder's warning quotes it
        pub.frame("frame." + HOSTILE, HELLO, hello_payload("TTY-1"), 0)
        pub.frame("frame.TTY-1", HELLO, hello_payload("TTY-1"), 0)
        pub.frame("frame.TTY-1", SAMPLE, sample_payload(1), 1)
        rec.wait_flushed(1)   # both came in, the refused one first
        rc = rec.stop()
    finally:
        pub.close()
    check(rc == 0, "record exit %d" % rc)
    err = rec.err
    said = [ln for ln in err.splitlines() if "refused a message on topic" in ln]
    check(said, "no refusal logged: %r" % err[-600:])
    check(not any(c in err for c in "\x1b\x07\u009b\x7f"),
          "the recorder's log put raw escapes on the terminal: %r" % said)
    check(SHOWN[:len("\\x1b]0;TITLE\\x07")] in said[0],
          "the log does not show the topic escaped: %r" % said)


@case(timeout=90)
def test_run(t):
    """`ductwatch run` on a terminal: a symptom text logged while it runs
    shows up in its event line escaped, like `view` shows it."""
    p, master = on_pty(t, ["ductwatch", "run", "--scenario", "healthy", "--duration", "2h",
                           "--speed", "60", "--no-report", "--no-web", "--dir",
                           t.path("sessions")])
    out = b""
    try:
        out = read_pty(master, p, 30, until=lambda o: b"recording to " in o, raw=True)
        check(b"recording to " in out, "run did not start recording: %r" % out[-600:])
        end = time.monotonic() + 15
        while True:   # acquire answers once the garment is on
            r = t.run(["ductwatch", "log", "symptom", "--text", HOSTILE, "--events",
                       "ipc://" + os.path.join(t.rundir, "current", "events")], timeout=10)
            if r.returncode == 0 or time.monotonic() > end:
                break
            time.sleep(0.3)
        check(r.returncode == 0, "ductwatch log symptom: %d %s" % (r.returncode, r.stderr))
        out += read_pty(master, p, 15, until=lambda o: b"end\" [user]" in o, raw=True)
        p.send_signal(signal.SIGINT)
        out += read_pty(master, p, 30, raw=True)
        rc = p.wait(30)
    finally:
        os.close(master)
    check(rc == 0, "run exit %s: %r" % (rc, out[-600:]))
    check(b"symptom" in out, "no event line for the symptom: %r" % out[-600:])
    assert_escaped(out, "ductwatch run")
    text = out.decode("utf-8", "replace")
    print("run's event line: %s" % [ln for ln in text.replace("\r", "\n").splitlines()
                                     if "symptom" in ln][0].strip())


@case(timeout=120)
def test_info(t):
    """A session file whose /events kind and /alerts rule and level hold
    escapes (16, 8 and 4 bytes wide): `ductwatch info` shows them escaped,
    and `info --json` carries them as JSON escapes (the 0x9b byte, not
    UTF-8, as U+FFFD)."""
    sess = t.path("s.h5")
    mksession(sess, "--hours", "0.2")
    with h5py.File(sess, "r+") as f:
        for name, field, value in (("events", "kind", b"\x1b]0;T\x07\x1b[2J"),
                                   ("alerts", "rule", b"\x1b[2J\x9b\x7f"),
                                   ("alerts", "level", b"\x1b[H")):
            row = f[name][0]
            row[field] = value
            f[name][0] = row
    st, out, err = ductwatch("info", sess)
    check(st == 0, "info: %d %s" % (st, err))
    check(not any(c in out for c in (b"\x1b", b"\x07", b"\x9b", b"\x7f")),
          "info put raw escapes on the terminal: %r" % out)
    text = out.decode()
    for shown in ("\\x1b]0;T\\x07\\x1b[2J", "\\x1b[2J\\x9b\\x7f \\x1b[H raised"):
        check(shown in text, "info does not show %s: %s" % (shown, text))
    print(text)
    st, out, err = ductwatch("info", "--json", sess)
    check(st == 0, "info --json: %d %s" % (st, err))
    check(not any(c in out for c in (b"\x1b", b"\x07", b"\x9b", b"\x7f")),
          "info --json put raw escapes on the terminal: %r" % out)
    info = json.loads(out)[0]
    check("\x1b]0;T\x07\x1b[2J" in info["events"] and
          "\x1b[2J\ufffd\x7f \x1b[H" in info["alerts"],
          "info --json does not carry the same texts: %s %s" % (info["events"], info["alerts"]))


if __name__ == "__main__":
    dwtest.main(fixture=dwtest.Run)
