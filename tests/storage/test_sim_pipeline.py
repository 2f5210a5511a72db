#!/usr/bin/python3
"""The simulator through the real pipeline into a session file:
ductwatch-sim (pty) -> ductwatch-acquire -> ductwatch-record. The file holds
every frame the simulator sent, contiguous, with no gap, and replaying it
gives back the simulator's own bytes (ductwatch-sim --out FILE of the same
seed), byte for byte: the values are exactly what the simulator encoded.

Environment: DW_SIM, DW_ACQUIRE, DW_RECORD; DW_PIPE_DURATION (default 4h of
device time) and DW_PIPE_SPEED (default 500 x real time: 5000 frames/s,
within what the recorder takes on a loaded 2-core machine)."""
import glob
import json
import os
import signal
import subprocess
import sys
import time

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dwtest import ACQUIRE, Recorder, Workdir, check  # noqa: E402

SIM = os.environ["DW_SIM"]
DUR = os.environ.get("DW_PIPE_DURATION", "4h")
SPEED = os.environ.get("DW_PIPE_SPEED", "500")
ARGS = ["--scenario", "blocked-duct", "--seed", "3", "--duration", DUR, "-q"]


def main():
    with Workdir() as wd:
        link = os.path.join(wd.path, "garment")
        labels = os.path.join(wd.path, "labels")
        pub = wd.ep("acquire")
        t0 = time.monotonic()
        sim = subprocess.Popen([SIM, *ARGS, "--speed", SPEED, "--out", "pty", "--pty-link", link,
                                "--labels", labels], stdout=subprocess.PIPE, text=True)
        check(sim.stdout.readline().startswith("pty: "), "the simulator did not say its pty")
        rec = Recorder(wd, [pub])
        acq = subprocess.Popen([ACQUIRE, "--port", link, "--pub", pub, "--events", wd.ep("events"),
                                "--wait-subscribers", "1", "-q"], stdout=subprocess.PIPE, text=True)
        try:
            path = rec.wait_file(timeout=30)
            check(sim.wait(timeout=600) == 0, "the simulator failed")
            wall = time.monotonic() - t0
            time.sleep(2)
            acq.send_signal(signal.SIGTERM)
            check(acq.wait(timeout=15) == 0, "acquire exit status")
            time.sleep(1)
            check(rec.stop() == 0, "recorder: %s" % rec.err)
        finally:
            for p in (sim, acq):
                if p.poll() is None:
                    p.kill()
                    p.wait()
        with open(labels) as f:
            summary = [json.loads(l) for l in f if '"summary"' in l][0]
        files = sorted(rec.files())
        check(files and files[0] == path, "session files %r" % files)
        # more than --rotate (24 h) of device time is several files
        n, dseq, stream = 0, [], []
        for fp in files:
            with h5py.File(fp, "r") as f:
                fr = f["frames"]
                n += fr["seq"].shape[0]
                stream.append(fr["seq"][:])
                ev = f["events"][:]
                garment = ev[ev["source"] == b"garment"]
                dseq += [fr["device_seq"][:], f["device_status"]["device_seq"][:],
                         garment["device_seq"].astype(np.uint32)]
                if fp == files[0]:
                    dseq.append(f["hellos"]["device_seq"][:1])  # the garment's one HELLO
                check(not (ev["kind"] == b"gap").any(), "gap rows in a fault-free session")
                last = f["stats"][-1]
                check(last["source"] == b"record" and last["stream_gaps"] == 0 and
                      last["messages_missing"] == 0, "recorder counters %r" % (last,))
        want = summary["frames"]["sample"]
        check(n == want, "%d sample rows, the simulator sent %d" % (n, want))
        dseq = np.sort(np.concatenate(dseq))
        total = summary["frames"]["total"]
        check(len(dseq) == total and (dseq == np.arange(total)).all(),
              "device seqs are not exactly 0..%d" % (total - 1))
        check((np.diff(np.concatenate(stream).astype(np.int64)) > 0).all(), "stream seqs go back")
        if len(files) > 1:
            print("%s of blocked-duct at %sx: %d frames (%d samples) in %d files with no gap in %.1f s"
                  % (DUR, SPEED, total, n, len(files), wall))
            return
        # the simulator's own bytes, and the recording replayed
        ref = os.path.join(wd.path, "ref.bin")
        rep = os.path.join(wd.path, "rep.bin")
        check(subprocess.run([SIM, *ARGS, "--fast", "--out", ref]).returncode == 0, "sim --out FILE")
        check(subprocess.run([SIM, "replay", path, "--fast", "--out", rep, "-q"]).returncode == 0,
              "ductwatch-sim replay")
        with open(ref, "rb") as a, open(rep, "rb") as b:
            x, y = a.read(), b.read()
        k = next((i for i, (p, q) in enumerate(zip(x, y)) if p != q), min(len(x), len(y)))
        check(x == y, "the replay differs from the simulator's bytes at byte %d (%d vs %d bytes)"
              % (k, len(x), len(y)))
        print("%s of blocked-duct at %sx: %d frames (%d samples) recorded with no gap in %.1f s; "
              "the replay equals the simulator's %d bytes" % (DUR, SPEED, summary["frames"]["total"],
                                                              n, wall, len(x)))


if __name__ == "__main__":
    main()
