"""kill -9 of acquisition and of detection under `ductwatch run` (real
acquire, detect and recorder; tests/tools/fakegarment standing in for the
simulator, which answers HELLO_REQUEST like a garment).

The supervisor restarts the killed stage and the rest keeps running: one
session file from the one recorder, which never stopped. The garment frames
that went by while acquire was down are accounted: the holes in the device
sequence of the frames the file holds (/frames, /hellos, /device_status)
add up exactly to the `missing` of acquire's `gap`
events in /events, the recorder marks the new stream (`stream-restart`),
and the run's summary says the same."""
import os
import re
import signal
import subprocess
import sys
import time

from rellib import PROG, FAKEGARMENT, Fail, Tmp, check, main, read_line

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from test_run import children  # noqa: E402  (a process's children by program name)


def test_kill_acquire_and_detect():
    import h5py
    with Tmp() as t:
        sessions = t.path("sessions")
        env = t.env
        env.update(DUCTWATCH_SIM=FAKEGARMENT, DUCTWATCH_RECORD=PROG["ductwatch-record"],
                   DUCTWATCH_DETECT=PROG["ductwatch-detect"],
                   DUCTWATCH_ACQUIRE=PROG["ductwatch-acquire"])
        p = t.spawn([PROG["ductwatch"], "run", "--duration", "20m", "--speed", "60", "--dir",
                     sessions], stderr=subprocess.DEVNULL)
        lines = []

        def until(pattern, timeout=30):
            end = time.monotonic() + timeout
            while time.monotonic() < end:
                line = read_line(p, end - time.monotonic())
                lines.append(line)
                if re.search(pattern, line):
                    return line
            raise Fail("timed out waiting for %r; got:\n%s" % (pattern, "\n".join(lines)))

        until(r"^recording to ")
        time.sleep(2)
        before = children(p.pid)
        for victim in ("ductwatch-acquire", "ductwatch-detect"):
            kids = children(p.pid)
            check(victim in kids, "%s not among run's children %r" % (victim, kids))
            os.kill(kids[victim], signal.SIGKILL)
            until(r"^%s killed by signal 9 .*restarting it in" % victim)
            until(r"^%s restarted" % victim)
            others = {k: v for k, v in children(p.pid).items() if k != victim}
            for name, pid in others.items():
                if name in before and name not in ("ductwatch-acquire", "ductwatch-detect"):
                    check(pid == before[name], "%s was restarted too" % name)
            time.sleep(2)
        while True:
            try:
                lines.append(read_line(p, 60))
            except Fail:
                break
        rc = p.wait(30)
        out = "\n".join(lines)
        check(rc == 0, "ductwatch run exit %d\n%s" % (rc, out))
        check("restarts: ductwatch-acquire 1" in out and "restarts: ductwatch-detect 1" in out,
              "restarts in the summary:\n" + out)
        files = re.findall(r"^session file: (\S+) ", out, re.M)
        check(len(files) == 1, "the recorder kept one file: %r" % files)
        with h5py.File(files[0], "r") as f:
            ds = [int(x) for x in f["frames/device_seq"][:]]
            # every garment frame the file holds: samples, HELLOs, STATUS
            every = sorted(ds + [int(x) for x in f["hellos"]["device_seq"][:]] +
                           [int(x) for x in f["device_status"]["device_seq"][:]])
            holes = sum(b - a - 1 for a, b in zip(every, every[1:]) if b != a + 1)
            ev = f["events"][:]
            kinds = [(r["kind"].decode(), r["source"].decode(), int(r["missing"])) for r in ev]
        gaps = sum(m for k, s, m in kinds if k == "gap" and s == "acquire")
        check(("stream-restart", "record", 0) in kinds, "no stream-restart recorded: %r" % kinds)
        check(holes > 0 and holes == gaps, "device seq holes %d, acquire gap events say %d missing"
              % (holes, gaps))
        m = re.search(r"device seq gaps (\d+) \(frames missing (\d+)\)", out)
        check(m and int(m.group(2)) == gaps, "summary loss line vs the file: %r, %d" %
              (m and m.group(0), gaps))
        check(len(ds) > 5000, "only %d frames recorded" % len(ds))
        print("run with kill -9 of acquire and detect: %d frames recorded in one file, %d garment "
              "frames lost while acquire restarted, all accounted as gap events; detect restarted"
              % (len(ds), holes))


if __name__ == "__main__":
    main([test_kill_acquire_and_detect])
