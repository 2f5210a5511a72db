"""Helpers for the hostile-input tests (issue 21), on tests/pylib/dwtest: a
publisher the test controls (what a compromised stage or a broker could
send, on any topic), and HELLO payloads with any bytes as the device id."""
import json
import os

import zmq

from dwtest import check
from dwtest.wire import frame_body, pg


def hello_payload(device_id, n_zones=16, rate=10):
    # pygarment refuses a '/' in the id; the tests below need any bytes.
    p = bytearray(pg.hello_payload("X", "fw-1", rate, pg.default_layout()[:n_zones]))
    raw = device_id.encode() if isinstance(device_id, str) else device_id
    p[0:16] = raw[:16].ljust(16, b"\x00")
    return bytes(p)


def sample_payload(k, n_zones=16):
    return pg.sample_payload([3400 + k % 50] * n_zones, [100] * n_zones, [2500, 2500],
                             [0, 0, 1000], [0] * n_zones)


class Publisher:
    """An XPUB socket bound in the case's directory: the stream a recorder
    (or any subscriber) is pointed at. Sends one stream with its own id and
    sequence numbers, on whatever topic the case names."""

    def __init__(self, ctx, t, name="pub"):
        self.ep = t.ep(name)
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
        self.send(topic, frame_body(ftype, device_seq, self.seq, self.stream, self.t_dev,
                                    self.t_host, payload))

    def event(self, topic, kind, missing=0, text="", source="acquire", value=None):
        self.seq += 1
        body = {"seq": self.seq, "stream": self.stream, "device": topic.split(".", 1)[1],
                "t_device_us": self.t_dev, "t_host_ns": self.t_host, "kind": kind,
                "side": "none", "value": value, "missing": missing, "source": source,
                "text": "\x00TEXT\x00" if isinstance(text, bytes) else text}
        data = json.dumps(body).encode()
        if isinstance(text, bytes):   # raw bytes in the JSON string, UTF-8 or not
            data = data.replace(b"\\u0000TEXT\\u0000", text)
        self.send(topic, data)

    def close(self):
        self.sock.close()


def files_under(top):
    out = []
    for d, _, fs in os.walk(top):
        out += [os.path.join(d, f) for f in fs]
    return out
