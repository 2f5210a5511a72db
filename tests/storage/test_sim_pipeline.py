#!/usr/bin/python3
"""The simulator through the real pipeline into a session file:
ductwatch-sim (pty) -> ductwatch-acquire -> ductwatch-record. The file holds
every frame the simulator sent, contiguous, with no gap, and replaying it
gives back the simulator's own bytes (ductwatch-sim --out FILE of the same
seed), byte for byte: the values are exactly what the simulator encoded.

Environment: DW_PIPE_DURATION (default 4h of device time) and DW_PIPE_SPEED
(default 500 x real time: 5000 frames/s, within what the recorder takes on a
loaded 2-core machine)."""
import json
import os
import sys
import time

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import dwtest  # noqa: E402
from dwtest import case, check  # noqa: E402
from dwtest.garment import acquire  # noqa: E402
from dwtest.record import Recorder  # noqa: E402

DUR = os.environ.get("DW_PIPE_DURATION", "4h")
SPEED = os.environ.get("DW_PIPE_SPEED", "500")
ARGS = ["--scenario", "blocked-duct", "--seed", "3", "--duration", DUR, "-q"]


@case(timeout=180, parallel=False, suites=["sims"])
def case_replayed_bytes(wd):
    link = wd.path("garment")
    labels = wd.path("labels")
    pub = wd.ep("acquire")
    t0 = time.monotonic()
    sim = wd.spawn(["ductwatch-sim", *ARGS, "--speed", SPEED, "--out", "pty", "--pty-link",
                    link, "--labels", labels])
    sim.expect("pty: ")
    rec = Recorder(wd, [pub])
    acq, _, _ = acquire(wd, link, "--wait-subscribers", "1", "-q", pub=pub)
    path = rec.wait_file(timeout=60)
    check(sim.wait(600) == 0, "the simulator failed")
    wall = time.monotonic() - t0
    with open(labels) as f:
        summary = [json.loads(l) for l in f if '"summary"' in l][0]
    # the simulator ends once acquire read every byte; the rest is
    # done when the files hold every sample
    rec.wait_total_rows(summary["frames"]["sample"])
    check(acq.stop() == 0, "acquire exit status")
    check(rec.stop() == 0, "recorder: %s" % rec.err)
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
    ref = wd.path("ref.bin")
    rep = wd.path("rep.bin")
    check(wd.run(["ductwatch-sim", *ARGS, "--fast", "--out", ref], timeout=120).returncode == 0,
          "sim --out FILE")
    check(wd.run(["ductwatch-sim", "replay", path, "--fast", "--out", rep, "-q"],
                 timeout=120).returncode == 0,
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
    dwtest.main(fixture=dwtest.Run)
