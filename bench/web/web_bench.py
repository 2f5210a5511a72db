#!/usr/bin/python3
"""bench/web/web_bench.py: what ductwatch-web costs (docs/performance.md,
"The web server").

1. Open pages: a 10 Hz simulated garment through acquire and detect into
   ductwatch-web; its CPU time over a window with no page open (the
   baseline, same run), then with N event-stream clients reading (default
   50). Also acquire's CPU in the same windows, for scale.
2. A 24 h trend of one zone: a day simulated fast into the server, then
   GET /api/trend/DEV?zone=3&hours=24 timed (median of repeats), against
   GET /api/garments (the smallest API answer) in the same run.

Prints a 'json: {...}' line for bench/run. usage:
  web_bench.py --build DIR [--clients N] [--window S] [--quick]
"""
import argparse
import http.client
import json
import os
import re
import select
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests",
                                "pylib"))
from dwtest import stop_all  # noqa: E402


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def line(p, prefix, timeout=20):
    end = time.monotonic() + timeout
    buf = b""
    fd = p.stdout.fileno()
    while time.monotonic() < end:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            c = os.read(fd, 1)
            if not c:
                break
            buf += c
            if c == b"\n":
                s = buf.decode().strip()
                if s.startswith(prefix):
                    return s[len(prefix):]
                buf = b""
    raise RuntimeError("no '%s' line from %s" % (prefix, p.args[0]))


class Hub:
    """sim -> acquire -> detect, ductwatch-web, in a private runtime dir."""

    def __init__(self, build, sim_args):
        self.tmp = tempfile.mkdtemp(prefix="dw-webbench-")
        run = os.path.join(self.tmp, "run")
        os.mkdir(run, 0o700)
        env = dict(os.environ, DUCTWATCH_RUNTIME_DIR=run)
        prog = lambda p: os.path.join(build, p)
        self.procs = []
        err = open(os.path.join(self.tmp, "stderr"), "ab")
        sp = lambda args: self.procs.append(subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=err, env=env)) or self.procs[-1]
        sim = sp([prog("sims/ductwatch-sim"), "--out", "pty", "-q"] + sim_args)
        pty = line(sim, "pty: ")
        self.acq = sp([prog("acquisition/ductwatch-acquire"), "--port", pty, "--sndhwm", "0",
                       "--wait-subscribers", "2", "-q"])
        line(self.acq, "pub: ")
        sp([prog("processing/ductwatch-detect"), "-q"])
        self.web = sp([prog("web/ductwatch-web"), "--listen", "127.0.0.1:0", "-q"])
        url = line(self.web, "url: ")
        m = re.match(r"http://127.0.0.1:(\d+)/\?token=(\w+)", url)
        self.port, self.token = int(m.group(1)), m.group(2)

    def get(self, path):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        t0 = time.perf_counter()
        c.request("GET", path, headers={"Authorization": "Bearer " + self.token})
        r = c.getresponse()
        body = r.read()
        dt = time.perf_counter() - t0
        c.close()
        if r.status != 200:
            raise RuntimeError("GET %s: %d %s" % (path, r.status, body[:200]))
        return dt, body

    def close(self):
        stop_all(self.procs)


def streams(hub, n):
    socks = []
    req = ("GET /api/stream HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAuthorization: Bearer %s\r\n\r\n"
           % (hub.port, hub.token)).encode()
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", hub.port))
        s.sendall(req)
        socks.append(s)
    return socks


def drain(socks, secs):
    """Reads every stream for secs; the bytes read."""
    total, end = 0, time.monotonic() + secs
    while time.monotonic() < end:
        r, _, _ = select.select(socks, [], [], 0.2)
        for s in r:
            total += len(s.recv(65536))
    return total


def pages(build, clients, window):
    hub = Hub(build, ["--scenario", "healthy", "--duration", "24h"])
    try:
        time.sleep(3)  # the first HELLO and values in
        a0, w0 = cpu_s(hub.acq.pid), cpu_s(hub.web.pid)
        time.sleep(window)
        a1, w1 = cpu_s(hub.acq.pid), cpu_s(hub.web.pid)
        socks = streams(hub, clients)
        drain(socks, 2)
        a2, w2 = cpu_s(hub.acq.pid), cpu_s(hub.web.pid)
        got = drain(socks, window)
        a3, w3 = cpu_s(hub.acq.pid), cpu_s(hub.web.pid)
        for s in socks:
            s.close()
        return {"clients": clients, "window_s": window,
                "web_idle_pct": 100 * (w1 - w0) / window, "web_pages_pct": 100 * (w3 - w2) / window,
                "acquire_idle_pct": 100 * (a1 - a0) / window,
                "acquire_pages_pct": 100 * (a3 - a2) / window,
                "stream_bytes_per_page_per_s": got / clients / window}
    finally:
        hub.close()


def trend(build, hours, reps):
    # a day at 1 Hz, as fast as it goes: 24 h of minute means in the trend
    hub = Hub(build, ["--scenario", "healthy", "--duration", "%dh" % (hours + 1), "--rate", "1",
                      "--fast"])
    try:
        want = hours * 60
        end = time.monotonic() + 300
        while True:
            try:
                _, body = hub.get("/api/trend/dwsim-01?zone=3&hours=%d" % hours)
                n = len(json.loads(body)["t"])
            except RuntimeError:  # no garment yet
                if time.monotonic() > end:
                    raise
                n = 0
            if n >= want or time.monotonic() > end:
                break
            time.sleep(0.5)
        t_trend = [hub.get("/api/trend/dwsim-01?zone=3&hours=%d" % hours)[0] for _ in range(reps)]
        t_small = [hub.get("/api/garments")[0] for _ in range(reps)]
        return {"trend_hours": hours, "trend_points": n, "trend_bytes": len(body),
                "trend_ms": 1000 * statistics.median(t_trend),
                "trend_ms_max": 1000 * max(t_trend),
                "garments_ms": 1000 * statistics.median(t_small)}
    finally:
        hub.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--window", type=float, default=20)
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    if a.quick:
        a.clients, a.window = min(a.clients, 5), 2
    r = pages(a.build, a.clients, a.window)
    r.update(trend(a.build, 2 if a.quick else 24, 5 if a.quick else 21))
    print("json: " + json.dumps(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
