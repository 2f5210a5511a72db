"""An independent ductwatch garment, written from docs/protocol.md only.

Standard library only. Nothing here is generated from or shares code with
common/: COBS, CRC-32C and the payload layouts are re-implemented from the
specification, so that tests/interop checks the specification as much as
the C code.
"""
import struct

PROTO_VERSION = 1
HELLO, SAMPLE, EVENT, STATUS, HELLO_REQUEST = 1, 2, 3, 4, 5
MAX_PAYLOAD = 1024

# Per-zone status bits (protocol.md 3.2) and layout flags (3.1).
TEMP_FAULT, PRES_FAULT, TEMP_RAIL, PRES_SAT = 0x01, 0x02, 0x04, 0x08
BAND = 0x01
LEFT, RIGHT, NONE = 0, 1, 2
EVENT_KINDS = {
    'feed-start': 1, 'feed-end': 2, 'thermometer': 3, 'ice-pack': 4,
    'heat-pack': 5, 'shower': 6, 'garment-on': 7, 'garment-off': 8,
    'button': 9, 'symptom': 10, 'pump-start': 11, 'pump-end': 12,
}


# ---- CRC-32C (protocol.md 2.3): reflected 0x82F63B78, init/xorout ~0 ------

def _crc_table():
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC_TABLE = _crc_table()


def crc32c(data, crc=0):
    """CRC-32C of data; pass a previous result as crc to continue it."""
    c = crc ^ 0xFFFFFFFF
    for b in data:
        c = _CRC_TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


# ---- COBS (protocol.md 2.1), canonical --------------------------------------

def cobs_encode(data):
    out = bytearray()
    group = bytearray()
    closed = False          # the last thing written was a full 0xFF group
    for b in data:
        closed = False
        if b == 0:
            out.append(len(group) + 1)
            out += group
            group = bytearray()
        else:
            group.append(b)
            if len(group) == 254:
                out.append(0xFF)
                out += group
                group = bytearray()
                closed = True
    if not closed:
        out.append(len(group) + 1)
        out += group
    return bytes(out)


def cobs_decode(block):
    """Decodes one block (no delimiter); raises ValueError if malformed."""
    out = bytearray()
    i = 0
    while i < len(block):
        code = block[i]
        i += 1
        if code == 0 or i + code - 1 > len(block):
            raise ValueError('bad COBS code at %d' % (i - 1))
        chunk = block[i:i + code - 1]
        if 0 in chunk:
            raise ValueError('zero inside a COBS block')
        out += chunk
        i += code - 1
        if code != 0xFF and i < len(block):
            out.append(0)
    return bytes(out)


# ---- frames (protocol.md 2, 2.2) --------------------------------------------

HEADER = struct.Struct('<BBHIQ')


def raw_frame(ftype, seq, t_device_us, payload=b''):
    """header | payload | crc, before COBS."""
    if len(payload) > MAX_PAYLOAD:
        raise ValueError('payload too long')
    body = HEADER.pack(PROTO_VERSION, ftype, len(payload), seq & 0xFFFFFFFF, t_device_us) + payload
    return body + struct.pack('<I', crc32c(body))


def wire_frame(ftype, seq, t_device_us, payload=b''):
    """What goes on the line: COBS(raw) and the 0x00 delimiter."""
    return cobs_encode(raw_frame(ftype, seq, t_device_us, payload)) + b'\x00'


def parse_raw(raw):
    """(version, type, seq, t_device_us, payload) of a raw frame, or raise
    ValueError (length, CRC)."""
    if len(raw) < 20:
        raise ValueError('too short')
    version, ftype, n, seq, t = HEADER.unpack_from(raw)
    if n > MAX_PAYLOAD or len(raw) != 20 + n:
        raise ValueError('bad length')
    if crc32c(raw[:16 + n]) != struct.unpack_from('<I', raw, 16 + n)[0]:
        raise ValueError('bad CRC')
    return version, ftype, seq, t, raw[16:16 + n]


# ---- payloads (protocol.md 3) ------------------------------------------------

def _id16(s):
    b = s.encode('ascii')
    if len(b) > 16 or any(c < 0x21 or c > 0x7E for c in b):
        raise ValueError('bad id %r' % s)
    return b.ljust(16, b'\x00')


def default_layout():
    """protocol.md 8: [(side, quadrant, ring, mirror, flags)] for 16 zones."""
    zones = []
    for z in range(16):
        side, quadrant, ring = z // 8, (z % 8) // 2, z % 2
        band = ring == 1 and quadrant in (0, 2, 3)
        zones.append((side, quadrant, ring, z ^ 8, BAND if band else 0))
    return zones


def hello_payload(device_id, firmware, rate_hz, zones, temp_scale=10000,
                  pressure_scale=1000, accel_scale=1000):
    if not device_id or '/' in device_id:
        raise ValueError('bad device id %r' % device_id)
    p = _id16(device_id) + _id16(firmware)
    p += struct.pack('<HBBIII', rate_hz, len(zones), 2, temp_scale, pressure_scale, accel_scale)
    for z in zones:
        p += bytes(z)
    return p


def sample_payload(temp, pressure, ambient, accel, status):
    n = len(temp)
    assert len(pressure) == n and len(status) == n and len(ambient) == 2 and len(accel) == 3
    return (struct.pack('<%dh' % n, *temp) + struct.pack('<%dH' % n, *pressure) +
            struct.pack('<2h3h', *ambient, *accel) + bytes(status))


def event_payload(kind, side, value, text=''):
    t = text.encode('utf-8')
    assert len(t) <= 64 and b'\x00' not in t
    return struct.pack('<BBHi', kind, side, 0, value) + t


def status_payload(battery_mv, battery_pct, flags, mcu_temp_cc):
    return struct.pack('<HBBhH', battery_mv, battery_pct, flags, mcu_temp_cc, 0)


# ---- a garment: sequence numbers and the host's HELLO_REQUEST ---------------

class Garment:
    """Keeps the device sequence (protocol.md 4): 0 at power-on, +1 for every
    frame of any type."""

    def __init__(self, device_id='PY-GARMENT', firmware='py-1.0', rate_hz=10, zones=None):
        self.device_id, self.firmware, self.rate_hz = device_id, firmware, rate_hz
        self.zones = zones or default_layout()
        self.seq = 0
        self.rx = bytearray()
        self.sent = []      # (seq, type, t_device_us, payload, wire)

    def frame(self, ftype, t_device_us, payload=b''):
        w = wire_frame(ftype, self.seq, t_device_us, payload)
        self.sent.append((self.seq, ftype, t_device_us, payload, w))
        self.seq = (self.seq + 1) & 0xFFFFFFFF
        return w

    def hello(self, t_device_us):
        return self.frame(HELLO, t_device_us,
                          hello_payload(self.device_id, self.firmware, self.rate_hz, self.zones))

    def connect(self, t_device_us):
        """What the garment sends at every (re)connect: a lone 0x00, HELLO."""
        return b'\x00' + self.hello(t_device_us)

    def host_bytes(self, data):
        """Feeds bytes from the host; returns how many valid HELLO_REQUESTs
        they completed. Damaged frames and other types are ignored."""
        self.rx += data
        requests = 0
        while b'\x00' in self.rx:
            block, _, rest = bytes(self.rx).partition(b'\x00')
            self.rx = bytearray(rest)
            if not block:
                continue
            try:
                version, ftype, _, _, _ = parse_raw(cobs_decode(block))
            except ValueError:
                continue
            if version == PROTO_VERSION and ftype == HELLO_REQUEST:
                requests += 1
        return requests
