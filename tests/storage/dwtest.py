"""Helpers for the storage tests: a private directory, the recorder as a
real process, and checks that fail with a readable message."""
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

RECORD = os.environ.get("DW_RECORD", "ductwatch-record")
REPLAY = os.environ.get("DW_REPLAY", "")
ACQUIRE = os.environ.get("DW_ACQUIRE", "")


def check(cond, msg):
    if not cond:
        print("FAIL:", msg, file=sys.stderr)
        sys.exit(1)


def replay_cmd(*args):
    """ductwatch-sim replay, or the storage tests' own build of it."""
    return [REPLAY, "replay", *args] if REPLAY else ["ductwatch-sim", "replay", *args]


class Workdir:
    def __init__(self):
        self.path = tempfile.mkdtemp(prefix="dwstorage-")
        os.environ["DUCTWATCH_RUNTIME_DIR"] = os.path.join(self.path, "run")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if exc[0] is None or not os.environ.get("DW_KEEP"):
            shutil.rmtree(self.path, ignore_errors=True)
        else:
            print("kept", self.path, file=sys.stderr)

    def ep(self, name):
        return "ipc://" + os.path.join(self.path, name)


class Recorder:
    def __init__(self, wd, subs, extra=(), preexec=None):
        self.dir = os.path.join(wd.path, "sessions")
        os.makedirs(self.dir, exist_ok=True)
        args = [RECORD, "--dir", self.dir]
        for s in subs:
            args += ["--sub", s]
        self.p = subprocess.Popen(args + list(extra), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, preexec_fn=preexec)
        self.lines = []
        self.err = ""

    def read_line(self, timeout=10.0):
        """The next stdout line (or None at the timeout / end)."""
        r, _, _ = select.select([self.p.stdout], [], [], timeout)
        if not r:
            return None
        line = self.p.stdout.readline()
        if line:
            self.lines.append(line.rstrip("\n"))
            return self.lines[-1]
        return None

    def wait_file(self, timeout=10.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            line = self.read_line(end - time.monotonic())
            if line is None:
                break
            if line.startswith("file: "):
                return line[6:]
        check(False, "recorder printed no 'file:' line; stderr: %s" % self.p.stderr.read())

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.p.poll() is None:
            self.p.send_signal(sig)
        out, err = self.p.communicate(timeout=timeout)
        self.lines += out.splitlines()
        self.err = err
        return self.p.returncode

    def kill(self):
        self.p.kill()
        out, err = self.p.communicate(timeout=10)
        self.lines += out.splitlines()
        self.err = err

    def files(self):
        return [l[6:] for l in self.lines if l.startswith("file: ")]

    def closed(self):
        return [l for l in self.lines if l.startswith("closed: ")]
