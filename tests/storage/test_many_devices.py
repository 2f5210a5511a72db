#!/usr/bin/python3
"""Many devices into one ductwatch-record: every device gets its own file
with exactly its frames; what the writer logs as flushed (it flushes every
file at least once a second, the flushes spread over the second) is what a
SWMR reader sees while it still runs; the recorder raises its soft limit of
open files to the hard limit, and when the hard limit is reached it stops
with an error that names the limit (not HDF5's "unable to open file").
How long the flushes took after the last sample is printed, not asserted."""
import os
import re
import resource
import sys
import time

import h5py
import zmq

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import dwtest  # noqa: E402
import dwtest.wire as ds  # noqa: E402
from dwtest import Fail, case, check  # noqa: E402
from dwtest.record import Recorder  # noqa: E402

DEVICES = 120
SAMPLES = 25   # per device, 10 Hz: 2.5 s of data, so every file sees several flushes


class Fleet:
    """DEVICES garments on one XPUB socket, each with its own stream."""

    def __init__(self, ctx, endpoint, n):
        self.sock = ctx.socket(zmq.XPUB)
        self.sock.setsockopt(zmq.LINGER, 2000)
        self.sock.setsockopt(zmq.SNDHWM, 0)
        self.sock.bind(endpoint)
        base = time.time_ns()
        self.g = [ds.Garment("fleet-%03d" % i, seed=i, rate=10) for i in range(n)]
        self.stream = [base + 4096 * i for i in range(n)]
        self.seq = [0] * n
        self.sent = [[] for _ in range(n)]   # stream seqs of the SAMPLEs

    def wait_subscriber(self, timeout=10.0):
        check(self.sock.poll(int(timeout * 1000)), "the recorder did not subscribe")
        self.sock.recv()

    def send(self, i, f):
        ftype, dseq, t_us, payload = f
        self.seq[i] += 1
        body = ds.frame_body(ftype, dseq, self.seq[i], self.stream[i], t_us, time.time_ns(),
                             payload)
        self.sock.send_multipart([("frame." + self.g[i].device).encode(), body])
        if ftype == ds.SAMPLE:
            self.sent[i].append(self.seq[i])

    def close(self):
        self.sock.close()


def fd_limit(soft, hard):
    return lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def start(wd, soft, hard):
    """The garments and a recorder under fd limits (soft, hard); every HELLO sent."""
    ep = wd.ep("pub")
    fl = Fleet(wd.ctx, ep, DEVICES)
    # one session file per garment (--layout auto would make 120 garments a fleet)
    rec = Recorder(wd, [ep], extra=["-v", "--layout", "session"], preexec=fd_limit(soft, hard))
    fl.wait_subscriber()
    for i in range(DEVICES):
        fl.send(i, fl.g[i].hello_frame())
    return fl, rec


def wait_files(rec, n, timeout=60.0):
    end = time.monotonic() + timeout
    files = []
    while len(files) < n and time.monotonic() < end:
        try:
            line = rec.read_line(max(0.1, end - time.monotonic()))
        except Fail:
            break   # it ended, or printed nothing more
        if line.startswith("file: "):
            files.append(line[6:])
    return files


def wait_all_flushed(rec, devices, frames, timeout=120):
    """Until the writer logged, for every device, a flush of its file with
    frames in it; the seconds that took (reported only)."""
    t0 = time.monotonic()
    pending = set(devices)
    while pending:
        for dev, n in re.findall(r"^ductwatch-record: debug: (\S+): flushed, (\d+) frames in the "
                                 r"file$", rec.err, re.M):
            if int(n) >= frames:
                pending.discard(dev)
        check(time.monotonic() - t0 < timeout and rec.p.poll() is None,
              "the writer logged no flush of %d frames for %d device(s), e.g. %s"
              % (frames, len(pending), sorted(pending)[:3]))
        time.sleep(0.05)
    return time.monotonic() - t0


@case(timeout=120)
def case_raised_limit(wd):
    """Soft limit 32, hard 1024: 120 files only fit once the recorder has
    raised its soft limit."""
    fl, rec = start(wd, 32, 1024)
    files = wait_files(rec, DEVICES)
    check(len(files) == DEVICES, "%d of %d files opened with a soft fd limit of 32; "
          "stderr: %s" % (len(files), DEVICES, rec.err[-800:]))
    t0 = time.monotonic()
    for k in range(SAMPLES):
        for i in range(DEVICES):
            fl.send(i, fl.g[i].sample_frame())
        time.sleep(max(0.0, t0 + (k + 1) * 0.1 - time.monotonic()))
    took = wait_all_flushed(rec, [g.device for g in fl.g], SAMPLES)
    # While it still runs (SWMR): every file holds what its flush said.
    for i, path in enumerate(files):
        with h5py.File(path, "r", libver="latest", swmr=True) as f:
            n = f["frames/seq"].shape[0]
            check(n == SAMPLES, "%s: the writer logged a flush of %d frames, a SWMR reader "
                  "sees %d" % (path, SAMPLES, n))
    rc = rec.stop()
    fl.close()
    check(rc == 0, "recorder exit %d: %s" % (rc, rec.err))
    closed = rec.closed()
    check(len(closed) == DEVICES, "%d closed lines" % len(closed))
    for line in closed:
        check(re.search(r"frames %d, .*gaps 0 \(0 missing\)" % SAMPLES, line),
              "summary: %s" % line)
    for i, path in enumerate(files):
        check(os.path.basename(path).startswith(fl.g[i].device + "-"),
              "file %s is not device %s's" % (path, fl.g[i].device))
        with h5py.File(path, "r") as f:
            dev = f.attrs["device_id"]
            dev = dev.decode() if isinstance(dev, bytes) else str(dev)
            check(dev == fl.g[i].device, "%s: device_id %r" % (path, dev))
            check(list(f["frames/seq"][:]) == fl.sent[i], "%s: frames differ" % path)
    print("%d devices, %d files of %d frames each, soft fd limit 32 raised; every file "
          "flushed within %.2f s of the last sample (the writer's log; not asserted)"
          % (DEVICES, len(files), SAMPLES, took))


@case(timeout=90)
def case_hard_limit(wd):
    """Hard limit 48: the recorder stops at the file that does not fit, says
    why, exits 1, and the files it had are closed properly."""
    fl, rec = start(wd, 48, 48)
    files = wait_files(rec, DEVICES, timeout=30)
    rc = rec.stop()
    fl.close()
    check(rc == 1, "recorder exit %s at the fd limit (want 1)" % rc)
    check(0 < len(files) < DEVICES, "%d files opened under a limit of 48" % len(files))
    check(re.search(r"limit of open files is 48", rec.err), "no clear error: %r" % rec.err)
    check(len(rec.closed()) == len(files), "%d closed of %d opened" % (len(rec.closed()),
                                                                       len(files)))
    for path in files:
        with h5py.File(path, "r") as f:
            check(f["frames/seq"].shape[0] == 0, "%s: frames?" % path)
    err = [l for l in rec.err.splitlines() if "open files" in l]
    print("%d files then exit 1 with: %s" % (len(files), err[0] if err else ""))


if __name__ == "__main__":
    dwtest.main(fixture=dwtest.Run)
