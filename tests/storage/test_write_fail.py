#!/usr/bin/python3
"""A write failure (the file size limit, as a full disk would) ends
ductwatch-record with a clear error and exit 1, and the file stays readable
with every frame written before the error, in order."""
import os
import resource
import signal
import sys
import time

import h5py

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import dwtest  # noqa: E402
import dwtest.wire as ds  # noqa: E402
from dwtest import case, check  # noqa: E402
from dwtest.record import Recorder  # noqa: E402

LIMIT = 700_000


def limit_file_size():
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # write() fails with EFBIG instead
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, LIMIT))


@case(timeout=120)
def case_file_size_limit(wd):
    ep = wd.ep("pub")
    p = ds.Publisher(ep, "bra-full", wd.ctx)
    rec = Recorder(wd, [ep], preexec=limit_file_size)
    p.wait_subscriber()
    g = ds.Garment("bra-full", rate=10, seed=2)  # 300-row chunks
    p.frame(g.hello_frame())
    path = rec.wait_file()
    # until the recorder gives up (the limit is reached after some
    # thousand frames; the bound only keeps a broken recorder finite)
    while rec.p.poll() is None and len(p.sent) < 500000:
        for _ in range(5):
            p.frame(g.sample_frame())
        time.sleep(0.01)
    rc = rec.stop()
    check(rc == 1, "recorder exit %s after a write failure (want 1)" % rc)
    err = rec.err.strip().splitlines()
    check(any("file size limit" in l and path in l for l in err),
          "no clear error line: %r" % err)
    check(any("WRITE FAILED" in l for l in rec.closed()), "summary does not say it failed")
    with h5py.File(path, "r") as f:
        n = f["frames/seq"].shape[0]
        check(n > 0, "nothing written before the failure: %r" % err)
        sent = [s for s, kind, *_ in p.sent if kind == ds.SAMPLE][:n]
        check(list(f["frames/seq"][:]) == sent, "frames in the file differ from the sent ones")
        check(f["frames/temperature_c"].shape[0] == n, "columns differ in length")
    check(os.path.getsize(path) <= LIMIT, "file exceeds the limit")
    print("%d frames kept, exit 1 with: %s" % (n, err[-2] if len(err) > 1 else err))


if __name__ == "__main__":
    dwtest.main(fixture=dwtest.Run)
