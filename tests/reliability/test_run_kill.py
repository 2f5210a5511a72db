"""kill -9 of acquisition and of detection under `ductwatch run` (real
acquire, detect and recorder; tests/lib/testgarment standing in for the
simulator, which answers HELLO_REQUEST like a garment).

The supervisor restarts the killed stage and the rest keeps running: one
session file from the one recorder, which never stopped. The garment frames
that went by while acquire was down are accounted: the holes in the device
sequence of the frames the file holds (/frames, /hellos, /device_status)
add up exactly to the `missing` of the `gap` rows in /events (acquire's,
and the recorder's for frames that fell between the killed acquire and its
successor), the recorder marks the new stream (`stream-restart`),
and the run's summary says the same."""
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import dwtest  # noqa: E402
from dwtest import case, check, children, kill_stage, prog, run_ended  # noqa: E402


@case(timeout=120, suites=["slow"])
def test_kill_acquire_and_detect(t):
    import h5py
    sessions = t.path("sessions")
    env = t.env
    env.update(DUCTWATCH_SIM=prog("testgarment"), DUCTWATCH_RECORD=prog("ductwatch-record"),
               DUCTWATCH_DETECT=prog("ductwatch-detect"),
               DUCTWATCH_ACQUIRE=prog("ductwatch-acquire"))
    p = t.spawn(["ductwatch", "run", "--duration", "20m", "--speed", "60", "--dir",
                 sessions])
    p.until(r"^recording to ")
    time.sleep(2)
    before = children(p.pid)
    for victim in ("ductwatch-acquire", "ductwatch-detect"):
        kill_stage(p, victim)
        # the others keep running: same process ids
        for name, pid in children(p.pid).items():
            if name in before and name not in ("ductwatch-acquire", "ductwatch-detect"):
                check(pid == before[name], "%s was restarted too" % name)
        time.sleep(2)
    out = run_ended(p, restarted=("ductwatch-acquire", "ductwatch-detect"))
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
        bridged = sum(int(r["missing"]) for r in ev if r["kind"] == b"gap" and
                      r["text"] == b"garment frames lost while acquire restarted")
    # acquire's own gap events, and what fell between the killed acquire
    # and its successor (the recorder's gap rows)
    gaps = sum(m for k, s, m in kinds if k == "gap" and s == "acquire") + bridged
    check(("stream-restart", "record", 0) in kinds, "no stream-restart recorded: %r" % kinds)
    check(holes > 0 and holes == gaps, "device seq holes %d, acquire gap events say %d missing"
          % (holes, gaps))
    m = re.search(r"device seq gaps (\d+) \(frames missing (\d+)\)", out)
    check(m and int(m.group(2)) == gaps, "summary loss line vs the file: %r, %d (gap rows "
          "%r, bridged %d)\n%s" % (m and m.group(0), gaps,
                                    [x for x in kinds if x[0] == "gap"], bridged, out))
    check(len(ds) > 5000, "only %d frames recorded" % len(ds))
    print("run with kill -9 of acquire and detect: %d frames recorded in one file, %d garment "
          "frames lost while acquire restarted, all accounted as gap events (%d of them between the "
          "two acquire streams); detect restarted" % (len(ds), holes, bridged))


if __name__ == "__main__":
    dwtest.main(fixture=dwtest.Run)
