"""A ZeroMQ subscriber's view of a ductwatch stream (docs/messages.md):
frame bodies and JSON messages parsed, backlog replays dropped by their
sequence number, gaps counted, everything kept in order."""
import json
import struct
import time

from .core import check

# docs/messages.md section 3: the binary frame body header.
FRAME_HDR = struct.Struct("<BBHIQQQQ")
HELLO, SAMPLE, EVENT, STATUS = 1, 2, 3, 4


def parse_frame_body(body, device=None):
    """A frame.<device> body as a dict (type, len, device_seq, seq, stream,
    t_device_us, t_host_ns, payload, device)."""
    check(len(body) >= FRAME_HDR.size, "frame body of %d bytes" % len(body))
    h = FRAME_HDR.unpack_from(body)
    m = dict(version=h[0], type=h[1], len=h[2], device_seq=h[3], seq=h[4], stream=h[5],
             t_device_us=h[6], t_host_ns=h[7], payload=body[FRAME_HDR.size:], device=device)
    check(m["version"] == 1 and len(m["payload"]) == m["len"], "bad frame body %r" % body[:40])
    return m


def subscribe(ctx, ep, hwm=0, topic=b"", curve=None):
    """A SUB socket on ep (RCVHWM hwm, 0 = no limit). curve: (public,
    secret, server public) keys."""
    import zmq
    s = ctx.socket(zmq.SUB)
    s.setsockopt(zmq.RCVHWM, hwm)
    s.setsockopt(zmq.LINGER, 0)
    if curve:
        s.curve_publickey, s.curve_secretkey, s.curve_serverkey = curve
    s.connect(ep)
    s.setsockopt(zmq.SUBSCRIBE, topic)
    return s


class Stream:
    """One subscriber's view of one stream (or, with restarts=True, of a
    succession of streams, as a restarted acquire makes: a new stream id
    starts counting again).

    Kept in order: msgs [(seq, kind, message)], frames and events (dicts),
    the latest stats. Counted: gaps and missing (messages lost before this
    subscriber), dups (replays dropped by seq), raw (everything received)."""

    def __init__(self, sock, restarts=False):
        self.sock = sock
        self.restarts = restarts
        self.stream = None
        self.streams = []
        self.last = 0
        self.first = None
        self.gaps = self.missing = self.dups = self.raw = 0
        self.msgs = []
        self.frames = []
        self.events = []
        self.alerts = []
        self.stats = None
        self.n_stats = 0
        self.max_dseq = -1
        # acquire's backlog replays (docs/messages.md section 8), as this
        # subscriber sees them: runs of duplicates, each {"first": oldest
        # replayed seq, "pinned": the pinned HELLO's seq or None, "last", "n",
        # "t": when it began}
        self.replays = []
        self._replay = None

    def _parse(self, topic, body):
        kind, _, dev = topic.decode().partition(".")
        if kind == "frame":
            return kind, parse_frame_body(body, dev)
        m = json.loads(body)
        check(m.get("device") == dev, "device %r under topic %r" % (m.get("device"), topic))
        return kind, m

    def _take(self, kind, m):
        seq, stream = int(m["seq"]), int(m["stream"])
        if stream != self.stream:
            check(self.stream is None or self.restarts,
                  "stream id changed %r -> %r" % (self.stream, stream))
            check(stream not in self.streams, "an old stream came back")
            # acquire's seq starts at 1, detect's alerts at 0
            # (docs/messages.md sections 2 and 9): neither first is a repeat
            self.stream, self.last = stream, min(0, seq - 1)
            self.streams.append(stream)
        if seq <= self.last:
            self._replayed(seq, kind, m)
            return False
        self._replay = None
        if self.first is None:
            self.first = seq
        if seq != self.last + 1:
            self.gaps += 1
            self.missing += seq - self.last - 1
        self.last = seq
        self.msgs.append((seq, kind, m))
        {"frame": self.frames, "event": self.events, "alert": self.alerts}.get(
            kind, [None]).append(m)
        if kind == "frame":
            self.max_dseq = max(self.max_dseq, m["device_seq"])
        elif kind == "stats":
            self.stats = m
            self.n_stats += 1
        return True

    def _replayed(self, seq, kind, m):
        """A duplicate: part of a replay. A new one begins after a live
        message, or where the seqs go back (a replay sends in stream order:
        two with no live message between, as once the garment has stopped,
        are two)."""
        self.dups += 1
        r = self._replay
        if r is None or seq <= r["last"]:
            r = self._replay = {"first": None, "pinned": None, "last": seq, "n": 0,
                                "t": time.monotonic()}
            self.replays.append(r)
        elif r["first"] is None and r["pinned"] is not None and seq == r["pinned"] + 1:
            # the HELLO was the oldest replayed message, not a pinned one
            r["first"], r["pinned"] = r["pinned"], None
        r["n"] += 1
        r["last"] = seq
        if r["n"] == 1 and kind == "frame" and m["type"] == HELLO:
            r["pinned"] = seq
        elif r["first"] is None:
            r["first"] = seq

    def poll(self, timeout_ms):
        """Takes what arrives within timeout_ms (and everything queued);
        returns how many new messages."""
        import zmq
        got = 0
        if not self.sock.poll(timeout_ms):
            return 0
        while True:
            try:
                topic, body = self.sock.recv_multipart(zmq.NOBLOCK)[:2]
            except zmq.Again:
                return got
            self.raw += 1
            got += self._take(*self._parse(topic, body))

    def until(self, cond, timeout):
        """Polls until cond() or the timeout; returns cond()."""
        end = time.monotonic() + timeout
        while not cond() and time.monotonic() < end:
            self.poll(100)
        return cond()

    def quiet(self, seconds):
        """Polls for seconds (what is still on its way arrives)."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.poll(max(1, int((end - time.monotonic()) * 1000)))

    def frames_of(self, ftype):
        return [m for m in self.frames if m["type"] == ftype]

    def events_of(self, kind):
        return [m for m in self.events if m["kind"] == kind]
