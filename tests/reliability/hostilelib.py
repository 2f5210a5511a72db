"""Helpers for the hostile-input tests (issue 21): a publisher the test
controls (what a compromised stage or a broker could send), the garment
frame body and event JSON as docs/messages.md specifies them, and a runner
that takes the names of the cases to run (all when none is given)."""
import json
import os
import sys
import time

import zmq

from rellib import (FRAME_HDR, PROG, Fail, PtyGarment, Stream, Tmp, check, pygarment,  # noqa: F401
                    read_line, start_acquire, stop, subscribe)

HELLO, SAMPLE, STATUS, EVENT = 1, 2, 3, 4


def frame_body(ftype, payload, device_seq, seq, stream, t_device_us, t_host_ns):
    """A frame.<device> body (docs/messages.md section 3)."""
    return FRAME_HDR.pack(1, ftype, len(payload), device_seq, seq, stream, t_device_us,
                          t_host_ns) + payload


def hello_payload(device_id, n_zones=16, rate=10):
    # pygarment refuses a '/' in the id; the tests below need any bytes.
    p = bytearray(pygarment.hello_payload("X", "fw-1", rate, pygarment.default_layout()[:n_zones]))
    raw = device_id.encode() if isinstance(device_id, str) else device_id
    p[0:16] = raw[:16].ljust(16, b"\x00")
    return bytes(p)


def sample_payload(k, n_zones=16):
    return pygarment.sample_payload([3400 + k % 50] * n_zones, [100] * n_zones, [2500, 2500],
                                    [0, 0, 1000], [0] * n_zones)


class Publisher:
    """An XPUB socket bound in the test's directory: the stream a recorder
    (or any subscriber) is pointed at. Sends one stream with its own id and
    sequence numbers."""

    def __init__(self, ctx, t, name="pub"):
        self.ep = "ipc://%s" % t.path(name)
        self.sock = ctx.socket(zmq.XPUB)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.SNDHWM, 0)
        self.sock.bind(self.ep)
        self.stream = 1700000000000000000
        self.seq = 0
        self.t_host = 1700000000000000000   # 2023-11-14T22:13:20Z
        self.t_dev = 1000000

    def wait_subscriber(self, timeout=10):
        check(self.sock.poll(timeout * 1000), "no subscriber within %d s" % timeout)
        self.sock.recv()

    def send(self, topic, body):
        self.sock.send_multipart([topic.encode() if isinstance(topic, str) else topic, body])

    def frame(self, topic, ftype, payload, device_seq):
        self.seq += 1
        self.t_dev += 100000
        self.t_host += 100000000
        self.send(topic, frame_body(ftype, payload, device_seq, self.seq, self.stream,
                                    self.t_dev, self.t_host))

    def event(self, topic, kind, missing=0, text="", source="acquire", value=None):
        self.seq += 1
        body = {"seq": self.seq, "stream": self.stream, "device": topic.split(".", 1)[1],
                "t_device_us": self.t_dev, "t_host_ns": self.t_host, "kind": kind,
                "side": "none", "value": value, "missing": missing, "source": source,
                "text": text}
        self.send(topic, json.dumps(body).encode())

    def close(self):
        self.sock.close()


def start_record(t, sub, rdir, *args):
    """ductwatch-record -v on one endpoint; stderr to a file (read with log())."""
    os.makedirs(rdir, exist_ok=True)
    err = open(t.path("record.log"), "wb")
    return t.spawn([PROG["ductwatch-record"], "--sub", sub, "--dir", rdir, "-v", *args],
                   stderr=err)


def log(t, name="record.log"):
    with open(t.path(name), "rb") as f:
        return f.read().decode("utf-8", "replace")


def files_under(top):
    out = []
    for d, _, fs in os.walk(top):
        out += [os.path.join(d, f) for f in fs]
    return out


def run(cases):
    """Runs the cases named on the command line (all by default); exit 1 if
    one failed, 77 if every one skipped."""
    names = sys.argv[1:] or [c.__name__ for c in cases]
    known = {c.__name__: c for c in cases}
    unknown = [n for n in names if n not in known]
    if unknown:
        print("unknown case(s): %s; known: %s" % (" ".join(unknown), " ".join(known)))
        sys.exit(2)
    failed = skipped = 0
    for n in names:
        t0 = time.monotonic()
        try:
            if known[n]() == "skip":
                skipped += 1
                print("skip %s" % n, flush=True)
            else:
                print("ok   %s (%.1f s)" % (n, time.monotonic() - t0), flush=True)
        except Exception as e:  # report every case, fail at the end
            failed += 1
            print("FAIL %s: %s: %s" % (n, type(e).__name__, e), flush=True)
    sys.exit(1 if failed else 77 if skipped == len(names) else 0)
