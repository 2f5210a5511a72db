"""ductwatch-record as a real process, and what it says on stdout (the
file:, closed: and lost: lines of docs/storage.md)."""
import os
import re
import signal
import time

from .core import Fail, check


def swmr_frames(path):
    """How many frames a SWMR reader sees in path now; None when the file
    cannot be opened (yet)."""
    import h5py
    try:
        with h5py.File(path, "r", libver="latest", swmr=True) as f:
            return f["frames/seq"].shape[0]
    except OSError:
        return None


class Recorder:
    """ductwatch-record --dir DIR --sub EP... [extra]; DIR defaults to
    RUN/sessions."""

    def __init__(self, run, subs, extra=(), preexec=None, dir=None, env=None):
        self.dir = dir or run.path("sessions")
        os.makedirs(self.dir, exist_ok=True)
        argv = ["ductwatch-record", "--dir", self.dir]
        for s in subs:
            argv += ["--sub", s]
        kw = {"preexec_fn": preexec} if preexec else {}
        self.p = run.spawn(argv + list(extra), env=env, **kw)
        self.pid = self.p.pid

    @property
    def lines(self):
        return self.p.lines

    @property
    def err(self):
        return self.p.err_text()

    def read_line(self, timeout=10.0):
        return self.p.line(timeout)

    def wait_file(self, timeout=10.0):
        """The path of the next file it opens."""
        return self.p.until(r"^file: ", timeout)[6:]

    def flushed(self):
        """What the writer logged as flushed (needs -v): frame counts in
        order, one per flush of a file."""
        return [int(x) for x in re.findall(r"flushed, (\d+) frames in the file", self.err)]

    def wait_flushed(self, frames, timeout=60):
        """Until the writer logs a flush of a file holding at least frames
        (needs -v): what it says it made readable, rather than a guess at
        how long that takes. Returns the count it logged."""
        end = time.monotonic() + timeout
        while True:
            done = [n for n in self.flushed() if n >= frames]
            if done:
                return done[0]
            check(self.p.poll() is None and time.monotonic() < end,
                  "the recorder logged no flush of %d frames (exit %s); stderr: %s"
                  % (frames, self.p.poll(), self.err[-800:]))
            time.sleep(0.05)

    def wait_rows(self, path, rows, timeout=60):
        """Until a SWMR reader sees at least rows frames in path (the writer
        flushes at least once a second; how long that takes on this machine
        is not the question)."""
        end = time.monotonic() + timeout
        n = 0
        while True:
            seen = swmr_frames(path)
            n = n if seen is None else seen
            if n >= rows:
                return n
            check(self.p.poll() is None and time.monotonic() < end,
                  "%s: a reader sees %d frames, want %d (recorder exit %s)"
                  % (path, n, rows, self.p.poll()))
            time.sleep(0.1)

    def wait_total_rows(self, rows, timeout=120):
        """Until SWMR readers see at least rows frames over all the files it
        has opened so far."""
        end = time.monotonic() + timeout
        while True:
            self._new_lines()
            n = sum(swmr_frames(path) or 0 for path in self.files())
            if n >= rows:
                return n
            check(self.p.poll() is None and time.monotonic() < end,
                  "readers see %d frames in %d file(s), want %d (recorder exit %s)"
                  % (n, len(self.files()), rows, self.p.poll()))
            time.sleep(0.2)

    def _new_lines(self):
        while True:     # the file: lines printed so far
            try:
                self.p.line(0.01)
            except Fail:
                return

    def wait_row(self, table, what, timeout=120):
        """Until a SWMR reader finds, in one of its files, rows of /table
        for which what(rows) holds (e.g. acquire's stats row that counts
        every byte: everything before it in the stream is in the file)."""
        import h5py
        end = time.monotonic() + timeout
        while True:
            self._new_lines()
            for path in self.files():
                try:
                    with h5py.File(path, "r", libver="latest", swmr=True) as f:
                        if table in f and what(f[table][:]):
                            return path
                except OSError:
                    pass
            check(self.p.poll() is None and time.monotonic() < end,
                  "no such /%s row in %s (recorder exit %s)" % (table, self.files(), self.p.poll()))
            time.sleep(0.5)

    def stop(self, timeout=30, sig=signal.SIGTERM):
        """Stops it; its exit status, with all of its output read."""
        rc = self.p.stop(timeout, sig)
        self.p.rest(5)
        return rc

    def kill(self):
        self.p.kill()
        self.p.rest(5)

    def files(self):
        return [ln[6:] for ln in self.lines if ln.startswith("file: ")]

    def closed(self):
        return [ln for ln in self.lines if ln.startswith("closed: ")]


def recover(run, path):
    """ductwatch-record --recover PATH: its stdout (it must succeed)."""
    r = run.run(["ductwatch-record", "--recover", path], timeout=60)
    check(r.returncode == 0, "--recover %s: exit %d %s" % (path, r.returncode, r.stderr))
    return r.stdout


def replay_argv(*args):
    """`ductwatch-sim replay ARGS` through the storage tests' driver of
    sims/replay.c (the same code, without the rest of the simulator)."""
    return ["replay-driver", "replay", *args]
