"""A small, independent implementation of the ductwatch wire protocol and the
ZeroMQ message bodies (docs/protocol.md, docs/messages.md), used to feed the
recorder real messages and to know the exact garment bytes they stand for.

Nothing here imports ductwatch code: if the recorder or the replay disagrees
with the documents, the tests notice."""
import json
import random
import struct
import time

import zmq

HELLO, SAMPLE, EVENT, STATUS = 1, 2, 3, 4
KINDS = {1: "feed-start", 2: "feed-end", 3: "thermometer", 4: "ice-pack", 5: "heat-pack",
         6: "shower", 7: "garment-on", 8: "garment-off", 9: "button", 10: "symptom",
         11: "pump-start", 12: "pump-end"}
SIDES = {0: "left", 1: "right", 2: "none"}


def _crc32c_table():
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        t.append(c)
    return t


_T = _crc32c_table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = _T[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def cobs(data):
    out = bytearray()
    block = bytearray()
    for b in data:
        if b == 0:
            out.append(len(block) + 1)
            out += block
            block = bytearray()
        else:
            block.append(b)
            if len(block) == 254:
                out.append(255)
                out += block
                block = bytearray()
    out.append(len(block) + 1)
    out += block
    return bytes(out)


def wire(ftype, seq, t_us, payload):
    raw = struct.pack("<BBHIQ", 1, ftype, len(payload), seq & 0xFFFFFFFF, t_us) + payload
    raw += struct.pack("<I", crc32c(raw))
    return cobs(raw) + b"\x00"


def default_layout(n_zones=16):
    zones = []
    for z in range(n_zones):
        side, rest = divmod(z, 8)
        quad, ring = divmod(rest, 2)
        mirror = (z + 8) % 16
        zones.append((side, quad, ring, mirror, 1 if quad >= 2 and ring == 1 else 0))
    return zones


def hello_payload(device, firmware="fw-1.2.3", rate=10, zones=None,
                  scales=(10000, 1000, 1000)):
    zones = zones or default_layout()
    p = device.encode().ljust(16, b"\0") + firmware.encode().ljust(16, b"\0")
    p += struct.pack("<HBBIII", rate, len(zones), 2, *scales)
    for z in zones:
        p += bytes(z)
    return p


def sample_payload(temp, pres, amb, acc, status):
    n = len(temp)
    return struct.pack("<%dh%dH2h3h%dB" % (n, n, n), *temp, *pres, *amb, *acc, *status)


def event_payload(kind, side, value, text=b""):
    return struct.pack("<BBHi", kind, side, 0, value) + text


def status_payload(mv, pct, flags, mcu_cc):
    return struct.pack("<HBBhH", mv, pct, flags, mcu_cc, 0)


def frame_body(ftype, dseq, seq, stream, t_us, t_ns, payload):
    return struct.pack("<BBHIQQQQ", 1, ftype, len(payload), dseq, seq, stream, t_us, t_ns) + payload


class Garment:
    """A deterministic garment: yields (ftype, device_seq, t_us, payload)."""

    def __init__(self, device="bra-test", seed=1, rate=10, n_zones=16, t0_us=1_000_000):
        self.device = device
        self.rng = random.Random(seed)
        self.rate = rate
        self.n = n_zones
        self.dseq = 0
        self.t = t0_us
        self.hello = hello_payload(device, rate=rate, zones=default_layout(n_zones))

    def next_seq(self):
        s = self.dseq
        self.dseq = (self.dseq + 1) & 0xFFFFFFFF
        return s

    def hello_frame(self):
        return (HELLO, self.next_seq(), self.t, self.hello)

    def sample_frame(self):
        r = self.rng
        n = self.n
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
    """Publishes one acquire-like stream (frames, events, stats) and one
    detect-like stream (alerts) on an XPUB socket, exactly as docs/messages.md
    says; waits for the recorder's subscription before the first message."""

    def __init__(self, endpoint, device):
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.XPUB)
        self.sock.setsockopt(zmq.LINGER, 2000)
        self.sock.setsockopt(zmq.SNDHWM, 0)
        self.sock.bind(endpoint)
        self.device = device
        self.stream = int(float(time.time_ns()))
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
        leave out before it (a hole the recorder must report)."""
        ftype, dseq, t_us, payload = f
        self.seq += 1 + skip
        t_ns = time.time_ns()
        if ftype == EVENT:
            kind, side, _, value = struct.unpack_from("<BBHi", payload)
            self.event(KINDS[kind], SIDES[side], value / 1000.0, "garment",
                       payload[8:].decode(), t_us=t_us, counted=False)
        else:
            self._send("frame", frame_body(ftype, dseq, self.seq, self.stream, t_us, t_ns, payload))
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
              threshold=1.0, message="possible blocked duct"):
        self.det_seq += 1
        body = {"seq": self.det_seq, "stream": self.det_stream, "device": self.device,
                "id": self.det_seq, "rule": rule, "level": level, "state": state,
                "side": "left", "zone": zone, "zone_name": "left lower-inner outer",
                "value": value, "threshold": threshold, "t_device_us": t_us,
                "t_host_ns": time.time_ns(), "ruleset_version": "1", "params": {"k": 1},
                "message": message}
        self._send("alert", json.dumps(body).encode())

    def close(self):
        self.sock.close()
        self.ctx.term()


def uncobs(block):
    out = bytearray()
    i = 0
    while i < len(block):
        code = block[i]
        if code == 0 or i + code > len(block):
            raise ValueError("bad COBS")
        out += block[i + 1:i + code]
        i += code
        if code < 255 and i < len(block):
            out.append(0)
    return bytes(out)


def decode_wire(data):
    """Splits a byte stream into frames: (type, seq, t_us, payload); checks
    CRC and length. Empty blocks (lone delimiters) are counted as None."""
    frames = []
    for block in data.split(b"\x00")[:-1]:
        if not block:
            frames.append(None)
            continue
        raw = uncobs(block)
        ver, ftype, ln, seq, t = struct.unpack_from("<BBHIQ", raw)
        payload = raw[16:16 + ln]
        if len(raw) != 16 + ln + 4 or crc32c(raw[:-4]) != struct.unpack_from("<I", raw, 16 + ln)[0]:
            raise ValueError("bad frame")
        frames.append((ftype, seq, t, payload))
    return frames
