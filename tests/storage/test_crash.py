#!/usr/bin/python3
"""kill -9 of ductwatch-record in the middle of a session: the file does not
open as it is (SWMR flags still set), `ductwatch-record --recover` makes it
open in every reader, and it then holds every frame sent up to one flush
interval (1 s) before the kill, unchanged."""
import os
import signal
import subprocess
import sys
import time

import h5py

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dwstream as ds  # noqa: E402
from dwtest import RECORD, Recorder, Workdir, check  # noqa: E402


def main():
    with Workdir() as wd:
        ep = wd.ep("pub")
        p = ds.Publisher(ep, "bra-kill")
        rec = Recorder(wd, [ep])
        p.wait_subscriber()
        g = ds.Garment("bra-kill", rate=100, seed=9)
        p.frame(g.hello_frame())
        path = rec.wait_file()
        t0 = time.monotonic()
        while time.monotonic() - t0 < 3.5:
            for _ in range(5):
                p.frame(g.sample_frame())
            time.sleep(0.01)
        os.kill(rec.p.pid, signal.SIGKILL)
        t_kill = time.monotonic()
        rec.kill()
        check(rec.p.returncode == -signal.SIGKILL, "recorder was not killed")

        try:
            h5py.File(path, "r").close()
            opened = True
        except OSError:
            opened = False
        check(not opened, "a killed SWMR file opened without recovery: test is not testing")

        r = subprocess.run([RECORD, "--recover", path], capture_output=True, text=True,
                           timeout=30)
        check(r.returncode == 0, "--recover exit %d: %s" % (r.returncode, r.stderr))
        check("recovered" in r.stdout and "frames " in r.stdout, "--recover says: %r" % r.stdout)

        sent = [(s, d, t) for s, kind, d, t, when in p.sent
                if kind == ds.SAMPLE and when <= t_kill - 1.0]
        with h5py.File(path, "r") as f:
            n = f["frames/seq"].shape[0]
            check("frames %d," % n in r.stdout, "--recover count differs: %r" % r.stdout)
            check(n >= len(sent), "recovered %d frames, but %d were sent more than 1 s before "
                  "the kill" % (n, len(sent)))
            got = list(zip(f["frames/seq"][:len(sent)], f["frames/device_seq"][:len(sent)],
                           f["frames/t_device_us"][:len(sent)]))
            check(got == sent, "recovered frames differ from what was sent")
            for k in ("temperature_c", "pressure_kpa", "status", "t_host_ns"):
                check(f["frames/" + k].shape[0] >= n, "%s shorter than seq" % k)
        # a second recovery finds nothing to do
        r = subprocess.run([RECORD, "--recover", path], capture_output=True, text=True,
                           timeout=30)
        check(r.returncode == 0 and "nothing to recover" in r.stdout, "second --recover: %r"
              % r.stdout)
        print("ok: %d frames recovered, %d sent up to 1 s before the kill" % (n, len(sent)))


if __name__ == "__main__":
    main()
