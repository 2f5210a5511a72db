"""Back-pressure: one subscriber stops reading for the whole session while
the garment streams 150 000 frames at 10 kHz (15 s: more than acquire's
100 000-message send high-water mark plus the subscriber's own 1 000 and
the socket buffers, so the stalled connection must overflow).

- acquire never waits for it: the garment's paced writes all get read
  (acquire's final `bytes` = the bytes the garment wrote), and a second,
  healthy subscriber gets every frame, contiguous in seq, none missing;
- the stalled subscriber's loss is its own and is counted where
  docs/messages.md section 8 says: when it reads again it sees a stream
  seq gap, and what it got plus its gap adds up to the whole stream;
  acquire's `zmq_dropped` stays 0 (libzmq does not report per-connection
  drops of the lossy XPUB to the sender)."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import dwtest  # noqa: E402
from dwtest import Stream, case, check, subscribe  # noqa: E402
from dwtest.garment import acquire, summary as garment_summary, testgarment  # noqa: E402

FRAMES = 150000
RATE = 10000


@case(timeout=180, suites=["slow"])
def test_stalled_subscriber(t):
    ctx = t.ctx
    tg, port = testgarment(t, "--frames", str(FRAMES), "--rate", str(RATE))
    pub = t.ep("acq-pub")
    healthy = Stream(subscribe(ctx, pub, hwm=0))
    stalled_sock = subscribe(ctx, pub, hwm=1000)
    a, _, _ = acquire(t, port, "--wait-subscribers", "2")
    t0 = time.monotonic()
    lags = []
    n = FRAMES + 1   # the HELLO and the samples
    while len(healthy.frames) < n and time.monotonic() - t0 < 120:
        healthy.poll(100)
        if healthy.frames:
            f0, f = healthy.frames[0], healthy.frames[-1]
            # how far acquire's receive time falls behind the device clock
            lags.append((f["t_host_ns"] - f0["t_host_ns"]) / 1e9 -
                        (f["t_device_us"] - f0["t_device_us"]) / 1e6)
    summary = garment_summary(tg, 30)
    check(summary["frames_sent"] == n, "garment summary %r" % summary)
    check(len(healthy.frames) == n, "healthy subscriber got %d of %d frames"
          % (len(healthy.frames), n))
    check(healthy.gaps == 0 and healthy.first == 1, "healthy subscriber: %d gaps, first seq %s"
          % (healthy.gaps, healthy.first))
    dseq = [f["device_seq"] for f in healthy.frames]
    check(dseq == list(range(n)), "healthy subscriber's frames not contiguous")
    check(a.poll() is None, "acquire exited %s" % a.returncode)
    # Now the stalled one reads again, while acquire still publishes
    # (stats every 2 s): what it has queued, then the live stream.
    stalled = Stream(stalled_sock)
    check(stalled.until(lambda: stalled.last > healthy.last, 20),
          "the stalled subscriber never caught up with the live stream")
    check(a.stop() == 0, "acquire exit status")
    healthy.until(lambda: healthy.stats is not None and healthy.stats["frames"] == n and
                  healthy.last >= stalled.last, 5)
    st = healthy.stats
    check(st and st["bytes"] == summary["bytes"], "acquire read %s bytes, the garment wrote %d"
          % (st and st["bytes"], summary["bytes"]))
    check(st["frames"] == n and st["frames_missing"] == 0, "stats %r" % st)
    check(st["zmq_dropped"] == 0, "zmq_dropped %d" % st["zmq_dropped"])
    last = stalled.last
    got = len(stalled.frames) + len(stalled.events) + stalled.n_stats
    check(stalled.gaps >= 1 and stalled.missing > 0, "the stalled subscriber saw no gap "
          "(%d messages): the test did not overflow its queue" % got)
    check(stalled.first == 1, "stalled subscriber's first seq %s" % stalled.first)
    # everything it did not get is in its gap count (up to its last seq)
    check(got + stalled.missing == stalled.last, "stalled: %d received + %d missing != "
          "last seq %d" % (got, stalled.missing, stalled.last))
    print("back-pressure: %d frames at %d Hz; healthy subscriber got all %d, contiguous; "
          "acquire read all %d bytes, zmq_dropped %d; the stalled subscriber (RCVHWM 1000) "
          "got %d messages, its seq gap counts %d missing (stream of %d messages); "
          "acquire's receive time lagged the device clock by at most %.3f s"
          % (FRAMES, RATE, n, st["bytes"], st["zmq_dropped"], got, stalled.missing, last,
             max(lags) if lags else 0.0))


if __name__ == "__main__":
    dwtest.main(fixture=dwtest.Run)
