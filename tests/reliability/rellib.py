"""Helpers for the reliability tests: the programs under test (paths from
the environment, set by tests/reliability/meson.build), private runtime
directories, a scripted garment on a real pseudo-terminal, and a stream
subscriber that checks the stream sequence."""
import json
import os
import pty
import select
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import tty

_here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(_here, "..", "interop"))
sys.path.insert(0, os.path.join(_here, "..", "tools"))
import pygarment  # noqa: E402  (the independent garment written from docs/protocol.md)
from toolslib import Fail, read_line  # noqa: E402,F401  (stdout lines of a Popen, raw fd)

PROG = {
    "ductwatch": os.environ.get("DW_DUCTWATCH", ""),
    "ductwatch-acquire": os.environ.get("DW_ACQUIRE", ""),
    "ductwatch-detect": os.environ.get("DW_DETECT", ""),
    "ductwatch-record": os.environ.get("DW_RECORD", ""),
    "ductwatch-keygen": os.environ.get("DW_KEYGEN", ""),
    "ductwatch-broker": os.environ.get("DW_BROKER", ""),
}
REPLAY = os.environ.get("DW_REPLAY", "")
FAKEGARMENT = os.environ.get("DW_FAKEGARMENT", "")
TESTGARMENT = os.environ.get("DW_TESTGARMENT", "")

# docs/messages.md section 3: the binary frame body header.
FRAME_HDR = struct.Struct("<BBHIQQQQ")


def check(cond, what):
    if not cond:
        raise Fail(what)


class Tmp:
    """A private 0700 directory with a runtime dir inside; removed at the end."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="dwrel-")
        os.chmod(self.dir, 0o700)
        self.run = os.path.join(self.dir, "run")
        os.mkdir(self.run, 0o700)
        self.env = dict(os.environ, DUCTWATCH_RUNTIME_DIR=self.run)
        self.env.pop("JOURNAL_STREAM", None)
        self.procs = []

    def path(self, *p):
        return os.path.join(self.dir, *p)

    def spawn(self, argv, **kw):
        kw.setdefault("stdout", subprocess.PIPE)
        p = subprocess.Popen(argv, env=self.env, **kw)
        self.procs.append(p)
        return p

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                pass
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


def start_acquire(t, port, *args):
    """acquire on port with private endpoints; returns (proc, pub, events)."""
    pub = "ipc://%s" % t.path("acq-pub")
    events = "ipc://%s" % t.path("acq-events")
    a = t.spawn([PROG["ductwatch-acquire"], "--port", port, "--pub", pub, "--events", events,
                 *args], stderr=subprocess.PIPE)
    check(read_line(a) == "pub: " + pub, "acquire pub line")
    check(read_line(a) == "events: " + events, "acquire events line")
    return a, pub, events


def stop(p, what, timeout=15):
    """SIGTERM; the exit status."""
    if p.poll() is None:
        p.terminate()
    try:
        return p.wait(timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        raise Fail("%s did not stop on SIGTERM within %d s" % (what, timeout))


class PtyGarment:
    """The garment end of a real pseudo-terminal, written by the test (raw
    mode). Frames come from tests/interop/pygarment.py."""

    def __init__(self):
        self.master, slave = pty.openpty()
        tty.setraw(slave)
        self.path = os.ttyname(slave)
        self.slave = slave  # kept open so the pty stays up between writes
        self.g = pygarment.Garment(device_id="REL-1")
        self.t_us = 0

    def write(self, data):
        view = memoryview(data)
        while view:
            _, w, _ = select.select([], [self.master], [], 5)
            check(w, "pty not writable for 5 s")
            n = os.write(self.master, view)
            view = view[n:]

    def drain_host(self):
        """Bytes acquire wrote (HELLO_REQUESTs), thrown away."""
        while select.select([self.master], [], [], 0)[0]:
            try:
                if not os.read(self.master, 4096):
                    return
            except OSError:
                return

    def close(self):
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass


class Stream:
    """A subscriber's view of one acquire stream: duplicates (backlog
    replays) dropped by seq, gaps counted."""

    def __init__(self, sock):
        self.sock = sock
        self.stream = None
        self.last = 0
        self.first = None
        self.gaps = self.missing = self.dups = 0
        self.frames = []   # frame dicts, in order
        self.events = []
        self.stats = None
        self.n_stats = 0

    def poll(self, timeout_ms):
        import zmq
        got = 0
        if not self.sock.poll(timeout_ms):
            return 0
        while True:
            try:
                topic, body = self.sock.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return got
            kind = topic.decode().split(".", 1)[0]
            if kind == "frame":
                h = FRAME_HDR.unpack_from(body)
                m = dict(type=h[1], len=h[2], device_seq=h[3], seq=h[4], stream=h[5],
                         t_device_us=h[6], t_host_ns=h[7], payload=body[FRAME_HDR.size:])
            else:
                m = json.loads(body)
            seq, stream = int(m["seq"]), int(m["stream"])
            if self.stream is None:
                self.stream = stream
            check(stream == self.stream, "stream id changed")
            if seq <= self.last:
                self.dups += 1
                continue
            if self.first is None:
                self.first = seq
            if seq != self.last + 1:
                self.gaps += 1
                self.missing += seq - self.last - 1
            self.last = seq
            if kind == "frame":
                self.frames.append(m)
            elif kind == "event":
                self.events.append(m)
            elif kind == "stats":
                self.stats = m
                self.n_stats += 1
            got += 1

    def until(self, cond, timeout):
        end = time.monotonic() + timeout
        while not cond() and time.monotonic() < end:
            self.poll(100)
        return cond()


def subscribe(ctx, ep, hwm=0):
    import zmq
    s = ctx.socket(zmq.SUB)
    s.setsockopt(zmq.RCVHWM, hwm)
    s.setsockopt(zmq.LINGER, 0)
    s.connect(ep)
    s.setsockopt(zmq.SUBSCRIBE, b"")
    return s


def main(tests):
    """Runs each test; 77 (skip) if every one of them skipped."""
    failed = skipped = 0
    for t in tests:
        t0 = time.monotonic()
        try:
            r = t()
            if r == "skip":
                skipped += 1
                print("skip %s" % t.__name__, flush=True)
            else:
                print("ok   %s (%.1f s)" % (t.__name__, time.monotonic() - t0), flush=True)
        except Exception as e:  # report every test, fail at the end
            failed += 1
            print("FAIL %s: %s: %s" % (t.__name__, type(e).__name__, e), flush=True)
    if failed:
        sys.exit(1)
    sys.exit(77 if skipped == len(tests) else 0)
