#!/usr/bin/python3
"""Integration tests for ductwatch-acquire: real ptys, a real FIFO, real
ZeroMQ sockets (pyzmq). The garment side is tests/acquisition/testgarment
(C, common/ codec) or, for the FIFO case, the independent Python encoder
below (COBS + CRC-32C written from docs, not from common/).

Usage: acqtest.py ACQUIRE_BIN TESTGARMENT_BIN CASE
"""
import json
import os
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

import zmq

ACQ, GARMENT, CASE = sys.argv[1], sys.argv[2], sys.argv[3]
ZONES = 16
FRAME_HDR = struct.Struct('<BBHIQQQQ')  # docs/messages.md, frame body
T_HELLO, T_SAMPLE, T_EVENT, T_STATUS = 1, 2, 3, 4


def fail(msg):
    print('FAIL:', msg, flush=True)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


# ---- the values testgarment sends (its sample_values()) --------------------

def expected_sample(s, n=ZONES):
    m32 = 0xffffffff
    temp = [3000 + ((s * 31 + z * 7) & m32) % 1000 for z in range(n)]
    pres = [((s * 17 + z * 113) & m32) % 60000 for z in range(n)]
    amb = [2000 + s % 500, 2100 + s % 300]
    acc = [s % 2000 - 1000, s % 7, 1000]
    st = [8 if (s + z) % 5 == 0 else 0 for z in range(n)]
    return temp, pres, amb, acc, st


def parse_sample(p, n=ZONES):
    check(len(p) == 5 * n + 10, 'sample payload length %d' % len(p))
    temp = list(struct.unpack_from('<%dh' % n, p, 0))
    pres = list(struct.unpack_from('<%dH' % n, p, 2 * n))
    amb = list(struct.unpack_from('<2h', p, 4 * n))
    acc = list(struct.unpack_from('<3h', p, 4 * n + 4))
    st = list(p[4 * n + 10:])
    return temp, pres, amb, acc, st


# ---- an independent garment encoder (COBS, CRC-32C) -------------------------

def _crc_table():
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        t.append(c)
    return t


CRC_T = _crc_table()


def crc32c(b):
    c = 0xffffffff
    for x in b:
        c = CRC_T[(c ^ x) & 0xff] ^ (c >> 8)
    return c ^ 0xffffffff


assert crc32c(b'123456789') == 0xE3069283


def cobs(b):
    out, blk = bytearray(), bytearray()
    for x in b:
        if x == 0:
            out += bytes([len(blk) + 1]) + blk
            blk = bytearray()
        else:
            blk.append(x)
            if len(blk) == 254:
                out += b'\xff' + blk
                blk = bytearray()
    out += bytes([len(blk) + 1]) + blk
    return bytes(out)


def wire_frame(ftype, seq, t_us, payload):
    raw = struct.pack('<BBHIQ', 1, ftype, len(payload), seq, t_us) + payload
    raw += struct.pack('<I', crc32c(raw))
    return cobs(raw) + b'\x00'


def hello_payload(dev, n=ZONES, rate=100):
    p = dev.encode().ljust(16, b'\0') + b'pygarment'.ljust(16, b'\0')
    p += struct.pack('<HBBIII', rate, n, 2, 10000, 1000, 1000)
    for z in range(n):
        p += bytes([z * 2 // n, (z // 2) % 4, z % 2, (z + n // 2) % n, 0])
    return p


def sample_payload(s, n=ZONES):
    temp, pres, amb, acc, st = expected_sample(s, n)
    return struct.pack('<%dh%dH2h3h' % (n, n), *temp, *pres, *amb, *acc) + bytes(st)


# ---- process and socket plumbing ---------------------------------------------

class Run:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix='acqtest-')
        os.chmod(self.dir, 0o700)
        self.env = dict(os.environ, DUCTWATCH_RUNTIME_DIR=os.path.join(self.dir, 'run'))
        self.pub = 'ipc://%s/pub' % self.dir
        self.events = 'ipc://%s/events' % self.dir
        self.ctx = zmq.Context()
        self.procs = []

    def spawn(self, argv, **kw):
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=kw.pop('stderr', None),
                             env=self.env, text=True, **kw)
        self.procs.append(p)
        return p

    def garment(self, *args):
        # It stays plugged in until the test is done with it (close() kills
        # it after acquire has stopped).
        g = self.spawn([GARMENT, '--hold-ms', '60000', *args])
        line = g.stdout.readline()
        check(line.startswith('pty: /dev/pts/'), 'garment said %r' % line)
        return g, line.split()[1]

    def acquire(self, port, *args):
        a = self.spawn([ACQ, '--port', port, '--pub', self.pub, '--events', self.events, *args])
        l1, l2 = a.stdout.readline(), a.stdout.readline()
        check(l1 == 'pub: %s\n' % self.pub, 'acquire said %r' % l1)
        check(l2 == 'events: %s\n' % self.events, 'acquire said %r' % l2)
        return a

    def sub(self):
        s = self.ctx.socket(zmq.SUB)
        s.setsockopt(zmq.RCVHWM, 0)
        s.setsockopt(zmq.LINGER, 0)
        s.connect(self.pub)
        s.setsockopt(zmq.SUBSCRIBE, b'')
        return s

    def stop(self, a):
        t0 = time.monotonic()
        a.send_signal(signal.SIGTERM)
        rc = a.wait(timeout=10)
        dt = time.monotonic() - t0
        check(rc == 0, 'acquire exited %d on SIGTERM' % rc)
        print('acquire stopped in %.3f s' % dt)
        return dt

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        self.ctx.destroy(linger=0)
        shutil.rmtree(self.dir, ignore_errors=True)


class Stream:
    """One subscriber's view: duplicates (backlog replays) dropped by seq,
    gaps counted, messages kept in order."""

    def __init__(self, sock):
        self.sock = sock
        self.stream = None
        self.last = 0
        self.gaps = self.missing = self.dups = 0
        self.msgs = []   # (seq, kind, parsed)
        self.stats = None
        self.max_dseq = -1

    def poll(self, timeout_ms):
        got = 0
        if not self.sock.poll(timeout_ms):
            return 0
        while True:
            try:
                topic, body = self.sock.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return got
            kind, dev = topic.decode().split('.', 1)
            if kind == 'frame':
                h = FRAME_HDR.unpack_from(body)
                m = dict(version=h[0], type=h[1], len=h[2], device_seq=h[3], seq=h[4],
                         stream=h[5], t_device_us=h[6], t_host_ns=h[7],
                         payload=body[FRAME_HDR.size:], device=dev)
                check(m['version'] == 1 and len(m['payload']) == m['len'], 'bad frame body')
            else:
                m = json.loads(body)
                check(m['device'] == dev, 'device %r under topic %r' % (m['device'], topic))
            seq, stream = int(m['seq']), int(m['stream'])
            if self.stream is None:
                self.stream = stream
            check(stream == self.stream, 'stream id changed %r -> %r' % (self.stream, stream))
            if seq <= self.last:
                self.dups += 1
                continue
            if seq != self.last + 1:
                self.gaps += 1
                self.missing += seq - self.last - 1
            self.last = seq
            self.msgs.append((seq, kind, m))
            if kind == 'stats':
                self.stats = m
            elif kind == 'frame':
                self.max_dseq = max(self.max_dseq, m['device_seq'])
            got += 1

    def until(self, cond, timeout):
        end = time.monotonic() + timeout
        while not cond() and time.monotonic() < end:
            self.poll(100)
        return cond()

    def frames(self, ftype=None):
        return [m for _, k, m in self.msgs if k == 'frame' and (ftype is None or m['type'] == ftype)]

    def events(self, kind=None):
        return [m for _, k, m in self.msgs if k == 'event' and (kind is None or m['kind'] == kind)]


def summary(g):
    """The garment's summary line, printed once everything was written and
    read from the pty."""
    for line in g.stdout:
        if line.startswith('{'):
            return json.loads(line)
    fail('no garment summary')


def check_samples(st):
    """Every published sample equals what the garment sent for its seq;
    device seqs strictly increase."""
    last = -1
    for m in st.frames():
        check(m['device_seq'] > last, 'device seq %d after %d' % (m['device_seq'], last))
        last = m['device_seq']
        if m['type'] == T_SAMPLE:
            check(parse_sample(m['payload']) == expected_sample(m['device_seq']),
                  'sample %d differs from what was sent' % m['device_seq'])
        elif m['type'] == T_HELLO:
            check(m['payload'][:7] in (b'tg-0001', b'py-0001'), 'hello payload')


def final_stats(run, a, st):
    run.stop(a)
    st.until(lambda: False, 0.5)  # the last stats, published on exit
    check(st.stats is not None, 'no stats received')
    return st.stats


# ---- cases ---------------------------------------------------------------------

def case_stream(run):
    """A subscriber there before the garment streams, and one joining 0.5 s
    into the stream: both get everything from the very first frame, in
    order, values intact."""
    early = Stream(run.sub())
    g, pty = run.garment('--frames', '300', '--rate', '200', '--wait-request',
                         '--pause-at', '100', '--pause-ms', '800')
    # acquire reads the port (and asks for the HELLO) once early is in.
    a = run.acquire(pty, '--wait-subscribers', '1')
    early.until(lambda: len(early.frames()) >= 101, 20)
    # The garment is quiet now: the late subscriber joins between frames.
    late = Stream(run.sub())
    n = 301
    early.until(lambda: len(early.frames()) >= n, 20)
    late.until(lambda: len(late.frames()) >= n, 20)
    s = summary(g)
    check(s['frames_sent'] == n, 'garment sent %d' % s['frames_sent'])
    for name, st in (('early', early), ('late', late)):
        fr = st.frames()
        check(len(fr) == n, '%s subscriber got %d frames, want %d' % (name, len(fr), n))
        check(st.msgs[0][0] == 1, '%s: first message has seq %d' % (name, st.msgs[0][0]))
        check(fr[0]['type'] == T_HELLO and fr[0]['device_seq'] == 0, '%s: first frame is not HELLO 0' % name)
        check(st.gaps == 0, '%s: %d stream gaps' % (name, st.gaps))
        check(fr[0]['device'] == 'tg-0001', 'device id')
        check(all(m['t_host_ns'] > 0 for m in fr), 't_host_ns')
        check_samples(st)
    # The replay for the late subscriber reaches everybody: the early one
    # drops it by seq.
    check(early.dups > 0, 'no replay seen')
    print('early subscriber dropped %d replayed duplicates' % early.dups)
    stats = final_stats(run, a, early)
    check(stats['frames'] == n and stats['frames_missing'] == 0, 'stats %r' % stats)
    check(stats['crc_errors'] == 0 and stats['length_errors'] == 0, 'stats errors %r' % stats)


def case_bulk(run):
    """100 000 frames as fast as the pty takes them: complete and in order."""
    n = 100000
    st = Stream(run.sub())
    g, pty = run.garment('--frames', str(n), '--fast', '--wait-request')
    a = run.acquire(pty, '--wait-subscribers', '1')
    t0 = time.monotonic()
    st.until(lambda: len(st.msgs) > 0, 10)
    st.until(lambda: st.max_dseq >= n, 60)
    dt = time.monotonic() - t0
    s = summary(g)
    fr = st.frames()
    check(len(fr) == n + 1, 'got %d frames, want %d' % (len(fr), n + 1))
    check(st.gaps == 0, '%d stream gaps (%d missing)' % (st.gaps, st.missing))
    check_samples(st)
    stats = final_stats(run, a, st)
    check(stats['frames'] == s['frames_sent'] and stats['frames_missing'] == 0, 'stats %r' % stats)
    check(stats['zmq_dropped'] == 0, 'zmq drops %r' % stats)
    print('%d frames in %.2f s: %.0f frames/s, %.1f MB/s' %
          (n + 1, dt, (n + 1) / dt, stats['bytes'] / dt / 1e6))


def case_corrupt(run):
    """1 % of the bytes corrupted: nothing invalid published, and every frame
    the garment sent is either published or counted missing."""
    n = 20000
    st = Stream(run.sub())
    g, pty = run.garment('--frames', str(n), '--fast', '--wait-request', '--corrupt', '0.01', '--seed', '7')
    a = run.acquire(pty, '--wait-subscribers', '1')
    s = summary(g)
    st.until(lambda: st.max_dseq >= n, 60)
    stats = final_stats(run, a, st)
    fr = st.frames()
    check_samples(st)
    check(st.gaps == 0, 'stream gaps')
    check(stats['frames'] == len(fr), 'stats frames %d, subscriber %d' % (stats['frames'], len(fr)))
    check(s['frames_sent'] == stats['frames'] + stats['frames_missing'],
          'sent %d != published %d + missing %d' % (s['frames_sent'], stats['frames'], stats['frames_missing']))
    gaps = st.events('gap')
    check(sum(int(e['missing']) for e in gaps) == stats['frames_missing'], 'gap events do not add up')
    check(len(gaps) == stats['device_seq_gaps'], 'gap event count')
    errs = stats['crc_errors'] + stats['length_errors'] + stats['cobs_errors'] + stats['version_errors']
    check(errs > 0 and s['corrupted_frames'] > 0, 'no corruption seen')
    check(stats['frames'] <= s['frames_sent'] - s['corrupted_frames'], 'a corrupted frame got through')
    print('sent %d frames (%d corrupted, %d bytes flipped): published %d, missing %d in %d gaps; '
          'crc %d, length %d, cobs %d, version %d, resyncs %d' %
          (s['frames_sent'], s['corrupted_frames'], s['corrupted_bytes'], stats['frames'],
           stats['frames_missing'], stats['device_seq_gaps'], stats['crc_errors'],
           stats['length_errors'], stats['cobs_errors'], stats['version_errors'], stats['resyncs']))


def case_replug(run):
    """The pty goes away and a new one appears behind the same symlink."""
    link = os.path.join(run.dir, 'garment')
    st = Stream(run.sub())
    g, _ = run.garment('--frames', '240', '--rate', '100', '--wait-request', '--link', link,
                       '--unplug-at', '80', '--unplug-frames', '25', '--unplug-ms', '400')
    a = run.acquire(link, '--wait-subscribers', '1')
    s = summary(g)
    st.until(lambda: st.max_dseq >= s['last_dseq'], 20)
    kinds = [m['kind'] for m in st.events()]
    check('link-down' in kinds and 'link-up' in kinds, 'events %r' % kinds)
    down = st.events('link-down')[0]['seq']
    up = st.events('link-up')[0]['seq']
    check(down < up, 'link-up before link-down')
    after = [m for m in st.frames(T_SAMPLE) if m['seq'] > up]
    check(len(after) >= 150, 'only %d samples after the replug' % len(after))
    gaps = st.events('gap')
    check(len(gaps) == 1 and int(gaps[0]['missing']) == 25, 'gap events %r' % gaps)
    check(all(e['source'] == 'acquire' for e in st.events() if e['kind'] in ('gap', 'link-down', 'link-up')),
          'source of host events')
    check(st.gaps == 0, 'stream gaps')
    check_samples(st)
    stats = final_stats(run, a, st)
    check(stats['reconnects'] == 1, 'reconnects %r' % stats['reconnects'])
    check(s['frames_sent'] + s['lost_while_down'] == stats['frames'] + stats['frames_missing'],
          'accounting %r %r' % (s, stats))


def case_user_event(run):
    """A user event lands on the stream between its neighbouring frames, on
    the device time line; bad requests are refused with a reason."""
    st = Stream(run.sub())
    g, pty = run.garment('--frames', '60', '--rate', '20', '--wait-request')
    a = run.acquire(pty, '--wait-subscribers', '1')
    req = run.ctx.socket(zmq.REQ)
    req.setsockopt(zmq.LINGER, 0)
    req.setsockopt(zmq.RCVTIMEO, 5000)
    req.connect(run.events)

    def ask(obj):
        req.send(obj if isinstance(obj, bytes) else json.dumps(obj).encode())
        return json.loads(req.recv())

    st.until(lambda: len(st.frames(T_SAMPLE)) >= 10, 10)
    time.sleep(0.013)  # somewhere between two frames
    r = ask({'kind': 'feed-start', 'side': 'left', 'value': None, 'text': 'test feed'})
    check(r.get('ok') is True and isinstance(r.get('seq'), int), 'reply %r' % r)
    r2 = ask({'kind': 'thermometer', 'side': 'none', 'value': 38.2})
    check(r2.get('ok') is True and r2['seq'] > r['seq'], 'reply %r' % r2)
    for bad, why in ((b'not json', 'JSON'), ({'kind': 'link-down'}, 'acquisition'),
                     ({'kind': 'nonsense'}, 'kind'), ({'kind': 'shower', 'side': 'middle'}, 'side')):
        rb = ask(bad)
        check(rb.get('ok') is False and why in rb.get('error', ''), 'bad request %r -> %r' % (bad, rb))
    summary(g)
    st.until(lambda: False, 0.3)
    ev = [m for m in st.events('feed-start')]
    check(len(ev) == 1, 'feed-start events %r' % ev)
    e = ev[0]
    check(e['seq'] == r['seq'] and e['source'] == 'user' and e['side'] == 'left' and
          e['text'] == 'test feed' and e['value'] is None and e['device'] == 'tg-0001', 'event %r' % e)
    th = st.events('thermometer')
    check(len(th) == 1 and abs(th[0]['value'] - 38.2) < 1e-9, 'thermometer %r' % th)
    before = [m for m in st.frames() if m['seq'] < e['seq']][-1]
    after = [m for m in st.frames() if m['seq'] > e['seq']][0]
    print('frame %d us, event %d us, frame %d us' % (before['t_device_us'], e['t_device_us'], after['t_device_us']))
    check(before['t_device_us'] <= e['t_device_us'] <= after['t_device_us'],
          'event time %d not between %d and %d' % (e['t_device_us'], before['t_device_us'], after['t_device_us']))
    stats = final_stats(run, a, st)
    check(stats['events_in'] == 2, 'events_in %r' % stats['events_in'])


def case_fifo(run):
    """A FIFO fed by an independent Python encoder; before any frame, a user
    event is refused with 'no garment data yet'."""
    fifo = os.path.join(run.dir, 'fifo')
    os.mkfifo(fifo)
    st = Stream(run.sub())
    a = run.acquire(fifo, '--wait-subscribers', '1')
    req = run.ctx.socket(zmq.REQ)
    req.setsockopt(zmq.LINGER, 0)
    req.setsockopt(zmq.RCVTIMEO, 5000)
    req.connect(run.events)
    req.send(json.dumps({'kind': 'shower'}).encode())
    r = json.loads(req.recv())
    check(r == {'ok': False, 'error': 'no garment data yet'}, 'reply %r' % r)
    data = b'\x00' + wire_frame(T_HELLO, 0, 1000000, hello_payload('py-0001'))
    for s in range(1, 51):
        data += wire_frame(T_SAMPLE, s, 1000000 + s * 10000, sample_payload(s))
    data += wire_frame(T_EVENT, 51, 1600000, struct.pack('<BBHi', 9, 1, 0, 2500) + b'hi')
    status = struct.pack('<HBBhH', 3900, 87, 1, 3125, 0)
    data += wire_frame(T_STATUS, 52, 1700000, status)
    with open(fifo, 'wb') as f:
        f.write(data)
    st.until(lambda: len(st.frames(T_STATUS)) >= 1, 10)
    fr = st.frames()
    check(len(fr) == 52 and fr[0]['device'] == 'py-0001', 'got %d frames' % len(fr))
    stf = st.frames(T_STATUS)[0]
    check(stf['payload'] == status and stf['device_seq'] == 52 and stf['t_device_us'] == 1700000,
          'status frame %r' % stf)
    check_samples(st)
    b = st.events('button')[0]
    check(b['source'] == 'garment' and b['side'] == 'right' and b['value'] == 2.5 and
          b['text'] == 'hi' and b['t_device_us'] == 1600000, 'garment event %r' % b)
    stats = final_stats(run, a, st)
    check(stats['frames'] == 53 and stats['frames_missing'] == 0, 'stats %r' % stats)


def case_pty_gone(run):
    """A pty named directly cannot come back: after its garment leaves,
    acquire must not open a new pty that got the same number (it would
    steal another program's bytes)."""
    st = Stream(run.sub())
    g, pty = run.garment('--frames', '20', '--rate', '100', '--wait-request', '--hold-ms', '0')
    a = run.acquire(pty, '--wait-subscribers', '1')
    summary(g)
    g.wait(timeout=10)
    st.until(lambda: st.events('link-down'), 5)
    check(st.events('link-down'), 'no link-down')
    # Linux hands out the lowest free pty number: most likely the same one.
    master, slave = os.openpty()
    same = os.ttyname(slave) == pty
    os.write(master, b'\x00' + wire_frame(T_HELLO, 0, 5, hello_payload('py-0001')))
    st.until(lambda: False, 1.5)
    check(not st.events('link-up'), 'acquire reconnected to %s' % pty)
    check(all(m['device'] == 'tg-0001' for m in st.frames()), 'read a stranger\'s pty')
    stats = final_stats(run, a, st)
    check(stats['link_up'] is False and stats['reconnects'] == 0, 'stats %r' % stats)
    print('new pty %s the old number' % ('reused' if same else 'did not reuse'))
    os.close(master)
    os.close(slave)


def case_usage(run):
    def rc(*args):
        p = subprocess.run([ACQ, *args], capture_output=True, text=True, env=run.env, timeout=10)
        return p.returncode, p.stdout, p.stderr

    for args in ((), ('--bogus',), ('--port',), ('--port', '/dev/null', '--baud', 'fast'),
                 ('--port', '/dev/null', '--baud', '0'), ('--port', '/dev/null', '--flow', 'maybe'),
                 ('--port', 'auto', '--usb-id', 'xyz'), ('--port', '/dev/null', 'extra')):
        code, out, err = rc(*args)
        check(code == 2, '%r exited %d' % (args, code))
        check(len(err.splitlines()) >= 1 and err.startswith('ductwatch-acquire: '), 'stderr %r' % err)
    missing = os.path.join(run.dir, 'ttyNOPE')
    code, out, err = rc('--port', missing)
    check(code == 1, 'missing port exited %d' % code)
    check('cannot open %s: No such file or directory' % missing in err, 'stderr %r' % err)
    code, out, err = rc('--port', 'auto', '--usb-id', 'fffe:0001')
    check(code == 1 and 'no serial port with USB id fffe:0001 found' in err, 'auto: %d %r' % (code, err))
    code, out, err = rc('--port', run.dir)
    check(code == 1 and 'not a serial device' in err, 'a directory as port: %d %r' % (code, err))
    code, out, err = rc('--help')
    check(code == 0 and '--port' in out and '115200' in out and '1209:d0c7' in out, 'help')
    code, out, err = rc('--version')
    check(code == 0 and out.startswith('ductwatch-acquire '), 'version %r' % out)
    code, out, err = rc('--list-ports')
    check(code == 0, 'list-ports exited %d' % code)


CASES = {'stream': case_stream, 'bulk': case_bulk, 'corrupt': case_corrupt,
         'replug': case_replug, 'user-event': case_user_event, 'fifo': case_fifo,
         'pty-gone': case_pty_gone,
         'usage': case_usage}

if __name__ == '__main__':
    r = Run()
    try:
        CASES[CASE](r)
    finally:
        r.close()
    print('ok', CASE)
