#!/usr/bin/python3
"""ductwatch-sim replay: a recorded session back to the garment's exact
bytes (file and stdout), --from/--to, a pty that answers HELLO_REQUEST, the
whole round trip replay -> ductwatch-acquire -> ductwatch-record when
acquire is built, and a clear refusal of files that are not sessions."""
import os
import subprocess
import sys
import time

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dwstream as ds  # noqa: E402
from dwtest import ACQUIRE, Recorder, Workdir, check, replay_cmd  # noqa: E402

DEV = "bra-replay"


def record_session(wd):
    """Session A: 60 s of device time at 10 Hz with STATUS, garment and user
    events, a link loss (gap + link-down/up + the garment's reconnect)."""
    ep = wd.ep("pubA")
    p = ds.Publisher(ep, DEV)
    rec = Recorder(wd, [ep])
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
    time.sleep(0.3)
    check(rec.stop() == 0, "recorder A failed: %s" % rec.err)
    return rec.files()[0], p


def run(args, **kw):
    return subprocess.run(replay_cmd(*args), capture_output=True, timeout=60, **kw)


def frames_of(data):
    return [f for f in ds.decode_wire(data) if f is not None]


def main():
    with Workdir() as wd:
        a, p = record_session(wd)
        wire = bytes(p.wire)

        out = os.path.join(wd.path, "out.bin")
        r = run([a, "--fast", "--out", out])
        check(r.returncode == 0, "replay exit %d: %s" % (r.returncode, r.stderr))
        got = open(out, "rb").read()
        check(got == wire, "replayed bytes differ from the garment's (%d vs %d bytes)"
              % (len(got), len(wire)))
        r = run([a, "--fast", "--out", "stdout"])
        check(r.returncode == 0 and r.stdout == wire, "--out stdout differs")

        # --from/--to: device time after the session start; begins with a HELLO
        r = run([a, "--fast", "--from", "10s", "--to", "20s", "--out", "stdout"])
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
        plain = os.path.join(wd.path, "plain.h5")
        with h5py.File(plain, "w") as f:
            f["x"] = np.arange(3)
            f.attrs["format"] = "something-else"
        r = run([plain, "--fast", "--out", out])
        check(r.returncode == 1 and b"not a ductwatch session" in r.stderr,
              "plain HDF5: exit %d, %r" % (r.returncode, r.stderr))
        text = os.path.join(wd.path, "notes.h5")
        open(text, "w").write("not hdf5\n")
        r = run([text, "--out", out])
        check(r.returncode == 1 and b"not an HDF5 file" in r.stderr, "text file: %r" % r.stderr)
        r = run([os.path.join(wd.path, "missing.h5"), "--out", out])
        check(r.returncode == 1 and b"No such file" in r.stderr, "missing file: %r" % r.stderr)
        r = run([a, "--fast", "--speed", "2"])
        check(r.returncode == 2, "--fast with --speed: exit %d" % r.returncode)
        r = run([])
        check(r.returncode == 2, "no file: exit %d" % r.returncode)

        pty_answers(wd, a, wire)
        if ACQUIRE:
            round_trip(wd, a)
        else:
            print("(ductwatch-acquire not built: round trip through acquire skipped)")
    print("ok")


def pty_answers(wd, a, wire):
    """--out pty: 'pty: PATH' first; a HELLO_REQUEST gets the session's HELLO
    numbered like the frame before it; everything else is the original."""
    import termios
    import tty
    proc = subprocess.Popen(replay_cmd(a, "--speed", "60", "--out", "pty"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = proc.stdout.readline().decode()
    check(first.startswith("pty: /dev/pts/"), "first line %r" % first)
    fd = os.open(first[5:].strip(), os.O_RDWR | os.O_NOCTTY)
    # TCSANOW and no flush: the replay may already have written its first
    # frames, and TCSAFLUSH (setraw's default) or a flush would drop them.
    tty.setraw(fd, termios.TCSANOW)
    data = bytearray()
    asked = False
    end = time.monotonic() + 30
    import select
    while time.monotonic() < end:
        r, _, _ = select.select([fd], [], [], 0.5)
        if r:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            data += chunk
            if not asked and len(data) > 2000:
                os.write(fd, b"\x00" + ds.wire(5, 0, 0, b""))
                asked = True
        elif proc.poll() is not None:
            break
    os.close(fd)
    proc.wait(timeout=10)
    check(proc.returncode == 0, "pty replay exit %d: %s" % (proc.returncode, proc.stderr.read()))
    got = frames_of(bytes(data))
    orig = frames_of(wire)
    check(len(got) == len(orig) + 1, "want one answered HELLO: %d vs %d frames"
          % (len(got), len(orig)))
    extra = [i for i, (x, y) in enumerate(zip(got, orig)) if x != y]
    k = extra[0] if extra else len(orig)
    check(got[k][0] == ds.HELLO and got[k][1] == got[k - 1][1], "the answer %r" % (got[k][:3],))
    check(got[:k] + got[k + 1:] == orig, "apart from the answer the bytes differ")


def round_trip(wd, a):
    """File A -> replay (pty) -> ductwatch-acquire -> ductwatch-record -> file
    B: B's frames and garment events equal A's."""
    link = os.path.join(wd.path, "garment")
    sim = subprocess.Popen(replay_cmd(a, "--fast", "--out", "pty", "--pty-link", link),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = sim.stdout.readline().decode()
    check(first.startswith("pty: "), "replay pty line %r" % first)
    pub = wd.ep("acq")
    acq = subprocess.Popen([ACQUIRE, "--port", first[5:].strip(), "--pub", pub,
                            "--events", wd.ep("events"), "--wait-subscribers", "1"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    rec = Recorder(wd, [pub])
    b = rec.wait_file(timeout=20)
    sim.wait(timeout=60)
    check(sim.returncode == 0, "replay into acquire: %s" % sim.stderr.read())
    time.sleep(1.5)
    acq.terminate()
    acq.wait(timeout=10)
    time.sleep(0.5)
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
    main()
