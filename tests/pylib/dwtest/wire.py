"""Garment bytes and ZeroMQ message bodies made by the tests themselves, to
feed the programs real input and to know exactly what it stands for.

The wire format (COBS, CRC-32C, payloads) is tests/interop/pygarment.py,
the garment written from docs/protocol.md alone; the message bodies are
written here from docs/messages.md. Nothing here uses ductwatch's C code:
where a program disagrees with the documents, the tests notice."""
import json
import os
import random
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "interop"))
import pygarment as pg  # noqa: E402

from .stream import EVENT, FRAME_HDR, HELLO, SAMPLE, STATUS  # noqa: E402,F401

HELLO_REQUEST = pg.HELLO_REQUEST
KINDS = {v: k for k, v in pg.EVENT_KINDS.items()}
SIDES = {0: "left", 1: "right", 2: "none"}

crc32c = pg.crc32c
wire = pg.wire_frame
default_layout = pg.default_layout
sample_payload = pg.sample_payload
status_payload = pg.status_payload


def hello_payload(device, firmware="fw-1.2.3", rate=10, zones=None, scales=(10000, 1000, 1000)):
    return pg.hello_payload(device, firmware, rate, zones or pg.default_layout(), *scales)


def event_payload(kind, side, value, text=b""):
    return struct.pack("<BBHi", kind, side, 0, value) + text


def frame_body(ftype, dseq, seq, stream, t_us, t_ns, payload):
    return FRAME_HDR.pack(1, ftype, len(payload), dseq, seq, stream, t_us, t_ns) + payload


def decode_wire(data):
    """A byte stream as frames (type, seq, t_us, payload), CRC and length
    checked; a lone delimiter (an empty block) is None."""
    out = []
    for block in data.split(b"\x00")[:-1]:
        if not block:
            out.append(None)
            continue
        _, ftype, seq, t, payload = pg.parse_raw(pg.cobs_decode(block))
        out.append((ftype, seq, t, payload))
    return out


class Garment:
    """A deterministic garment with varied values (out-of-range readings,
    saturation and fault bits): yields frames (type, device seq, t_us,
    payload)."""

    def __init__(self, device="bra-test", seed=1, rate=10, n_zones=16, t0_us=1_000_000):
        self.device = device
        self.rng = random.Random(seed)
        self.rate = rate
        self.n = n_zones
        self.dseq = 0
        self.t = t0_us
        self.hello = hello_payload(device, rate=rate, zones=pg.default_layout()[:n_zones])

    def next_seq(self):
        s = self.dseq
        self.dseq = (self.dseq + 1) & 0xFFFFFFFF
        return s

    def hello_frame(self):
        return (HELLO, self.next_seq(), self.t, self.hello)

    def sample_frame(self):
        r, n = self.rng, self.n
        temp = [r.randint(-32768, 32767) if r.random() < 0.05 else r.randint(3300, 3800)
                for _ in range(n)]
        pres = [r.choice([0, 65535]) if r.random() < 0.05 else r.randint(0, 20000)
                for _ in range(n)]
        amb = [r.randint(2000, 3000) for _ in range(2)]
        acc = [r.randint(-2000, 2000) for _ in range(3)]
        status = [r.choice([0, 0, 0, 1, 2, 4, 8]) for _ in range(n)]
        f = (SAMPLE, self.next_seq(), self.t, sample_payload(temp, pres, amb, acc, status))
        self.t += 1_000_000 // self.rate
        return f

    def event_frame(self, kind, side, value, text=b""):
        return (EVENT, self.next_seq(), self.t, event_payload(kind, side, value, text))

    def status_frame(self):
        r = self.rng
        return (STATUS, self.next_seq(), self.t,
                status_payload(r.randint(3500, 4200), r.randint(0, 100), r.randint(0, 3),
                               r.randint(2000, 4000)))


class Publisher:
    """One acquire-like stream (frames, events, stats) and one detect-like
    stream (alerts) on an XPUB socket, as docs/messages.md says; waits for a
    subscription before the first message."""

    def __init__(self, endpoint, device, ctx=None):
        import zmq
        self.own_ctx = ctx is None
        self.ctx = ctx or zmq.Context()
        self.sock = self.ctx.socket(zmq.XPUB)
        self.sock.setsockopt(zmq.LINGER, 2000)
        self.sock.setsockopt(zmq.SNDHWM, 0)
        self.sock.bind(endpoint)
        self.device = device
        # a multiple of 4096: exact as a JSON double
        self.stream = time.time_ns() // 4096 * 4096
        self.det_stream = self.stream + 4096
        self.seq = 0
        self.det_seq = 0
        self.wire = bytearray(b"\x00")  # the garment's lone delimiter at connect
        self.sent = []   # (seq, kind, device_seq or None, t_us, host monotonic time)

    def wait_subscriber(self, timeout=10.0):
        if not self.sock.poll(int(timeout * 1000)):
            raise RuntimeError("no subscriber within %.0f s" % timeout)
        self.sock.recv()

    def _send(self, kind, body):
        self.sock.send_multipart([("%s.%s" % (kind, self.device)).encode(), body])

    def frame(self, f, skip=0):
        """Publishes a HELLO/SAMPLE/STATUS as a frame body, or an EVENT as a
        garment event JSON; appends its wire bytes. skip: stream seqs to
        leave out before it (a hole the subscriber must report)."""
        ftype, dseq, t_us, payload = f
        self.seq += 1 + skip
        if ftype == EVENT:
            kind, side, _, value = struct.unpack_from("<BBHi", payload)
            self.event(KINDS[kind], SIDES[side], value / 1000.0, "garment",
                       payload[8:].decode(), t_us=t_us, counted=False)
        else:
            self._send("frame", frame_body(ftype, dseq, self.seq, self.stream, t_us,
                                           time.time_ns(), payload))
        self.wire += wire(ftype, dseq, t_us, payload)
        self.sent.append((self.seq, ftype, dseq, t_us, time.monotonic()))

    def event(self, kind, side, value, source, text="", t_us=0, missing=None, counted=True):
        if counted:
            self.seq += 1
        body = {"seq": self.seq, "stream": self.stream, "device": self.device,
                "t_device_us": t_us, "t_host_ns": time.time_ns(), "kind": kind, "side": side,
                "value": value, "source": source, "text": text}
        if missing is not None:
            body["missing"] = missing
        self._send("event", json.dumps(body).encode())
        if counted:
            self.sent.append((self.seq, "event:" + kind, None, t_us, time.monotonic()))

    def stats(self, t_us, **counters):
        self.seq += 1
        body = {"seq": self.seq, "stream": self.stream, "device": self.device,
                "t_device_us": t_us, "t_host_ns": time.time_ns(), "bytes": 0, "frames": 0,
                "crc_errors": 0, "length_errors": 0, "cobs_errors": 0, "version_errors": 0,
                "resyncs": 0, "device_seq_gaps": 0, "frames_missing": 0, "reconnects": 0,
                "events_in": 0, "zmq_dropped": 0, "drift_ppm": 1.5, "link_up": True}
        body.update(counters)
        self._send("stats", json.dumps(body).encode())

    def alert(self, t_us, rule="D1", level="L2", state="raised", zone=5, value=1.25,
              threshold=1.0, message="possible blocked duct", params=None):
        self.det_seq += 1
        body = {"seq": self.det_seq, "stream": self.det_stream, "device": self.device,
                "id": self.det_seq, "rule": rule, "level": level, "state": state,
                "side": "left", "zone": zone, "zone_name": "left lower-inner outer",
                "value": value, "threshold": threshold, "t_device_us": t_us,
                "t_host_ns": time.time_ns(), "ruleset_version": "1",
                "params": {"k": 1} if params is None else params,
                "message": message}
        self._send("alert", json.dumps(body).encode())

    def close(self):
        self.sock.close()
        if self.own_ctx:
            self.ctx.term()
