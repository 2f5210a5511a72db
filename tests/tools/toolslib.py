"""Helpers for the tools tests: real processes, real sockets, private
runtime directories. Paths of the programs come from the environment
(set by tests/tools/meson.build)."""
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time

DUCTWATCH = os.environ["DW_DUCTWATCH"]
ACQUIRE = os.environ.get("DW_ACQUIRE", "")
FAKEGARMENT = os.environ["DW_FAKEGARMENT"]


class Fail(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Fail(what)


def private_env():
    """A fresh 0700 runtime dir; returns (env, dir)."""
    d = tempfile.mkdtemp(prefix="dwtools-")
    os.chmod(d, 0o700)
    env = dict(os.environ)
    env["DUCTWATCH_RUNTIME_DIR"] = d
    env.pop("JOURNAL_STREAM", None)
    return env, d


_bufs = {}


def read_line(proc, timeout=10.0):
    """One stdout line of a Popen(stdout=PIPE), or raises. Reads the raw fd
    (Python's own buffering would hide lines from select)."""
    fd = proc.stdout.fileno()
    buf = _bufs.setdefault(fd, bytearray())
    end = time.monotonic() + timeout
    while True:
        nl = buf.find(b"\n")
        if nl >= 0:
            line = bytes(buf[:nl]).decode()
            del buf[:nl + 1]
            return line
        left = end - time.monotonic()
        if left <= 0:
            raise Fail("timed out waiting for a line")
        r, _, _ = select.select([fd], [], [], min(left, 0.1))
        if r:
            chunk = os.read(fd, 65536)
            if not chunk:
                raise Fail("process closed stdout (exit %s)" % proc.poll())
            buf += chunk


class Lines:
    """A process's stdout lines as they come, all kept (for messages)."""

    def __init__(self, proc):
        self.proc = proc
        self.lines = []

    def until(self, pattern, timeout=30):
        """Reads lines until one matches pattern (a regex); returns it."""
        import re
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            line = read_line(self.proc, end - time.monotonic())
            self.lines.append(line)
            if re.search(pattern, line):
                return line
        raise Fail("timed out waiting for %r; got:\n%s" % (pattern, "\n".join(self.lines)))

    def rest(self, timeout=60):
        """Everything up to the end of stdout (or timeout between lines)."""
        while True:
            try:
                self.lines.append(read_line(self.proc, timeout))
            except Fail:
                break
        return "\n".join(self.lines)


class Garment:
    """fakegarment on a pty plus a real ductwatch-acquire reading it."""

    def __init__(self, env, rate=10):
        self.env = env
        self.acq = None
        try:
            self._start(env, rate)
        except BaseException:
            self.close()
            raise

    def _start(self, env, rate):
        self.fg = subprocess.Popen([FAKEGARMENT, "--rate", str(rate)], stdout=subprocess.PIPE,
                                   env=env)
        line = read_line(self.fg)
        check(line.startswith("pty: "), "fakegarment: %r" % line)
        self.pty = line[5:]
        self.acq = subprocess.Popen([ACQUIRE, "--port", self.pty], stdout=subprocess.PIPE,
                                    env=env)
        self.pub = read_line(self.acq)[5:]
        self.events = read_line(self.acq)[8:]

    def wait_data(self, ductwatch_env, timeout=10.0):
        """Until acquire accepts events (it has garment data)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            # A harmless probe would publish an event; use a stats look instead.
            import zmq
            ctx = zmq.Context.instance()
            s = ctx.socket(zmq.SUB)
            s.setsockopt(zmq.LINGER, 0)
            s.setsockopt(zmq.SUBSCRIBE, b"frame.")
            s.connect(self.pub)
            ok = s.poll(1000)
            s.close()
            if ok:
                return
        raise Fail("no frames from acquire")

    def close(self):
        procs = [p for p in (self.acq, getattr(self, "fg", None)) if p]
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def read_pty(master, proc, seconds):
    """What a process wrote to a pty (its master end), until it exits, the
    pty closes or seconds pass."""
    buf = b""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        r, _, _ = select.select([master], [], [], 0.2)
        if r:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            buf += chunk
        elif proc.poll() is not None:
            break
    return buf.decode("utf-8", "replace")


def run(args, env, timeout=20, **kw):
    return subprocess.run([DUCTWATCH] + args, env=env, capture_output=True, text=True,
                          timeout=timeout, **kw)


def main(tests):
    failed = 0
    for t in tests:
        t0 = time.monotonic()
        try:
            t()
            print("ok   %s (%.1f s)" % (t.__name__, time.monotonic() - t0), flush=True)
        except Exception as e:  # report every test, fail at the end
            failed += 1
            print("FAIL %s: %s: %s" % (t.__name__, type(e).__name__, e), flush=True)
    sys.exit(1 if failed else 0)
