#!/usr/bin/python3
"""ductwatch-sim replay: a recorded session back to the garment's exact
bytes (file and stdout), --from/--to, a pty that answers HELLO_REQUEST, the
whole round trip replay -> ductwatch-acquire -> ductwatch-record, and a
clear refusal of files that are not sessions."""
import os
import select
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import dwtest  # noqa: E402
import dwtest.wire as ds  # noqa: E402
from dwtest import case, check  # noqa: E402
from dwtest.garment import acquire  # noqa: E402
from dwtest.record import Recorder, replay_argv  # noqa: E402

DEV = "bra-replay"


def record_session(wd):
    """Session A: 60 s of device time at 10 Hz with STATUS, garment and user
    events, a link loss (gap + link-down/up + the garment's reconnect)."""
    ep = wd.ep("pubA")
    p = ds.Publisher(ep, DEV, wd.ctx)
    rec = Recorder(wd, [ep], extra=["-v"])
    p.wait_subscriber()
    g = ds.Garment(DEV, seed=11)
    p.frame(g.hello_frame())
    for i in range(600):
        if i == 300:
            p.event("link-down", "none", None, "acquire", "end of file", t_us=g.t)
            for _ in range(4):       # frames made while the link was down
                g.sample_frame()
            p.event("link-up", "none", None, "acquire", t_us=g.t)
            p.wire += b"\x00"        # the garment's lone 0x00 on reconnect
            hello = g.hello_frame()
            p.event("gap", "none", None, "acquire", t_us=g.t, missing=4)
            p.frame(hello)
        p.frame(g.sample_frame())
        if i % 50 == 5:
            p.frame(g.status_frame())
        if i % 70 == 9:
            p.frame(g.event_frame(9, 1, 0, b"left button"))
        if i % 110 == 3:
            p.event("ice-pack", "right", None, "user", t_us=g.t)
    rec.wait_flushed(600)    # everything arrived
    check(rec.stop() == 0, "recorder A failed: %s" % rec.err)
    return rec.files()[0], p


def run(wd, args):
    return wd.run(replay_argv(*args), timeout=60, text=False)


def frames_of(data):
    return [f for f in ds.decode_wire(data) if f is not None]


@case(timeout=60)
def case_bytes(wd):
    """The replayed bytes are the garment's, to a file and to stdout, whole
    and --from/--to; files that are not sessions are refused."""
    a, p = record_session(wd)
    wire = bytes(p.wire)

    out = wd.path("out.bin")
    r = run(wd, [a, "--fast", "--out", out])
    check(r.returncode == 0, "replay exit %d: %s" % (r.returncode, r.stderr))
    got = open(out, "rb").read()
    check(got == wire, "replayed bytes differ from the garment's (%d vs %d bytes)"
          % (len(got), len(wire)))
    r = run(wd, [a, "--fast", "--out", "stdout"])
    check(r.returncode == 0 and r.stdout == wire, "--out stdout differs")

    # --from/--to: device time after the session start; begins with a HELLO
    r = run(wd, [a, "--fast", "--from", "10s", "--to", "20s", "--out", "stdout"])
    check(r.returncode == 0, "--from/--to exit %d: %s" % (r.returncode, r.stderr))
    part = frames_of(r.stdout)
    orig = frames_of(wire)
    check(r.stdout[:1] == b"\x00" and part[0][0] == ds.HELLO, "does not start 0x00 + HELLO")
    t_first = orig[0][2]
    body = part[1:]
    check(body and all(10e6 <= f[2] - t_first <= 20e6 for f in body),
          "frames outside 10..20 s: %r" % [(f[2] - t_first) / 1e6 for f in body[:3]])
    check(part[0][1] == (body[0][1] - 1) & 0xFFFFFFFF, "the leading HELLO's seq")
    idx = orig.index(body[0])
    check(orig[idx:idx + len(body)] == body, "the --from/--to frames are not the originals")
    check(len([f for f in body if f[0] == ds.SAMPLE]) == 101, "samples in 10..20 s: %d"
          % len([f for f in body if f[0] == ds.SAMPLE]))

    # refusals
    plain = wd.path("plain.h5")
    with h5py.File(plain, "w") as f:
        f["x"] = np.arange(3)
        f.attrs["format"] = "something-else"
    r = run(wd, [plain, "--fast", "--out", out])
    check(r.returncode == 1 and b"not a ductwatch session" in r.stderr,
          "plain HDF5: exit %d, %r" % (r.returncode, r.stderr))
    text = wd.path("notes.h5")
    open(text, "w").write("not hdf5\n")
    r = run(wd, [text, "--out", out])
    check(r.returncode == 1 and b"not an HDF5 file" in r.stderr, "text file: %r" % r.stderr)
    r = run(wd, [wd.path("missing.h5"), "--out", out])
    check(r.returncode == 1 and b"No such file" in r.stderr, "missing file: %r" % r.stderr)
    r = run(wd, [a, "--fast", "--speed", "2"])
    check(r.returncode == 2, "--fast with --speed: exit %d" % r.returncode)
    r = run(wd, [])
    check(r.returncode == 2, "no file: exit %d" % r.returncode)


def read_pty(fd, data, want=None):
    """Reads the pty into data: up to want bytes in all, or to its end."""
    while want is None or len(data) < want:
        r, _, _ = select.select([fd], [], [], 30)
        check(r, "the replay wrote nothing for 30 s")
        try:
            chunk = os.read(fd, 65536 if want is None else want - len(data))
        except OSError:
            return      # EIO: the replay closed the pty
        if not chunk:
            return
        data += chunk


@case(timeout=60)
def case_pty_answers(wd):
    """--out pty: 'pty: PATH' first; a HELLO_REQUEST gets the session's HELLO
    numbered like the frame before it; everything else is the original."""
    import termios
    import tty
    a, p = record_session(wd)
    wire = bytes(p.wire)
    proc = wd.spawn(replay_argv(a, "--speed", "60", "--out", "pty"))
    path = proc.expect("pty: ")
    check(path.startswith("/dev/pts/"), "pty line %r" % path)
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
    # TCSANOW and no flush: the replay may already have written its first
    # frames, and TCSAFLUSH (setraw's default) or a flush would drop them.
    tty.setraw(fd, termios.TCSANOW)
    data = bytearray()
    # The request goes out while the rest of the session is still unread:
    # the replay ends only once its reader took every byte, and it answers
    # until then (a reader that first took everything could ask too late).
    read_pty(fd, data, 2000)
    os.write(fd, b"\x00" + ds.wire(5, 0, 0, b""))
    read_pty(fd, data)
    os.close(fd)
    check(proc.wait(10) == 0, "pty replay exit %d: %s" % (proc.returncode, proc.err_text()))
    got = frames_of(bytes(data))
    orig = frames_of(wire)
    check(len(got) == len(orig) + 1, "want one answered HELLO: %d vs %d frames"
          % (len(got), len(orig)))
    extra = [i for i, (x, y) in enumerate(zip(got, orig)) if x != y]
    k = extra[0] if extra else len(orig)
    check(got[k][0] == ds.HELLO and got[k][1] == got[k - 1][1], "the answer %r" % (got[k][:3],))
    check(got[:k] + got[k + 1:] == orig, "apart from the answer the bytes differ")


@case(timeout=90)
def case_round_trip(wd):
    """File A -> replay (pty) -> ductwatch-acquire -> ductwatch-record -> file
    B: B's frames and garment events equal A's."""
    a, _ = record_session(wd)
    with h5py.File(a, "r") as fa:
        n_a = fa["frames/seq"].shape[0]
    link = wd.path("garment")
    sim = wd.spawn(replay_argv(a, "--fast", "--out", "pty", "--pty-link", link))
    port = sim.expect("pty: ")
    pub = wd.ep("acq")
    rec = Recorder(wd, [pub], extra=["-v"], dir=wd.path("sessions-b"))
    acq, _, _ = acquire(wd, port, "--wait-subscribers", "1", pub=pub)
    b = rec.wait_file(timeout=60)
    check(sim.wait(60) == 0, "replay into acquire: %s" % sim.err_text())
    rec.wait_flushed(n_a)      # everything went through
    check(acq.stop() == 0, "acquire exit status")
    check(rec.stop() == 0, "recorder B: %s" % rec.err)
    check(len(rec.files()) == 1, "B split into %r" % rec.files())
    with h5py.File(a, "r") as fa, h5py.File(b, "r") as fb:
        for k in ("device_seq", "t_device_us", "temperature_c", "pressure_kpa", "ambient_c",
                  "accel_g", "status"):
            x, y = fa["frames/" + k][:], fb["frames/" + k][:]
            check(x.shape == y.shape and (x == y).all(), "frames/%s differ: %r vs %r"
                  % (k, x.shape, y.shape))
        ga = fa["events"][fa["events"]["source"] == b"garment"]
        gb = fb["events"][fb["events"]["source"] == b"garment"]
        for k in ("kind", "side", "text", "device_seq", "t_device_us"):
            check((ga[k] == gb[k]).all(), "garment events differ in %s" % k)
        # a feed has no value: NaN in both files
        check(np.array_equal(ga["value"], gb["value"], equal_nan=True),
              "garment events differ in value")
        sa, sb = fa["device_status"][:], fb["device_status"][:]
        for k in ("device_seq", "battery_mv", "battery_pct", "flags", "mcu_temp_cc"):
            check((sa[k] == sb[k]).all(), "status differs in %s" % k)
        check(bytes(fa.attrs["hello_payload"]) == bytes(fb.attrs["hello_payload"]), "HELLO")
    print("round trip through ductwatch-acquire: %d frames equal" % len(x))


if __name__ == "__main__":
    dwtest.main(fixture=dwtest.Run)
