"""Garments for the tests: tests/lib/testgarment (C, on a pseudo-terminal)
with the values it sends, a garment end written by the test itself
(pygarment frames into a real pty), and ductwatch-acquire reading either."""
import json
import os
import pty
import select
import struct
import time
import tty

from .core import check, fail
from .stream import HELLO, SAMPLE
from .wire import pg

ZONES = 16


def testgarment(run, *args, hold_ms=60000):
    """tests/lib/testgarment with args, kept plugged in until the case ends
    (hold_ms); returns (proc, pty path)."""
    g = run.spawn(["testgarment", "--hold-ms", str(hold_ms), *args])
    pty_path = g.expect("pty: ")
    check(pty_path.startswith("/dev/pts/"), "testgarment said pty %r" % pty_path)
    return g, pty_path


def summary(g, timeout=60):
    """testgarment's JSON summary line, printed once the reader took every
    byte."""
    end = time.monotonic() + timeout
    while True:
        line = g.line(max(0.1, end - time.monotonic()))
        if line.startswith("{"):
            return json.loads(line)


def expected_sample(s, n=ZONES):
    """What testgarment sends (--values seq) in the SAMPLE with device seq s:
    (temp, pressure, ambient, accel, status) as integers."""
    m32 = 0xffffffff
    temp = [3000 + ((s * 31 + z * 7) & m32) % 1000 for z in range(n)]
    pres = [((s * 17 + z * 113) & m32) % 60000 for z in range(n)]
    amb = [2000 + s % 500, 2100 + s % 300]
    acc = [s % 2000 - 1000, s % 7, 1000]
    st = [pg.PRES_SAT if (s + z) % 5 == 0 else 0 for z in range(n)]
    return temp, pres, amb, acc, st


def parse_sample(p, n=ZONES):
    check(len(p) == 5 * n + 10, "sample payload length %d" % len(p))
    temp = list(struct.unpack_from("<%dh" % n, p, 0))
    pres = list(struct.unpack_from("<%dH" % n, p, 2 * n))
    amb = list(struct.unpack_from("<2h", p, 4 * n))
    acc = list(struct.unpack_from("<3h", p, 4 * n + 4))
    return temp, pres, amb, acc, list(p[4 * n + 10:])


def check_samples(frames, devices=("tg-0001",)):
    """Every published SAMPLE equals what testgarment sent for its device
    seq; device seqs strictly increase."""
    last = -1
    for m in frames:
        check(m["device_seq"] > last, "device seq %d after %d" % (m["device_seq"], last))
        last = m["device_seq"]
        if m["type"] == SAMPLE:
            check(parse_sample(m["payload"]) == expected_sample(m["device_seq"]),
                  "sample %d differs from what was sent" % m["device_seq"])
        elif m["type"] == HELLO:
            dev = m["payload"][:16].rstrip(b"\0").decode()
            check(dev in devices, "HELLO of device %r" % dev)


def acquire(run, port, *args, pub=None, events=None):
    """ductwatch-acquire on port with private endpoints; returns (proc, pub,
    events) once it said both."""
    pub = pub or run.ep("acq-pub")
    events = events or run.ep("acq-events")
    a = run.spawn(["ductwatch-acquire", "--port", port, "--pub", pub, "--events", events, *args])
    check(a.expect("pub: ") == pub, "acquire's pub line")
    check(a.expect("events: ") == events, "acquire's events line")
    return a, pub, events


def wait_frames(run, pub, timeout=10.0):
    """Until frames come out of acquire on pub (it has garment data)."""
    from .stream import subscribe
    s = subscribe(run.ctx, pub, topic=b"frame.")
    try:
        check(s.poll(int(timeout * 1000)), "no frames from acquire within %.0f s" % timeout)
    finally:
        s.close()


def fixed_garment(run, *args):
    """testgarment with fixed values (zone z: 33.00 + 0.25 z C, 1.000 +
    0.100 z kPa; ambient 24.50 and 24.75 C) as device testbra-01 at 10 Hz,
    read by a real ductwatch-acquire on the run's default endpoints (what
    `ductwatch log` and `view` find); returns acquire's pub endpoint once
    frames come out."""
    _, port = testgarment(run, "--values", "fixed", "--device", "testbra-01", "--rate", "10",
                          *args)
    _, pub, _ = acquire(run, port, pub=run.ep("run/acquire"), events=run.ep("run/events"))
    wait_frames(run, pub)
    return pub


class PtyGarment:
    """The garment end of a real pseudo-terminal written by the test (raw
    mode), frames made by pygarment (docs/protocol.md)."""

    def __init__(self, device_id="REL-1"):
        self.master, slave = pty.openpty()
        tty.setraw(slave)
        self.path = os.ttyname(slave)
        self.slave = slave  # kept open: the pty stays up between writes
        self.g = pg.Garment(device_id=device_id)

    def write(self, data):
        view = memoryview(data)
        while view:
            _, w, _ = select.select([], [self.master], [], 5)
            if not w:
                fail("pty not writable for 5 s")
            view = view[os.write(self.master, view):]

    def host_bytes(self, timeout=0):
        """Bytes acquire wrote (HELLO_REQUESTs) within timeout; how many
        requests they completed."""
        n = 0
        while select.select([self.master], [], [], timeout)[0]:
            try:
                data = os.read(self.master, 4096)
            except OSError:
                break
            if not data:
                break
            n += self.g.host_bytes(data)
            timeout = 0
        return n

    def close(self):
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass
