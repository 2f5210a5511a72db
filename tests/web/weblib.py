"""Helpers for the ductwatch-web tests: the real pipeline (simulator on a
pty, acquire, detect, record, web) in a private runtime directory, HTTP
requests with http.client, an event-stream reader, a stream subscriber.
On tests/pylib/dwtest: the programs are the build's (dwtest.prog)."""
import http.client
import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import threading
import time

import zmq

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from dwtest import Fail, check, prog, stop_all, wait_for  # noqa: E402,F401


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Lines:
    """A process's stdout, line by line, read from the raw descriptor."""

    def __init__(self, proc):
        self.proc, self.buf, self.lines = proc, bytearray(), []

    def line(self, timeout=10.0):
        fd, end = self.proc.stdout.fileno(), time.monotonic() + timeout
        while True:
            nl = self.buf.find(b"\n")
            if nl >= 0:
                line = bytes(self.buf[:nl]).decode()
                del self.buf[:nl + 1]
                self.lines.append(line)
                return line
            left = end - time.monotonic()
            if left <= 0:
                raise Fail("no line from %s within %.0f s" % (self.proc.args[0], timeout))
            r, _, _ = select.select([fd], [], [], min(left, 0.2))
            if r:
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise Fail("%s closed stdout (exit %s)" % (self.proc.args[0], self.proc.poll()))
                self.buf += chunk


def private_env(tmp):
    run = os.path.join(tmp, "run")
    os.mkdir(run, 0o700)
    env = dict(os.environ)
    env["DUCTWATCH_RUNTIME_DIR"] = run
    env.pop("JOURNAL_STREAM", None)
    return env, run


class Web:
    """ductwatch-web: its URL, token and base address."""

    def __init__(self, env, args, listen="127.0.0.1:0", log=None):
        self.env, self.args, self.listen_arg = env, list(args), listen
        self.log = log
        self.start()

    def start(self):
        err = open(self.log, "ab") if self.log else subprocess.DEVNULL
        self.proc = subprocess.Popen([prog("ductwatch-web"), "--listen", self.listen_arg] + self.args,
                                     stdout=subprocess.PIPE, stderr=err, env=self.env)
        line = Lines(self.proc).line(15)
        m = re.match(r"url: (https?)://([^/]+)/\?token=([0-9a-f]{40})$", line)
        check(m, "ductwatch-web's first line: %r" % line)
        self.scheme, self.hostport, self.token = m.group(1), m.group(2), m.group(3)
        self.url = line[5:]
        self.base = "%s://%s" % (self.scheme, self.hostport)
        self.port = int(self.hostport.rsplit(":", 1)[1])

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(10)


def request(web, method, path, body=None, headers=None, auth=True, timeout=10):
    """(status, headers dict (lower-case names), body bytes)."""
    h = dict(headers or {})
    if auth is True:
        h["Authorization"] = "Bearer " + web.token
    elif isinstance(auth, str):
        h["Authorization"] = auth
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
        h.setdefault("Content-Type", "application/json")
    c = http.client.HTTPConnection("127.0.0.1", web.port, timeout=timeout)
    try:
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data
    finally:
        c.close()


def get_json(web, path, status=200):
    st, _, body = request(web, "GET", path)
    check(st == status, "GET %s: %d %s" % (path, st, body[:200]))
    return json.loads(body)


class EventStream:
    """GET /api/stream read in a thread: (name, data) pairs as they come."""

    def __init__(self, web):
        self.events, self.closed = [], False
        self.c = http.client.HTTPConnection("127.0.0.1", web.port, timeout=30)
        self.c.request("GET", "/api/stream", headers={"Authorization": "Bearer " + web.token})
        self.r = self.c.getresponse()
        check(self.r.status == 200, "event stream: %d" % self.r.status)
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        name, data = None, []
        try:
            while True:
                line = self.r.fp.readline()
                if not line:
                    break
                line = line.decode().rstrip("\n")
                if line.startswith("event: "):
                    name = line[7:]
                elif line.startswith("data: "):
                    data.append(line[6:])
                elif line == "":
                    if name:
                        self.events.append((time.monotonic(), name, json.loads("\n".join(data))))
                    name, data = None, []
        except (OSError, ValueError):
            pass
        self.closed = True

    def named(self, name):
        return [(t, d) for t, n, d in list(self.events) if n == name]

    def close(self):
        try:
            self.c.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.c.close()


class Subscriber:
    """A SUB socket on acquire's and detect's streams, collecting events,
    alerts and frame sequence numbers in a thread."""

    def __init__(self, endpoints):
        self.ctx = zmq.Context()
        self.s = self.ctx.socket(zmq.SUB)
        self.s.setsockopt(zmq.LINGER, 0)
        self.s.setsockopt(zmq.RCVHWM, 0)
        self.s.setsockopt(zmq.SUBSCRIBE, b"")
        for ep in endpoints:
            self.s.connect(ep)
        self.events, self.alerts, self.acq_seqs = [], [], []
        self.hello, self.sample = None, None  # latest payloads
        self.seen = set()
        self.stop_flag = False
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        while not self.stop_flag:
            if not self.s.poll(100):
                continue
            while True:
                try:
                    topic, body = self.s.recv_multipart(zmq.NOBLOCK)[:2]
                except zmq.Again:
                    break
                kind = topic.split(b".", 1)[0]
                if kind == b"frame":
                    self.acq_seqs.append(int.from_bytes(body[8:16], "little"))
                    if body[1] == 1:
                        self.hello = body[40:]
                    elif body[1] == 2:
                        self.sample = body[40:]
                elif kind == b"event":
                    e = json.loads(body)
                    self.acq_seqs.append(e["seq"])
                    # acquire replays its backlog to every subscriber when
                    # one joins (docs/messages.md 8): a repeat, not an event
                    if (e["stream"], e["seq"]) not in self.seen:
                        self.seen.add((e["stream"], e["seq"]))
                        self.events.append(e)
                elif kind == b"stats":
                    self.acq_seqs.append(json.loads(body)["seq"])
                elif kind == b"alert":
                    self.alerts.append(json.loads(body))

    def temperatures(self):
        """The latest sample's zone temperatures in deg C (docs/messages.md 3)."""
        import struct
        if not self.hello or not self.sample:
            return None
        n = self.hello[34]
        scale = struct.unpack_from("<I", self.hello, 36)[0] * 1e-6
        return [t * scale for t in struct.unpack_from("<%dh" % n, self.sample, 0)]

    def user_events(self, kind=None):
        return [e for e in list(self.events) if e["source"] == "user" and
                (kind is None or e["kind"] == kind)]

    def gaps(self):
        """Holes in acquire's stream seq as this subscriber saw it
        (duplicates of a backlog replay dropped)."""
        seen = sorted(set(self.acq_seqs))
        return sum(b - a - 1 for a, b in zip(seen, seen[1:]) if b > a + 1)

    def close(self):
        self.stop_flag = True
        self.t.join(2)
        self.s.close()
        self.ctx.term()


class Pipeline:
    """simulator -> acquire -> detect, record, web; every process real."""

    def __init__(self, tmp, sim_args, web_args=(), subscribers=0, listen="127.0.0.1:0",
                 record=True):
        self.tmp, self.procs = tmp, []
        os.makedirs(tmp, exist_ok=True)
        self.env, self.run = private_env(tmp)
        self.dir = os.path.join(tmp, "sessions")
        os.mkdir(self.dir)
        self.web = None
        try:
            self._start(sim_args, web_args, subscribers, listen, record)
        except BaseException:
            self.close()
            raise

    def _spawn(self, args, name):
        log = open(os.path.join(self.tmp, name + ".log"), "ab")
        p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=log, env=self.env)
        p.name = name
        self.procs.append(p)
        return p

    def stop_proc(self, name):
        """Stops one program (SIGTERM) and waits for it."""
        for p in self.procs:
            if p.name == name and p.poll() is None:
                p.terminate()
                p.wait(60)

    def _start(self, sim_args, web_args, subscribers, listen, record):
        sim = self._spawn([prog("ductwatch-sim"), "--out", "pty", "-q"] + list(sim_args), "sim")
        self.pty = Lines(sim).line(10)[5:]
        # every consumer subscribed before acquire reads the first byte
        n = 2 + (1 if record else 0) + subscribers
        acq = self._spawn([prog("ductwatch-acquire"), "--port", self.pty, "--sndhwm", "0",
                           "--wait-subscribers", str(n)], "acquire")
        lines = Lines(acq)
        self.pub, self.events = lines.line()[5:], lines.line()[8:]
        det = self._spawn([prog("ductwatch-detect")], "detect")
        if record:
            self._spawn([prog("ductwatch-record"), "--dir", self.dir], "record")
        self.detect_ep = "ipc://" + os.path.join(self.run, "detect")
        wait_for(lambda: os.path.exists(os.path.join(self.run, "detect")), 10, "detect's socket")
        self.web = Web(self.env, ["--dir", self.dir] + list(web_args), listen,
                       log=os.path.join(self.tmp, "web.log"))
        self.det = det

    def subscriber(self):
        return Subscriber([self.pub, self.detect_ep])

    def h5_files(self):
        return sorted(os.path.join(self.dir, f) for f in os.listdir(self.dir) if f.endswith(".h5"))

    def h5_events(self):
        """The /events rows of every session file, read with h5py."""
        import h5py
        rows = []
        for f in self.h5_files():
            with h5py.File(f, "r", swmr=True) as h:
                for r in h["events"][()]:
                    rows.append({"seq": int(r["seq"]), "kind": r["kind"].decode(),
                                 "side": r["side"].decode(), "value": float(r["value"]),
                                 "text": r["text"].decode(), "source": r["source"].decode()})
        return rows

    def log(self, name):
        try:
            return open(os.path.join(self.tmp, name + ".log"), errors="replace").read()
        except OSError:
            return ""

    def close(self):
        if self.web:
            self.web.stop()
        stop_all(self.procs)
