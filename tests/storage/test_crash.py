#!/usr/bin/python3
"""kill -9 of ductwatch-record in the middle of a session: the file does not
open as it is (SWMR flags still set), `ductwatch-record --recover` makes it
open in every reader, and it then holds, unchanged, at least every frame the
writer had logged as flushed before the kill (`-v`: "flushed, N frames in
the file"; it flushes at least once a second).

Second case: after the kill, bytes in the middle of the last chunk of one
/frames column are overwritten, as a power loss can tear a chunk that is
rewritten in place; the chunk before it in another column is zeroed (blocks
allocated but never written: their checksum is 0 too, and scale-offset would
read them as 0.0); and bytes in the last chunk of /stats are overwritten.
--recover must say so and cut every column back to the start of the zeroed
chunk, and /stats to the start of its chunk; everything before them reads
back unchanged."""
import os
import signal
import sys
import time

import h5py

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import dwtest  # noqa: E402
import dwtest.wire as ds  # noqa: E402
from dwtest import case, check  # noqa: E402
from dwtest.record import Recorder  # noqa: E402

CHUNK = 256  # --chunk-rows: several chunks in the few seconds of the test
KILL_AT = 4 * CHUNK  # frames the writer has flushed when it is killed


def killed_session(wd, dev):
    """Records until the writer has flushed KILL_AT frames (several chunks,
    whatever the machine's speed), a little more, then kill -9; returns
    (path, publisher, the writer's last logged flush)."""
    ep = wd.ep("pub-" + dev)
    p = ds.Publisher(ep, dev, wd.ctx)
    rec = Recorder(wd, [ep], extra=["--chunk-rows", str(CHUNK), "-v"])
    p.wait_subscriber()
    g = ds.Garment(dev, rate=100, seed=9)
    p.frame(g.hello_frame())
    path = rec.wait_file()
    i = 0
    while max(rec.flushed(), default=0) < KILL_AT or i % 50:
        for _ in range(5):
            p.frame(g.sample_frame())
        i += 1
        if i % 2 == 0:  # /stats rows: several 64-row table chunks too
            p.stats(g.t, frames=i)
        time.sleep(0.01)
        check(i < 100000, "the writer logged no flush of %d frames" % KILL_AT)
    os.kill(rec.pid, signal.SIGKILL)
    rec.kill()
    check(rec.p.returncode == -signal.SIGKILL, "recorder was not killed")
    flushed = rec.flushed()
    try:
        h5py.File(path, "r").close()
        opened = True
    except OSError:
        opened = False
    check(not opened, "a killed SWMR file opened without recovery: test is not testing")
    return path, p, flushed[-1]


def recover(wd, path):
    r = wd.run(["ductwatch-record", "--recover", path], timeout=30)
    check(r.returncode == 0, "--recover exit %d: %s" % (r.returncode, r.stderr))
    check("recovered" in r.stdout and "frames " in r.stdout, "--recover says: %r" % r.stdout)
    return r.stdout


def check_frames(path, sent, out):
    """Every column has the same rows, and they are the first ones sent."""
    with h5py.File(path, "r") as f:
        n = f["frames/seq"].shape[0]
        check("frames %d," % n in out, "--recover count differs: %r" % out)
        for k in f["frames"]:
            check(f["frames/" + k].shape[0] == n, "%s: %d rows, seq %d"
                  % (k, f["frames/" + k].shape[0], n))
            f["frames/" + k][:]  # every chunk reads back
        got = list(zip(f["frames/seq"][:], f["frames/device_seq"][:],
                       f["frames/t_device_us"][:]))
        check(got == sent[:n], "recovered frames differ from what was sent")
    return n


@case()
def case_kill(wd):
    path, p, flushed = killed_session(wd, "bra-kill")
    out = recover(wd, path)
    samples = [(s, d, t) for s, kind, d, t, when in p.sent if kind == ds.SAMPLE]
    n = check_frames(path, samples, out)
    check(n >= flushed, "recovered %d frames, but the writer had logged a flush of %d before "
          "the kill" % (n, flushed))
    # a second recovery finds nothing to do
    r = wd.run(["ductwatch-record", "--recover", path], timeout=30)
    check(r.returncode == 0 and "nothing to recover" in r.stdout, "second --recover: %r"
          % r.stdout)
    print("%d frames recovered of %d sent; the writer's last logged flush before the kill: %d"
          % (n, len(samples), flushed))


@case()
def case_torn_chunk(wd):
    path, p, _ = killed_session(wd, "bra-torn")
    with h5py.File(path, "r", libver="latest", swmr=True) as f:
        d = f["frames/pressure_kpa"]
        n = f["frames/seq"].shape[0]
        check(n > 2 * CHUNK, "only %d rows: the test needs several chunks" % n)
        last = (n - 1) // CHUNK * CHUNK  # the chunk being rewritten at the kill
        info = d.id.get_chunk_info_by_coord((last, 3))
        zeroed = f["frames/temperature_c"].id.get_chunk_info_by_coord((last - CHUNK, 5))
        n_stats = f["stats"].shape[0]
        st = f["stats"]
        check(n_stats > 64, "only %d /stats rows: the test needs several chunks" % n_stats)
        last_stats = (n_stats - 1) // 64 * 64
        stats_info = st.id.get_chunk_info_by_coord((last_stats,))
        stats_kept = [tuple(r) for r in st[:last_stats]]
    with open(path, "r+b") as fp:
        for at in (info, stats_info):
            fp.seek(at.byte_offset + at.size // 3)
            fp.write(bytes((i * 37 + 11) & 0xFF for i in range(24)))
        fp.seek(zeroed.byte_offset)
        fp.write(bytes(zeroed.size))
    out = recover(wd, path)
    check("no longer reads back" in out, "--recover does not report the torn chunk: %r" % out)
    check("cut the last %d table rows" % (n_stats - last_stats) in out,
          "--recover does not report the torn /stats chunk: %r" % out)
    with h5py.File(path, "r") as f:
        check([tuple(r) for r in f["stats"][:]] == stats_kept,
              "/stats after recovery is not the rows before the torn chunk")
    samples = [(s, d_, t) for s, kind, d_, t, when in p.sent if kind == ds.SAMPLE]
    kept = check_frames(path, samples, out)
    check(kept == last - CHUNK, "kept %d frames, want %d (up to the zeroed chunk)"
          % (kept, last - CHUNK))
    print("a zeroed chunk at row %d and a torn one at %d of %d: cut at %d"
          % (last - CHUNK, last, n, kept))


if __name__ == "__main__":
    dwtest.main(fixture=dwtest.Run)
