#!/usr/bin/python3
"""Interoperability of an independent garment (pygarment.py, written from
docs/protocol.md) with the C side. Every case runs alone:
test_interop.py [--list] [CASE...].

  doc      the Python encoder reproduces every worked example and COBS vector
           of the specification, byte for byte
  decode   a Python garment's stream (valid frames of every type plus every
           kind of damage) decoded by common/'s decoder (tests/interop/
           dwframes): the same values, the same bytes from the C encoder,
           each damaged frame in the right counter
  acquire  end to end: the Python garment on a pseudo-terminal,
           ductwatch-acquire reading it, a pyzmq subscriber checking that
           exactly those values are published
  sim      the other way round: ductwatch-sim's byte stream (--out stdout, no
           link faults) read by the Python decoder written from the spec,
           every rule of docs/protocol.md checked on every frame

pygarment.py imports nothing of ours (not even tests/pylib): it is the
garment written from the specification alone. This file only drives it.
"""
import json
import os
import random
import re
import select
import struct
import subprocess
import sys
import time
import tty

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'pylib'))
import dwtest  # noqa: E402
import pygarment as pg  # noqa: E402
from dwtest import case, check, prog, source  # noqa: E402


# ---- doc -------------------------------------------------------------------

def doc_examples(text):
    """{name: bytes | int} from the '<!-- example NAME -->' blocks."""
    out = {}
    for m in re.finditer(r'<!-- example (\S+) -->\n```\n(.*?)```', text, re.S):
        body = m.group(2).strip()
        if body.startswith('0x'):
            out[m.group(1)] = int(body, 16)
        else:
            out[m.group(1)] = bytes(int(x, 16) for line in body.splitlines()
                                    for x in line.split(':', 1)[1].split())
    return out


def doc_cobs_table(text):
    """The short rows of the COBS vector table (those without an ellipsis)."""
    rows = []
    sec = text.split('### 2.1', 1)[1].split('### 2.2', 1)[0]
    for m in re.finditer(r'^\| (`[^|]*`|\(empty\)) \| `([^|]*)` \|$', sec, re.M):
        if '…' in m.group(1):
            continue
        src = b'' if m.group(1) == '(empty)' else bytes.fromhex(m.group(1).strip('`'))
        rows.append((src, bytes.fromhex(m.group(2))))
    return rows


def example_frames():
    """The inputs of protocol.md section 9, as the prose there gives them."""
    hello = pg.hello_payload('DW-0001', 'fw-1.2.0', 10, pg.default_layout())
    temp = [3400 + 10 * z for z in range(16)]
    pres = [1500 + 100 * z for z in range(16)]
    status = [0] * 16
    temp[5] = 3712
    pres[9], status[9] = 65535, pg.PRES_SAT
    temp[14], status[14] = 0, pg.TEMP_FAULT
    sample = pg.sample_payload(temp, pres, [2450, 2475], [12, -30, 1002], status)
    event = pg.event_payload(pg.EVENT_KINDS['thermometer'], pg.NONE, 38200, 'oral')
    status_p = pg.status_payload(3912, 76, 0, 3125)
    return {
        'hello': (pg.HELLO, 0, 1500000, hello),
        'sample': (pg.SAMPLE, 1, 1600000, sample),
        'event': (pg.EVENT, 2, 1650000, event),
        'status': (pg.STATUS, 3, 1700000, status_p),
        'hello-request': (pg.HELLO_REQUEST, 0, 0, b''),
    }


@case()
def case_doc(run):
    path = source('docs', 'protocol.md')
    text = open(path, encoding='utf-8').read()
    ex = doc_examples(text)
    check(len(ex) >= 20, 'only %d example blocks in %s' % (len(ex), path))
    check(ex['crc-check'] == pg.crc32c(b'123456789') == 0xE3069283, 'CRC check value')
    n = 1
    for name, (ftype, seq, t, payload) in example_frames().items():
        raw = pg.raw_frame(ftype, seq, t, payload)
        if name + '-payload' in ex:
            check(ex[name + '-payload'] == payload, name + ': payload differs from the doc')
            n += 1
        check(ex[name + '-raw'] == raw, name + ': raw frame differs from the doc')
        check(ex[name + '-crc'] == struct.unpack('<I', raw[-4:])[0], name + ': CRC differs')
        check(ex[name + '-wire'] == pg.wire_frame(ftype, seq, t, payload),
              name + ': wire bytes differ from the doc')
        # and the Python decoder reads the doc's wire bytes back
        v, ft, s, tt, p = pg.parse_raw(pg.cobs_decode(ex[name + '-wire'][:-1]))
        check((v, ft, s, tt, p) == (1, ftype, seq, t, payload), name + ': decode of the doc bytes')
        n += 4
    rows = doc_cobs_table(text)
    check(len(rows) >= 6, 'COBS table: %d short rows' % len(rows))
    for src, enc in rows:
        check(pg.cobs_encode(src) == enc, 'COBS %s -> %s, doc says %s' % (src.hex(), pg.cobs_encode(src).hex(), enc.hex()))
        check(pg.cobs_decode(enc) == src, 'COBS decode of %s' % enc.hex())
    # the long rows, spelled out
    r254 = bytes(range(1, 255))
    longs = [
        (r254, b'\xff' + r254),
        (b'\x00' + r254, b'\x01\xff' + r254),
        (r254 + b'\xff', b'\xff' + r254 + b'\x02\xff'),
        (bytes(range(2, 256)) + b'\x00', b'\xff' + bytes(range(2, 256)) + b'\x01\x01'),
        (bytes(range(3, 256)) + b'\x00\x01', b'\xfe' + bytes(range(3, 256)) + b'\x02\x01'),
    ]
    for src, enc in longs:
        check(pg.cobs_encode(src) == enc and pg.cobs_decode(enc) == src, 'COBS long vector')
    print('doc: %d example blocks and %d COBS vectors reproduced' % (n, len(rows) + len(longs)))


# ---- decode ------------------------------------------------------------------

def patched_status(g, t, index, value):
    """A STATUS frame whose byte index is value, its CRC made right (a
    version or a length the decoder must refuse), as wire bytes."""
    raw = bytearray(pg.raw_frame(pg.STATUS, g.seq, t, pg.status_payload(1, 2, 3, 4)))
    raw[index] = value
    raw[-4:] = struct.pack('<I', pg.crc32c(bytes(raw[:-4])))
    g.seq += 1
    return pg.cobs_encode(bytes(raw)) + b'\x00'


def random_stream(rng, g):
    """Valid frames of every type with values over their whole ranges, and
    a list of what was injected in between."""
    out = bytearray(g.connect(1000))
    expect = []     # (seq, kind, values) of every valid frame, in order
    expect.append((0, 'hello', None))
    t = 1000
    damage = {'crc_errors': 0, 'length_errors': 0, 'cobs_errors': 0, 'version_errors': 0}
    for i in range(300):
        t += 100000 + rng.randrange(-500, 500)
        r = rng.random()
        if r < 0.75:
            n = len(g.zones)
            temp = [rng.choice([-32768, 32767, 0, rng.randrange(-32768, 32768), 3000 + rng.randrange(800)]) for _ in range(n)]
            pres = [rng.choice([0, 65535, rng.randrange(65536)]) for _ in range(n)]
            amb = [rng.randrange(-32768, 32768) for _ in range(2)]
            acc = [rng.randrange(-32768, 32768) for _ in range(3)]
            st = [rng.choice([0, 0, 0, 1, 2, 4, 8, 15]) for _ in range(n)]
            seq = g.seq
            out += g.frame(pg.SAMPLE, t, pg.sample_payload(temp, pres, amb, acc, st))
            expect.append((seq, 'sample', dict(temp=temp, pressure=pres, ambient=amb, accel=acc, status=st)))
        elif r < 0.85:
            kind = rng.randrange(1, 13)
            side = rng.randrange(3)
            value = rng.choice([0, 38200, -2147483648, 2147483647, rng.randrange(-10**6, 10**6)])
            text = rng.choice(['', 'oral', 'x' * 64, 'äöü ünïcödé', 'left side sore, 7/10'])
            seq = g.seq
            out += g.frame(pg.EVENT, t, pg.event_payload(kind, side, value, text))
            expect.append((seq, 'event', dict(kind=kind, side=side, value=value, text=text)))
        elif r < 0.90:
            v = dict(battery_mv=rng.randrange(65536), battery_pct=rng.randrange(101),
                     flags=rng.randrange(4), mcu_temp_cc=rng.randrange(-32768, 32768))
            seq = g.seq
            out += g.frame(pg.STATUS, t, pg.status_payload(**v))
            expect.append((seq, 'status', v))
        elif r < 0.93:
            # a bit flip in a frame (not in its delimiter, never making a 0x00)
            w = bytearray(g.frame(pg.STATUS, t, pg.status_payload(3900, 70, 0, 3000)))
            k = rng.randrange(len(w) - 1)
            w[k] ^= 1 << rng.randrange(8)
            if w[k] == 0:
                w[k] = 0x01 if w[k] != 1 else 0x02
            out += w
            damage['_flips'] = damage.get('_flips', 0) + 1
        elif r < 0.95:
            # a garbage burst longer than any frame, then a delimiter
            out += bytes(rng.randrange(1, 256) for _ in range(rng.randrange(1100, 3000))) + b'\x00'
            damage['length_errors'] += 1
            damage['_bursts'] = damage.get('_bursts', 0) + 1
        elif r < 0.97:
            # a frame of an unknown type, and one of another version
            if rng.random() < 0.5:
                out += g.frame(rng.randrange(6, 256), t, b'future')
            else:
                out += patched_status(g, t, 0, 2)
            damage['version_errors'] += 1
        elif r < 0.99:
            # a length field that disagrees with the frame (CRC made right)
            out += patched_status(g, t, 2, 9)
            damage['length_errors'] += 1
        else:
            out += b'\x00\x00\x00'   # empty blocks: ignored, not counted
    return bytes(out), expect, damage


@case(timeout=60)
def case_decode(run):
    dwframes = prog('dwframes')
    rng = random.Random(20261124)
    # 40 zones and other scales: the protocol is not tied to 16 zones
    zones = [(z % 2, (z // 2) % 4, (z // 8) % 2, (z + 1) % 40, z & 1) for z in range(40)]
    for g in (pg.Garment('PY-0001', 'py-1', 10), pg.Garment('0123456789ABCDEF', '', 1000, zones)):
        stream, expect, damage = random_stream(rng, g)
        p = subprocess.run([dwframes], input=stream, stdout=subprocess.PIPE, check=True, timeout=60)
        lines = [json.loads(x) for x in p.stdout.decode().splitlines()]
        stats = lines[-1]['stats']
        frames = lines[:-1]
        by_seq = {s[0]: s for s in g.sent}
        check(len(frames) == len(expect), '%d frames decoded, %d sent valid' % (len(frames), len(expect)))
        for f, (seq, kind, values) in zip(frames, expect):
            sseq, stype, st, spayload, swire = by_seq[seq]
            check(f['seq'] == seq and f['type'] == stype and f['t_device_us'] == st,
                  'frame %d header: %r' % (seq, {k: f[k] for k in ('seq', 'type', 't_device_us')}))
            check(bytes.fromhex(f['payload']) == spayload, 'frame %d payload' % seq)
            check(bytes.fromhex(f['wire']) == swire,
                  'frame %d: the C encoder gives other bytes than the Python one:\n C  %s\n py %s'
                  % (seq, f['wire'], swire.hex()))
            check(not f['parse_error'], 'frame %d: C parser rejected the payload' % seq)
            check(bytes.fromhex(f['repack']) == spayload, 'frame %d: C payload pack differs' % seq)
            if kind == 'hello':
                h = f['hello']
                check(h['device_id'] == g.device_id and h['firmware'] == g.firmware and
                      h['sample_rate_hz'] == g.rate_hz and h['n_zones'] == len(g.zones) and
                      h['n_ambient'] == 2 and h['temp_scale'] == 10000 and
                      [tuple(z) for z in h['zones']] == g.zones, 'hello values %r' % h)
            elif kind == 'event':
                e = f['event']
                check(e['kind'] == values['kind'] and e['side'] == values['side'] and
                      e['value'] == values['value'] and e['text'] == values['text'], 'event %r vs %r' % (e, values))
            else:
                check(f[kind] == values, '%s %d: %r vs %r' % (kind, seq, f[kind], values))
        flips = damage.pop('_flips', 0)
        check(stats['version_errors'] == damage['version_errors'],
              'version_errors: %d counted, %d injected' % (stats['version_errors'], damage['version_errors']))
        # a bit flip costs its frame exactly once: a CRC error, or a COBS or
        # length error when it hits a code byte or the length field
        check(stats['length_errors'] >= damage['length_errors'], 'length_errors %r' % stats)
        flip_errors = stats['crc_errors'] + stats['cobs_errors'] + stats['length_errors'] - damage['length_errors']
        check(flip_errors == flips, 'bit flips: %d counted, %d injected (%r)' % (flip_errors, flips, stats))
        bursts = damage.pop('_bursts', 0)
        check(stats['resyncs'] == bursts, 'resyncs: %d counted, %d garbage bursts' % (stats['resyncs'], bursts))
        check(stats['frames'] == len(expect) and stats['bytes'] == len(stream) and stats['pending'] == 0,
              'stats %r' % stats)
        print('decode: %d zones, %d bytes, %d frames identical in C and Python, injected %r, counted %r'
              % (len(g.zones), len(stream), len(frames), dict(damage, flips=flips, bursts=bursts), stats))


# ---- acquire: pty -> ductwatch-acquire -> ZeroMQ ----------------------------------

class Collector:
    """A subscriber's view of acquire's output: one stream at a time (a new
    stream id restarts counting), backlog replays dropped by seq, every
    message kept in order."""

    def __init__(self, sub):
        self.sub = sub
        self.stream, self.last = None, 0
        self.streams = []       # stream ids in order of appearance
        self.msgs = []          # dicts, in stream order
        self.dups = 0

    def poll(self, timeout_ms):
        if not self.sub.poll(timeout_ms):
            return
        while True:
            try:
                topic, body = self.sub.recv_multipart(flags=1)  # zmq.NOBLOCK
            except Exception:
                return
            kind, dev = topic.decode().split('.', 1)
            m = {'kind': kind, 'device': dev}
            if kind == 'frame':
                (version, m['type'], n, m['dseq'], m['seq'], m['stream'], m['t_device_us'],
                 m['t_host_ns']) = struct.unpack_from('<BBHIQQQQ', body)
                check(version == 1 and n == len(body) - 40, 'frame body header')
                m['payload'] = body[40:]
            else:
                m['json'] = json.loads(body)
                m['seq'], m['stream'] = m['json']['seq'], m['json']['stream']
            if m['stream'] != self.stream:
                check(m['stream'] not in self.streams, 'an old stream came back')
                self.stream, self.last = m['stream'], 0
                self.streams.append(m['stream'])
            if m['seq'] <= self.last:
                self.dups += 1
                continue
            check(m['seq'] == self.last + 1, 'stream seq gap: %d after %d' % (m['seq'], self.last))
            self.last = m['seq']
            self.msgs.append(m)


def check_published(msgs, g, sent_from, want_kinds):
    """The frames/events the garment sent valid (seqs in want_kinds, taken
    from g.sent from index sent_from) are in msgs exactly, in order."""
    data = [m for m in msgs if m['kind'] == 'frame' or
            (m['kind'] == 'event' and m['json']['source'] == 'garment')]
    sent = [s for s in g.sent[sent_from:] if s[0] in want_kinds]
    check(len(data) == len(sent), '%d frames/events published, %d sent valid' % (len(data), len(sent)))
    for m, (seq, ftype, tdev, payload, _) in zip(data, sent):
        check(m['device'] == g.device_id, 'topic device %r' % m['device'])
        if ftype == pg.EVENT:
            kind, side, value = struct.unpack_from('<BBxxi', payload)
            e = m['json']
            name = [n for n, c in pg.EVENT_KINDS.items() if c == kind][0]
            check(m['kind'] == 'event' and e['kind'] == name and e['side'] == ['left', 'right', 'none'][side]
                  and e['value'] == value / 1000 and e['text'] == payload[8:].decode()
                  and e['t_device_us'] == tdev and e['device'] == g.device_id,
                  'event %d published as %r' % (seq, e))
        else:
            check(m['kind'] == 'frame' and m['type'] == ftype and m['dseq'] == seq and
                  m['t_device_us'] == tdev and m['payload'] == payload,
                  'frame %d (type %d) published with other values' % (seq, ftype))
            check(m['t_host_ns'] > 1.5e18, 'host time %d is not ns since the epoch' % m['t_host_ns'])
    return len(data)


def random_sample(rng, n):
    return pg.sample_payload([3300 + rng.randrange(600) for _ in range(n)],
                             [rng.randrange(65536) for _ in range(n)],
                             [rng.randrange(-1000, 4000), rng.randrange(-1000, 4000)],
                             [rng.randrange(-2000, 2000) for _ in range(3)],
                             [rng.choice([0, 0, 0, pg.PRES_SAT, pg.TEMP_FAULT]) for _ in range(n)])


@case(timeout=60, parallel=False)
def case_acquire(run):
    import zmq
    pub, events = run.ep('pub'), run.ep('events')
    master, slave = os.openpty()
    tty.setraw(slave)
    port = os.ttyname(slave)
    ctx = run.ctx
    rng = random.Random(7)
    try:
        proc = run.spawn(['ductwatch-acquire', '--port', port, '--pub', pub, '--events', events])
        l1, l2 = proc.expect('pub: '), proc.expect('events: ')
        check(l1 == pub and l2 == events, 'acquire said %r %r' % (l1, l2))
        sub = ctx.socket(zmq.SUB)
        sub.setsockopt(zmq.LINGER, 0)
        sub.setsockopt(zmq.RCVHWM, 0)
        sub.connect(pub)
        sub.setsockopt(zmq.SUBSCRIBE, b'')
        col = Collector(sub)
        g = pg.Garment('PY-INTEROP-7', 'py-0.9', 50)
        requests = 0
        valid = set()       # (garment id, seq) of frames sent valid

        def pump_host(timeout):
            nonlocal requests
            r, _, _ = select.select([master], [], [], timeout)
            if r:
                n = g.host_bytes(os.read(master, 4096))
                requests += n
                return n
            return 0

        def send(w, ok=True):
            if ok:
                valid.add(g.sent[-1][0])
            os.write(master, w)
            while pump_host(0):     # HELLO_REQUEST -> HELLO, whenever it comes
                os.write(master, g.hello(g.sent[-1][2]))
                valid.add(g.sent[-1][0])

        def wait_for(cond, what, timeout=20):
            deadline = time.monotonic() + timeout
            while not cond():
                check(time.monotonic() < deadline, 'timed out waiting for %s' % what)
                pump_host(0)
                col.poll(100)

        # The host asks for HELLO once it has the port open (and raw).
        deadline = time.monotonic() + 15
        while not requests:
            check(time.monotonic() < deadline, 'no HELLO_REQUEST from acquire within 15 s')
            pump_host(0.5)

        # Phase 1: connect, samples, events, a status, and frames the host
        # must drop (protocol.md 6): damaged, a SAMPLE with another zone
        # count, an EVENT with a NUL in its text, a type from the future,
        # a HELLO_REQUEST coming from the garment.
        t = 5000000
        os.write(master, b'\x00')
        send(g.hello(t))
        lost = []
        for i in range(60):
            t += 20000
            if i in (30, 35, 45, 50, 55):
                lost.append(g.seq)
                if i == 30:
                    w = bytearray(g.frame(pg.SAMPLE, t, random_sample(rng, 16)))
                    w[25] = w[25] ^ 0x40 or 0x40
                    w = bytes(w)
                elif i == 35:
                    w = g.frame(pg.SAMPLE, t, random_sample(rng, 15))
                elif i == 45:
                    w = g.frame(pg.EVENT, t, pg.event_payload(6, 0, 0, 'ab') + b'\x00c')
                elif i == 50:
                    w = g.frame(9, t, b'a future frame type')
                else:
                    w = g.frame(pg.HELLO_REQUEST, t)
                send(w, ok=False)
                continue
            send(g.frame(pg.SAMPLE, t, random_sample(rng, 16)))
            if i == 10:
                send(g.frame(pg.EVENT, t, pg.event_payload(3, 2, 38200, 'oral')))
            if i == 20:
                send(g.frame(pg.EVENT, t, pg.event_payload(1, 0, 0, 'left')))
            if i == 40:
                send(g.frame(pg.STATUS, t, pg.status_payload(3912, 76, 1, 3125)))
        n1 = len(valid)
        wait_for(lambda: any(m['kind'] == 'stats' and m['json']['frames'] >= n1 for m in col.msgs),
                 'stats covering phase 1')
        stats = [m['json'] for m in col.msgs if m['kind'] == 'stats'][-1]
        checked = check_published(col.msgs, g, 0, valid)
        gaps = [m['json'] for m in col.msgs if m['kind'] == 'event' and m['json']['kind'] == 'gap']
        check(not set(lost) & set(m.get('dseq') for m in col.msgs), 'a dropped frame was published')
        check([x['missing'] for x in gaps] == [1] * 5, 'gap events: %r' % gaps)
        # the damaged frame: a CRC error (a COBS/length error if the flip hit
        # a code byte); three invalid payloads: length_errors; the new type:
        # version_errors
        check(stats['crc_errors'] + stats['cobs_errors'] + stats['length_errors'] == 4, 'stats %r' % stats)
        check(stats['version_errors'] == 1, 'stats %r' % stats)
        check(stats['device_seq_gaps'] == 5 and stats['frames_missing'] == 5, 'stats %r' % stats)
        print('phase 1: %d frames and events published exactly as sent (%d HELLO_REQUEST answered, '
              '%d replays dropped); 5 bad frames dropped, counted and reported as gaps of 1; stats %s'
              % (checked, requests, col.dups, json.dumps(stats)))

        # Phase 2: the garment reboots (seq back to 0, clock back to 0):
        # same stream, no gap reported.
        mark, first_stream = len(col.msgs), col.stream
        g = pg.Garment('PY-INTEROP-7', 'py-0.9', 50)
        valid = set()
        t = 2000000
        os.write(master, b'\x00')
        send(g.hello(t))
        for i in range(10):
            t += 20000
            send(g.frame(pg.SAMPLE, t, random_sample(rng, 16)))
        n2 = len(valid)
        wait_for(lambda: sum(m['kind'] == 'frame' for m in col.msgs[mark:]) >= n2, 'phase 2 frames')
        checked = check_published(col.msgs[mark:], g, 0, valid)
        check(col.stream == first_stream, 'a reboot of the same garment started a new stream')
        check(not [m for m in col.msgs[mark:] if m['kind'] == 'event' and m['json']['kind'] == 'gap'],
              'a reboot was reported as a gap')
        print('phase 2: reboot (seq 0 again): %d frames published on the same stream, no gap' % checked)

        # Phase 3: another garment on the same port (40 zones, 1000 Hz, other
        # scales): a new stream for the new device id.
        mark = len(col.msgs)
        zones = [(z // 20, (z // 5) % 4, z % 2, (z + 20) % 40, z % 3 == 0) for z in range(40)]
        g = pg.Garment('PY-OTHER-40', '', 1000, zones)
        valid = set()
        t = 7000000000
        os.write(master, b'\x00')
        send(g.frame(pg.HELLO, t, pg.hello_payload(g.device_id, '', 1000, zones, 5000, 250, 61)))
        for i in range(20):
            t += 1000
            send(g.frame(pg.SAMPLE, t, random_sample(rng, 40)))
        send(g.frame(pg.EVENT, t, pg.event_payload(10, 1, 0, 'tender, warm spot')))
        n3 = len(valid)
        wait_for(lambda: len([m for m in col.msgs[mark:] if m['device'] == g.device_id and
                              m['kind'] in ('frame', 'event')]) >= n3, 'phase 3 frames')
        new = [m for m in col.msgs[mark:] if m['device'] == g.device_id]
        check(col.stream != first_stream and new[0]['seq'] == 1 and new[0]['stream'] == col.stream,
              'another garment did not start a new stream at seq 1')
        checked = check_published(new, g, 0, valid)
        print('phase 3: another garment (40 zones, 1000 Hz): new stream, %d frames published exactly' % checked)

        rc = proc.stop(10)
        check(rc == 0, 'acquire exited %d on SIGTERM' % rc)
    finally:
        os.close(master)
        os.close(slave)


# ---- sim: ductwatch-sim's bytes against the specification --------------------

def check_hello_rules(p):
    """protocol.md 3.1, from the spec: returns (n_zones, rate) or fails."""
    check(len(p) >= 48, 'HELLO shorter than 48 bytes')
    for off, may_be_empty in ((0, False), (16, True)):
        s = p[off:off + 16]
        text = s.split(b'\x00', 1)[0]
        check(all(c == 0 for c in s[len(text):]), 'HELLO string at %d: bad padding' % off)
        check(all(0x21 <= c <= 0x7E for c in text), 'HELLO string at %d: bad characters' % off)
        check(may_be_empty or text, 'empty device id')
        check(off or b'/' not in text, "'/' in the device id")
    rate, nz, namb, ts, ps, acs = struct.unpack_from('<HBBIII', p, 32)
    check(1 <= rate <= 1000 and 1 <= nz <= 64 and namb == 2 and ts and ps and acs,
          'HELLO fields rate %d zones %d ambient %d scales %d %d %d' % (rate, nz, namb, ts, ps, acs))
    check(len(p) == 48 + 5 * nz, 'HELLO length %d for %d zones' % (len(p), nz))
    for z in range(nz):
        side, quad, ring, mirror, flags = p[48 + 5 * z:53 + 5 * z]
        check(side <= 1 and quad <= 3 and ring <= 1 and mirror < nz and not flags & 0xFE,
              'zone %d record %r' % (z, p[48 + 5 * z:53 + 5 * z]))
        check(p[48 + 5 * mirror] != side, 'zone %d: mirror %d on the same side' % (z, mirror))
    return nz, rate


@case(timeout=60, suites=['sims'])
def case_sim(run, scenario='mastitis'):
    argv = [prog('ductwatch-sim'), '--scenario', scenario, '--seed', '3', '--duration', '60s', '--fast', '--out', 'stdout']
    p = subprocess.run(argv, stdout=subprocess.PIPE, timeout=120)
    check(p.returncode == 0, '%s exited %d' % (' '.join(argv), p.returncode))
    data = p.stdout
    check(data[:1] == b'\x00', 'the stream does not start with a lone 0x00')
    blocks = data.split(b'\x00')
    check(blocks[-1] == b'', 'the stream does not end with a delimiter')
    frames = []
    for b in blocks[1:-1]:
        check(b, 'empty block (0x00 0x00) in a fault-free stream')
        check(pg.cobs_encode(pg.cobs_decode(b)) == b, 'non-canonical COBS')
        frames.append(pg.parse_raw(pg.cobs_decode(b)))
    check(frames and frames[0][1] == pg.HELLO and frames[0][2] == 0, 'the first frame is not HELLO with seq 0')
    nz, rate = check_hello_rules(frames[0][4])
    counts = {}
    last_t = None
    for i, (version, ftype, seq, t, payload) in enumerate(frames):
        check(version == 1 and 1 <= ftype <= 4, 'frame %d: version %d type %d' % (i, version, ftype))
        check(seq == i, 'frame %d has seq %d (no faults: no gaps)' % (i, seq))
        check(last_t is None or t >= last_t, 'device time went back at frame %d' % i)
        last_t = t
        counts[ftype] = counts.get(ftype, 0) + 1
        if ftype == pg.HELLO:
            check(check_hello_rules(payload) == (nz, rate), 'HELLO changed')
        elif ftype == pg.SAMPLE:
            check(len(payload) == 5 * nz + 10, 'SAMPLE length %d for %d zones' % (len(payload), nz))
            check(not any(s & 0xF0 for s in payload[4 * nz + 10:]), 'reserved status bits set')
        elif ftype == pg.EVENT:
            kind, side = payload[0], payload[1]
            check(1 <= kind <= 12 and side <= 2 and 8 <= len(payload) <= 72 and 0 not in payload[8:],
                  'EVENT %r' % payload)
            payload[8:].decode('utf-8')
        elif ftype == pg.STATUS:
            check(len(payload) == 8 and payload[6:] == b'\x00\x00' and payload[2] <= 100
                  and not payload[3] & 0xFC, 'STATUS %r' % payload)
    samples = [f for f in frames if f[1] == pg.SAMPLE]
    span = samples[-1][3] - samples[0][3]
    check(abs(len(samples) - 60 * rate) <= rate, '%d samples for 60 s at %d Hz' % (len(samples), rate))
    steps = [b[3] - a[3] for a, b in zip(samples, samples[1:])]
    check(all(abs(s - 1e6 / rate) <= 0.2e6 / rate for s in steps), 'sample spacing off %d Hz' % rate)
    print('sim: %d bytes, %d frames by type %r, %d zones at %d Hz over %.1f s: all by the spec'
          % (len(data), len(frames), counts, nz, rate, span / 1e6))


if __name__ == '__main__':
    dwtest.main(fixture=dwtest.Run)
