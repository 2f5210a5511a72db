"""Crash safety of the recorder: kill -9 of ductwatch-record at 20 seeded
random moments of one live session (testgarment on a pty -> acquire ->
record), restarting it each time.

Checked for every file, after `ductwatch-record --recover` where the writer
was killed: it opens in h5py; it holds at least the frames the recorder's
last completed flush reported (`-v` log: "flushed, N frames in the file");
every frame of the stream missing inside its span is covered by a `gap`
row in its /events; and over all the files together not one frame of the
session is missing (acquire's backlog replays the last 10 s to each
restarted recorder, and the pinned HELLO lets it open a file at once).

Measured and printed, not asserted (tests never gate on time): how old the
oldest frame a killed recorder had but had not flushed was. The recorder
flushes every second, so that is one flush interval plus whatever the
machine adds: a kill during a flush leaves the file as of the flush before,
and on a loaded machine a flush can take a while."""
import os
import random
import re
import signal
import subprocess
import sys
import time

import zmq

from rellib import (PROG, TESTGARMENT, Fail, Stream, Tmp, check, main, read_line, start_acquire,
                    stop, subscribe)

SEED = int(os.environ.get("DW_CRASH_SEED", "20261201"))
KILLS = 20
RATE = 200


def recover(path):
    r = subprocess.run([PROG["ductwatch-record"], "--recover", path], capture_output=True,
                       text=True, timeout=60)
    check(r.returncode == 0, "--recover %s: exit %d %s" % (path, r.returncode, r.stderr))
    return r.stdout


def file_contents(path):
    import h5py
    with h5py.File(path, "r") as f:
        seq = [int(x) for x in f["frames/seq"][:]]
        check(f["frames/temperature_c"].shape[0] == len(seq), "%s: columns differ" % path)
        gaps = []
        if "events" in f:
            ev = f["events"][:]
            for row in ev:
                kind = row["kind"].decode() if isinstance(row["kind"], bytes) else str(row["kind"])
                if kind == "gap":
                    gaps.append((int(row["seq"]), int(row["missing"])))
    return seq, gaps


def where_missing(missing, arrival, files, opened, kills, recorder_said):
    """For a failure: each run of missing frames, when the observer had
    them, and what each recorder around that time did (opened, killed, its
    file's seq span, the last lines of its log)."""
    runs, out = [], []
    for s in missing:
        if runs and s == runs[-1][1] + 1:
            runs[-1][1] = s
        else:
            runs.append([s, s])
    t0 = opened[0]
    for a, b in runs[:5]:
        ta, tb = arrival[a] - t0, arrival[b] - t0
        out.append("seq %d..%d (%d), arrived at %.2f..%.2f s" % (a, b, b - a + 1, ta, tb))
        for i, path in enumerate(files):
            t_open = opened[i] - t0
            t_kill = kills[i] - t0 if i < len(kills) else float("inf")
            # (a recorder has the frames of 10 s before it opened: the backlog)
            if t_kill < ta - 2 or t_open - 10 > tb + 2:
                continue
            try:
                seq, _ = file_contents(path)
                span = "%d..%d" % (seq[0], seq[-1]) if seq else "empty"
            except Exception as e:  # noqa: BLE001  (diagnostics only)
                span = "unreadable: %s" % e
            tail = recorder_said(i).strip().splitlines()[-2:]
            out.append("  recorder %d: file opened %.2f s, killed %.2f s, seq %s; log ends %r"
                       % (i, t_open, t_kill, span, tail))
    return "\n".join(out)


def test_record_kill9_soak():
    rng = random.Random(SEED)
    ctx = zmq.Context()
    with Tmp() as t:
        sessions = t.path("sessions")
        os.mkdir(sessions)
        frames = int(RATE * (KILLS * 1.6 + 6))
        tg = t.spawn([TESTGARMENT, "--frames", str(frames), "--rate", str(RATE),
                      "--hold-ms", "60000"])
        line = read_line(tg)
        pub = "ipc://" + t.path("acq-pub")
        obs = Stream(subscribe(ctx, pub))
        recs = []

        def start_recorder():
            err = open(t.path("record-%d.err" % len(recs)), "w")
            r = t.spawn([PROG["ductwatch-record"], "-v", "--sub", pub, "--dir", sessions],
                        stderr=err)
            err.close()
            recs.append(r)
            return r

        def recorder_said(i, tail=True):
            with open(t.path("record-%d.err" % i)) as f:
                text = f.read()
            return text[-1500:] if tail else text

        rec = start_recorder()
        a, _, _ = start_acquire(t, line[5:], "--wait-subscribers", "2")
        arrivals = []      # (monotonic time, number of frames the observer has)

        def observe(seconds):
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                obs.poll(20)
                arrivals.append((time.monotonic(), len(obs.frames)))

        files, opened, kills = [], [], []
        rec_file = read_line(rec, 20)
        check(rec_file.startswith("file: "), "recorder said %r" % rec_file)
        files.append(rec_file[6:])
        opened.append(time.monotonic())
        for k in range(KILLS):
            observe(rng.uniform(0.3, 2.5))
            os.kill(rec.pid, signal.SIGKILL)
            kills.append(time.monotonic())
            rec.wait(10)
            check(rec.returncode == -signal.SIGKILL, "recorder %d not killed" % k)
            rec = start_recorder()
            try:
                line = read_line(rec, 20)
            except Fail:
                raise Fail("restarted recorder %d opened no file in 20 s; its log:\n%s"
                           % (k, recorder_said(len(recs) - 1)))
            check(line.startswith("file: "), "restarted recorder %d said %r" % (k, line))
            files.append(line[6:])
            opened.append(time.monotonic())
        check(a.poll() is None, "acquire died")
        # The rest of the session, then a clean stop.
        obs.until(lambda: len(obs.frames) >= frames, 60)
        observe(1.5)
        check(stop(rec, "recorder") == 0, "last recorder exit status")
        stop(a, "acquire")
        # When the observer had each frame (its arrival time).
        arrival, k = {}, 0
        for when, n in arrivals:
            while k < n:
                arrival[obs.frames[k]["seq"]] = when
                k += 1
        samples = [f["seq"] for f in obs.frames if f["type"] == 2]
        check(len(samples) == frames, "the observer got %d samples of %d" % (len(samples), frames))
        check(obs.gaps == 0, "the observer itself saw %d gaps" % obs.gaps)

        everything = set()
        lost_at_kill, gap_rows, recovered, flushes, in_flush = [], 0, 0, 0, 0
        for i, path in enumerate(files):
            if i < KILLS:
                out = recover(path)
                recovered += "recovered" in out
            seq, gaps = file_contents(path)
            check(seq == sorted(seq) and len(set(seq)) == len(seq), "%s: seq not increasing" % path)
            have = set(seq)
            everything |= have
            covered = set()
            for s, missing in gaps:
                covered.update(range(s - missing, s))
            gap_rows += len(gaps)
            if seq:
                holes = [s for s in samples if seq[0] <= s <= seq[-1] and s not in have and
                         s not in covered]
                check(not holes, "%s: %d frame(s) missing with no gap recorded (first %d)"
                      % (path, len(holes), holes[0] if holes else 0))
            if i == KILLS:
                continue
            flushed = [int(x) for x in re.findall(r"flushed, (\d+) frames in the file",
                                                    recorder_said(i, tail=False))]
            last_flush = flushed[-1] if flushed else 0
            check(len(seq) >= last_flush, "file %d holds %d frames, its recorder had flushed %d "
                  "before the kill" % (i, len(seq), last_flush))
            flushes += len(flushed)
            # What this recorder had: the backlog replay (frames at most 10 s
            # old when it subscribed, before it opened the file) and the live
            # frames after. It has a frame at max(arrival, file opened).
            t_open, t_kill = opened[i], kills[i]
            mine = [s for s in samples if arrival[s] >= t_open - 9.0 and arrival[s] <= t_kill]
            had = {s: max(arrival[s], t_open) for s in mine}
            late = [s for s in mine if s not in have]
            log = recorder_said(i, tail=False)
            in_flush += log.rstrip().endswith("flushing")
            lost_at_kill.append((len(late), max((t_kill - had[s] for s in late), default=0.0)))
        missing_total = [s for s in samples if s not in everything]
        check(not missing_total, "%d frame(s) of the session are in no file:\n%s"
              % (len(missing_total), where_missing(missing_total, arrival, files, opened, kills,
                                                  recorder_said)))
        check(recovered == KILLS, "only %d of %d killed files needed recovery" % (recovered, KILLS))
        check(gap_rows >= 1, "no restarted recorder recorded a gap")
        print("record kill -9 soak (seed %d): %d kills, %d files, all open in h5py after "
              "--recover; %d frames at %d Hz, every one in some file; frames the killed "
              "recorder had but had not flushed: max %d, mean %.1f, oldest %.2f s before its "
              "kill (%d kill(s) landed during a flush); every file holds what its last of %d "
              "logged flushes said; %d gap rows in restarted files"
              % (SEED, KILLS, len(files), frames, RATE, max(n for n, _ in lost_at_kill),
                 sum(n for n, _ in lost_at_kill) / KILLS, max(a for _, a in lost_at_kill),
                 in_flush, flushes, gap_rows))
    ctx.destroy(linger=0)


def test_hello_replayed_after_live_frames():
    """The backlog replay can reach a new subscriber after a few live
    messages (docs/messages.md section 8), so its HELLO arrives as a
    duplicate by seq: the recorder must still take it, open the file, and
    record that the stream up to there is not in it; detect must still take
    it and analyse the samples after it."""
    import h5py
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "storage"))
    import dwstream as ds
    ctx = zmq.Context()
    with Tmp() as t:
        ep = "ipc://" + t.path("pub")
        pub = ctx.socket(zmq.XPUB)
        pub.setsockopt(zmq.LINGER, 2000)
        pub.setsockopt(zmq.XPUB_VERBOSE, 1)   # both subscriptions reported
        pub.bind(ep)
        rec = t.spawn([PROG["ductwatch-record"], "--sub", ep, "--dir", t.dir],
                      stderr=subprocess.DEVNULL)
        det = t.spawn([PROG["ductwatch-detect"], "-v", "--sub", ep, "--pub",
                       "ipc://" + t.path("det")], stderr=subprocess.PIPE, text=True)
        for _ in range(2):
            check(pub.poll(10000), "no subscription")
            pub.recv()
        g = ds.Garment("bra-late", rate=10)
        stream = int(float(time.time_ns()))
        hello = g.hello_frame()

        def send(f, seq):
            ftype, dseq, t_us, payload = f
            pub.send_multipart([b"frame.bra-late",
                                ds.frame_body(ftype, dseq, seq, stream, t_us, time.time_ns(),
                                              payload)])
        for k in range(50, 61):
            send(g.sample_frame(), k)     # live messages first...
        send(hello, 1)                     # ...then the replayed HELLO
        for k in range(61, 101):
            send(g.sample_frame(), k)
        line = read_line(rec, 10)
        check(line.startswith("file: "), "recorder said %r" % line)
        time.sleep(1.5)
        check(stop(rec, "recorder") == 0, "recorder exit status")
        check(stop(det, "detect") == 0, "detect exit status")
        said = det.stderr.read()
        check("40 samples analysed, 11 ignored before a HELLO" in said,
              "detect did not analyse the samples after the late HELLO: %r" % said[-600:])
        path = line[6:]
        seq, gaps = file_contents(path)
        check(seq == list(range(61, 101)), "frames in the file: %r" % seq[:5])
        check((61, 59) in gaps, "no gap row for the stream before the HELLO: %r" % gaps)
        with h5py.File(path, "r") as f:
            check(f.attrs["device_id"] in (b"bra-late", "bra-late"), "device id")
    ctx.destroy(linger=0)


def test_frames_lost_across_acquire_restart():
    """A killed acquire can take garment frames with it that it had read but
    not published, or leave the next one half a frame it cannot decode;
    its successor counts device seq gaps only from its own first frame
    (here: the samples it drops before its HELLO). The recorder saw both
    streams: it records what fell between them as a gap row (source
    "record"), so the holes in the file's device seq add up to its gap
    rows, without counting acquire's own gap twice, and a garment EVENT in
    the new stream keeps its device seq."""
    import h5py
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "storage"))
    import dwstream as ds
    with Tmp() as t:
        ep = "ipc://" + t.path("pub")
        pub = ds.Publisher(ep, "bra-restart")
        rec = t.spawn([PROG["ductwatch-record"], "--sub", ep, "--dir", t.dir],
                      stderr=subprocess.PIPE, text=True)
        pub.wait_subscriber()
        g = ds.Garment("bra-restart", rate=10)
        pub.frame(g.hello_frame())
        for _ in range(20):
            pub.frame(g.sample_frame())
        pub.frame(g.event_frame(1, 1, 0))          # a feed, device seq 21
        for _ in range(3):
            g.sample_frame()                       # read by the killed acquire, never published
        # The next acquire: a new stream, counting from seq 1 again (stream
        # ids are exact as JSON doubles: a multiple of 4096 apart).
        pub.stream += 2 * 4096
        pub.seq = 0
        for _ in range(2):
            g.sample_frame()                       # before the new acquire's HELLO: dropped...
        pub.event("gap", "none", None, "acquire", t_us=g.t, missing=2)   # ...and counted
        pub.frame(g.hello_frame())                 # device seq 27
        for _ in range(5):
            pub.frame(g.sample_frame())
        pub.frame(g.event_frame(2, 1, 0))          # device seq 33
        for _ in range(5):
            pub.frame(g.sample_frame())
        line = read_line(rec, 10)
        check(line.startswith("file: "), "recorder said %r" % line)
        said = read_line(rec, 10)
        time.sleep(1.5)
        check(stop(rec, "recorder") == 0, "recorder exit status")
        log = rec.stderr.read()
        pub.close()
        with h5py.File(line[6:], "r") as f:
            dseq = [int(x) for x in f["frames/device_seq"][:]]
            ev = f["events"][:]
        rows = [(r["kind"].decode(), r["source"].decode(), int(r["missing"]), int(r["device_seq"]),
                 r["text"].decode()) for r in ev]
        check(dseq == list(range(1, 21)) + list(range(28, 33)) + list(range(34, 39)),
              "device seq in the file: %r" % dseq)
        lost = [r[:3] for r in rows if r[0] == "gap"]
        check(lost == [("gap", "acquire", 2), ("gap", "record", 3)], "gap rows: %r" % rows)
        check(("gap", "record", 3, -1, "garment frames lost while acquire restarted") in rows,
              "the recorder's gap row: %r" % rows)
        check(("stream-restart", "record", 0, -1, "acquire") in rows, "no stream-restart: %r" % rows)
        feeds = sorted(r[3] for r in rows if r[1] == "garment")
        check(feeds == [21, 33], "garment events' device seq: %r" % feeds)
        check(said == "lost: 3 garment frame(s) of %s while acquire restarted (device seq 22 "
              "to 24)" % g.device, "recorder's line after file: %r" % said)
        check("3 garment frame(s) lost between two acquire streams (device seq 22 to 24)" in log,
              "recorder log: %r" % log[-600:])
        print("frames lost between two acquire streams: 3, recorded as one gap row by the "
              "recorder, 2 by acquire; garment events numbered 21 and 33")


if __name__ == "__main__":
    main([test_hello_replayed_after_live_frames, test_frames_lost_across_acquire_restart,
          test_record_kill9_soak])
