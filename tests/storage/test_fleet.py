#!/usr/bin/python3
"""Fleet files (docs/storage.md, "Fleet files" and "Compaction"): one
recorder with --layout fleet and one with --layout session take the same
streams of several garments. The fleet file holds every row once, in
arrival order, with its device; compacted, it becomes session files equal,
dataset by dataset and row by row, to the ones the session layout wrote,
that replay to the same garment bytes and open in `ductwatch report`.
kill -9 while writing (20 times, among rows, in a flush, in a rotation):
--recover makes each file whole, it holds at least what the writer logged
as flushed, each frame once, the next recorder's gap row counts what was
lost, and the files compact. kill -9 while compacting (20 times, from
reading to the removal): a new run finishes the work, nothing is written
twice, and the result is what one clean run makes. strace kills at a
chosen system call."""
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

import h5py
import numpy as np
import zmq

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import dwtest  # noqa: E402
import dwtest.wire as ds  # noqa: E402
from dwtest import case, check, prog  # noqa: E402
from dwtest.record import Recorder, replay_argv, swmr_frames  # noqa: E402
from dwtest.report import report  # noqa: E402

N_DEV = 4
SAMPLES = 300       # per garment: 30 s of device time at 10 Hz
TABLES = ["hellos", "device_status", "events", "alerts", "stats"]
FLUSH_S = 1.0       # the recorder flushes its fleet file once a second
LANES = 4           # kill -9 rounds of recorders side by side
KILLED_SAMPLES = 300  # per garment in the file compacted and killed: 3+ rounds of 64 KiB
APPEND_KILLS = 5    # kill -9 of an appending --compact: at spread moments, and as many aside


def publishers(wd, n, verbose=False, lane=""):
    pubs, gs = [], []
    for i in range(n):
        p = ds.Publisher(wd.ep("pub%s%d" % (lane, i)), "bra-fleet%s%d" % (lane, i), wd.ctx)
        if verbose:  # two recorders: each one's subscription reaches us
            p.sock.setsockopt(zmq.XPUB_VERBOSE, 1)
        pubs.append(p)
        gs.append(ds.Garment(p.device, seed=20 + i))
    return pubs, gs


def endpoints(pubs):
    return [p.sock.getsockopt(zmq.LAST_ENDPOINT).decode() for p in pubs]


def fleet_recorder(wd, pubs, gs, args, dir=None):
    """A verbose recorder with args on the publishers' endpoints, once each
    publisher has its subscription; then each garment of gs (the first
    len(gs) publishers) sends its HELLO."""
    rec = Recorder(wd, endpoints(pubs), extra=args + ["-v"], dir=dir)
    for p in pubs:
        p.wait_subscriber()
    for p, g in zip(pubs, gs):
        p.frame(g.hello_frame())
    return rec


def send_all(pubs, gs, samples, start=0):
    """Interleaves the garments' messages: samples, STATUS, user events,
    acquire stats, detect alerts."""
    for k in range(start, start + samples):
        for p, g in zip(pubs, gs):
            p.frame(g.sample_frame())
            if k % 50 == 3:
                p.frame(g.status_frame())
            if k % 70 == 9:
                p.event("ice-pack", "right", None, "user", t_us=g.t)
            if k % 100 == 5:
                p.alert(g.t, message="alert %d of %s" % (k, p.device))
            if k % 60 == 1:
                p.stats(g.t, frames=k)


def send_until_third_file(rec, pubs, gs):
    """Sends 5 samples of each garment at a time until the recorder began
    its third fleet file (two periods closed, whatever the machine's
    speed); returns how many each garment sent."""
    sent = 0
    end = time.monotonic() + 60
    while rec.err.count("recording the fleet into") < 3:
        send_all(pubs, gs, 5, sent)
        sent += 5
        time.sleep(0.05)
        check(time.monotonic() < end, "no third fleet file: %s" % rec.err[-500:])
    return sent


def both_layouts(wd):
    """The same streams into a fleet recorder and a session recorder."""
    pubs, gs = publishers(wd, N_DEV, verbose=True)
    eps = endpoints(pubs)
    fleet = Recorder(wd, eps, extra=["--layout", "fleet", "--name", "t1", "-v"])
    sess = Recorder(wd, eps, extra=["--layout", "session", "-v"], dir=wd.path("sess"))
    for p in pubs:
        p.wait_subscriber()
        p.wait_subscriber()
    for p, g in zip(pubs, gs):
        p.frame(g.hello_frame())
    send_all(pubs, gs, SAMPLES)
    fleet.wait_flushed(N_DEV * SAMPLES)
    pending = set(p.device for p in pubs)
    deadline = time.monotonic() + 60
    while pending:
        for dev, n in re.findall(r"debug: (\S+): flushed, (\d+) frames in the file", sess.err):
            if int(n) >= SAMPLES:
                pending.discard(dev)
        check(time.monotonic() < deadline, "the session recorder did not flush %s" % pending)
        time.sleep(0.05)
    check(fleet.stop() == 0, "fleet recorder: %s" % fleet.err[-800:])
    check(sess.stop() == 0, "session recorder: %s" % sess.err[-800:])
    return pubs, gs, fleet.files()[0], sess


def check_fleet_contract(path, pubs, gs):
    with h5py.File(path, "r") as f:
        check(f.attrs["format"] == b"ductwatch-fleet", "format %r" % f.attrs["format"])
        check(int(f.attrs["zone_columns"]) == 64, "zone_columns %r" % f.attrs["zone_columns"])
        dev = f["devices"][:]
        ids = [d.decode() for d in dev["device_id"]]
        check(sorted(ids) == sorted(p.device for p in pubs), "devices %s" % ids)
        check(list(dev["index"]) == list(range(len(ids))), "indices %s" % dev["index"])
        fr = f["frames"]
        d = fr["device"][:]
        n = fr["seq"].shape[0]
        check(n == N_DEV * SAMPLES, "%d /frames rows, sent %d" % (n, N_DEV * SAMPLES))
        for k in fr:
            check(fr[k].shape[0] == n, "%s: %d rows of %d" % (k, fr[k].shape[0], n))
        # arrival order: each garment's rows in the order it sent them (how
        # the garments interleave is the subscriber's fair queueing)
        for i, p in enumerate(pubs):
            j = ids.index(p.device)
            nz = gs[i].n
            # docs/storage.md's recipe: n_zones at offset 34 of the HELLO
            check(dev[j]["hello"][34] == nz, "%s: n_zones in /devices" % p.device)
            rows = d == j
            sent = [s for s, kind, _, _, _ in p.sent if kind == ds.SAMPLE]
            check(list(fr["seq"][rows]) == sent, "%s: seqs differ" % p.device)
            t = fr["temperature_c"][rows]
            check(np.isnan(t[:, nz:]).all() and not np.isnan(t[:, :nz]).any(),
                  "%s: %d zones, NaN past them" % (p.device, nz))
            lay = f["device_layout"][:]
            check((lay["device"] == j).sum() == nz, "%s: layout rows" % p.device)
            ev = f["events"][:]
            check((ev["device"] == j).sum() == 5, "%s: %d events" % (p.device,
                                                                    (ev["device"] == j).sum()))
        al = f["alerts"][:]
        check(len(al) == N_DEV * 3 and len(set(al["message"])) == N_DEV * 3,
              "%d alerts" % len(al))


def same_session(a, b):
    """Two session files hold the same data, dataset by dataset."""
    with h5py.File(a, "r") as fa, h5py.File(b, "r") as fb:
        for k in ["layout"] + TABLES + ["frames/" + c for c in fa["frames"]]:
            x, y = fa[k][:], fb[k][:]
            if k == "stats":  # the recorders' own rows carry their own clocks
                x, y = x[x["source"] != b"record"], y[y["source"] != b"record"]
            check(x.shape == y.shape, "%s: %s rows vs %s" % (k, x.shape, y.shape))
            if x.dtype.names:
                for n in x.dtype.names:
                    check(np.array_equal(x[n], y[n], equal_nan=x[n].dtype.kind == "f"),
                          "%s.%s differs" % (k, n))
            else:
                check(np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), "%s differs" % k)
        for at in ["format", "format_version", "device_id", "sample_rate_hz", "n_zones",
                   "hello_payload"]:
            check(np.array_equal(fa.attrs[at], fb.attrs[at]), "attribute %s differs" % at)


def compact(wd, *paths, timeout=120):
    r = wd.run(["ductwatch-record", "--compact", *paths], timeout=timeout)
    check(r.returncode == 0, "--compact exit %d: %s" % (r.returncode, r.stderr))
    return [ln[6:] for ln in r.stdout.splitlines() if ln.startswith("file: ")], r.stdout


def session_seqs(d, device):
    """The session files of device in d (sorted) and the frame sequence
    numbers they hold, in file order."""
    mine = sorted(x for x in os.listdir(d) if x.startswith(device + "-"))
    seqs = []
    for x in mine:
        with h5py.File(os.path.join(d, x), "r") as f:
            seqs += list(f["frames/seq"][:])
    return mine, seqs


@case(timeout=180)
def case_contract_and_compaction(wd):
    pubs, gs, path, sess = both_layouts(wd)
    check_fleet_contract(path, pubs, gs)
    os.makedirs(wd.path("rounds"))
    rounds = os.path.join(wd.path("rounds"), os.path.basename(path))
    shutil.copy(path, rounds)
    files, out = compact(wd, path)
    check(not os.path.exists(path), "the compacted fleet file is still there")
    check(len(files) == N_DEV, "%d session files: %s" % (len(files), out))
    theirs = {os.path.basename(x).split("-2")[0]: x for x in sess.files()}
    for f in files:
        dev = os.path.basename(f).split("-2")[0]
        same_session(f, theirs[dev])
        # replay: the garment's bytes, as from the session layout's file
        a = wd.run(replay_argv(f, "--fast", "--out", "stdout"), timeout=60, text=False)
        b = wd.run(replay_argv(theirs[dev], "--fast", "--out", "stdout"), timeout=60, text=False)
        check(a.returncode == 0 and a.stdout and a.stdout == b.stdout,
              "%s: replay differs (%d vs %d bytes)" % (dev, len(a.stdout), len(b.stdout)))
    # rows held in 64 KiB at most: written in several rounds (each session
    # file suspended between them), the same files as in one round
    r = wd.run(["ductwatch-record", "-v", "--compact", "--compact-memory", "64", rounds],
               timeout=120)
    n = len(re.findall(r"round \d+, ", r.stderr))
    check(r.returncode == 0 and n >= 3, "--compact in rounds: exit %d, %d rounds: %s"
          % (r.returncode, n, r.stderr[-800:]))
    got = [ln[6:] for ln in r.stdout.splitlines() if ln.startswith("file: ")]
    check(sorted(map(os.path.basename, got)) == sorted(map(os.path.basename, files)),
          "files in rounds %s vs %s" % (got, files))
    for f in files:
        same_session(f, os.path.join(wd.path("rounds"), os.path.basename(f)))
    # every existing consumer: ductwatch report and info
    html = wd.path("r.html")
    st, _, err = report(files[0], "-o", html)
    check(st == 0 and os.path.getsize(html) > 1000, "report: %s %s" % (st, err))
    r = wd.run([prog("ductwatch"), "info", files[0]], timeout=60)
    check(r.returncode == 0 and "bra-fleet" in r.stdout, "info: %s %s" % (r.stdout, r.stderr))
    # a second run has nothing left to do
    r = wd.run(["ductwatch-record", "--compact", path], timeout=60)
    check(r.returncode != 0, "--compact of a removed file succeeded")
    print("%d garments, %d frames: fleet file == session layout after compaction, "
          "in one round and in %d" % (N_DEV, N_DEV * SAMPLES, n))


@case(timeout=120)
def case_auto_switch(wd):
    """--layout auto --fleet-above 2: two garments get session files; the
    third one's HELLO moves all three to a fleet file. Compacted, each
    garment's session files hold together every frame it sent, once, and
    the compacted ones never replace the session layout's (same second,
    same garment: the next -k name)."""
    pubs, gs = publishers(wd, 3)
    rec = fleet_recorder(wd, pubs, gs[:2], ["--layout", "auto", "--fleet-above", "2",
                                            "--name", "a"])
    send_all(pubs[:2], gs[:2], 20)
    rec.wait_flushed(20)
    pubs[2].frame(gs[2].hello_frame())
    send_all(pubs, gs, 30, 20)
    end = time.monotonic() + 60
    while max(flushed_fleet(rec), default=0) < 2 * 30 + 30:
        check(time.monotonic() < end and rec.p.poll() is None, "no fleet flush: %s"
              % rec.err[-500:])
        time.sleep(0.05)
    check(rec.stop() == 0, rec.err[-800:])
    files = rec.files()
    fleet = [f for f in files if os.path.basename(f).startswith("fleet-")]
    check(len(fleet) == 1 and len(files) == 3, "files: %s" % files)
    check("switching to the fleet layout" in rec.err, "no switch logged")
    compact(wd, fleet[0])
    for p in pubs:
        mine, seqs = session_seqs(rec.dir, p.device)
        sent = [s for s, kind, _, _, _ in p.sent if kind == ds.SAMPLE]
        check(sorted(seqs) == sent, "%s: %d frames in %s, sent %d"
              % (p.device, len(seqs), mine, len(sent)))
        check(len(mine) == (2 if p is not pubs[2] else 1), "%s: files %s" % (p.device, mine))
    print("auto: 2 garments in session files, the third moved all three to %s"
          % os.path.basename(fleet[0]))


@case(timeout=120)
def case_rotation(wd):
    """--fleet-period 2s: the garments go on from one fleet file into the
    next (a /devices row with reason rotation); compacted, each garment's
    session files hold every frame it sent, once."""
    pubs, gs = publishers(wd, 2)
    rec = fleet_recorder(wd, pubs, gs, ["--layout", "fleet", "--fleet-period", "2s",
                                        "--name", "r"])
    sent = send_until_third_file(rec, pubs, gs)
    send_all(pubs, gs, 5, sent)
    # stopped once the files hold what was sent (a SWMR reader's view,
    # flushed at least once a second), not after a guess at how long the
    # last messages take on their way on a loaded machine
    samples = sum(kind == ds.SAMPLE for p in pubs for _, kind, _, _, _ in p.sent)
    end = time.monotonic() + 60
    opened = lambda: re.findall(r"recording the fleet into (\S+)", rec.err)
    while time.monotonic() < end and sum(swmr_frames(f) or 0 for f in opened()) < samples:
        time.sleep(0.2)
    check(rec.stop() == 0, rec.err[-800:])
    total = lambda: sum(int(x) for x in re.findall(r"frames (\d+),", "\n".join(rec.closed())))
    files = rec.files()
    check(len(files) >= 3, "fleet files: %s" % files)
    with h5py.File(files[1], "r") as f:
        check(set(f["devices"][:]["reason"]) == {b"rotation"}, "reasons %s"
              % f["devices"][:]["reason"])
    compact(wd, *files)
    for p in pubs:
        mine, seqs = session_seqs(rec.dir, p.device)
        want = [s for s, kind, _, _, _ in p.sent if kind == ds.SAMPLE]
        # none lost where a file ends and the next begins, none twice
        check(sorted(seqs) == want,
              "%s: %d frames in %d files, sent %d" % (p.device, len(seqs), len(mine), len(want)))
    print("%d fleet files of 2 s, %d frames, compacted into each garment's session files"
          % (len(files), total()))


@case(timeout=120)
def case_compact_closed(wd):
    """--compact-closed --fleet-period 2s: each fleet file the recorder
    closes is compacted by its idle-priority child while it records on:
    the closed fleet files go, and each garment's session files hold
    every frame it sent, once."""
    pubs, gs = publishers(wd, 2)
    eps = [p.sock.getsockopt(zmq.LAST_ENDPOINT).decode() for p in pubs]
    rec = Recorder(wd, eps, extra=["--layout", "fleet", "--fleet-period", "2s", "--name", "cc",
                                   "--compact-closed", "-v"])
    for p in pubs:
        p.wait_subscriber()
    for p, g in zip(pubs, gs):
        p.frame(g.hello_frame())
    sent = send_until_third_file(rec, pubs, gs)
    closed = rec.files()[:2]
    end = time.monotonic() + 60
    # compacted while the recorder goes on: the closed fleet files go
    while any(os.path.exists(f) for f in closed) or rec.err.count(") done") < 2:
        send_all(pubs, gs, 5, sent)
        sent += 5
        time.sleep(0.05)
        check(time.monotonic() < end, "closed fleet files not compacted: %s" % rec.err[-800:])
    check("SCHED_IDLE" in rec.err and not re.search(r"compaction \(process \d+\) failed", rec.err),
          rec.err[-800:])
    check(rec.stop() == 0, rec.err[-800:])
    deadline = time.monotonic() + 60  # the last file's compaction outlives the recorder
    while any(x.startswith("fleet-") for x in os.listdir(rec.dir)):
        check(time.monotonic() < deadline, "fleet files left: %s" % os.listdir(rec.dir))
        time.sleep(0.1)
    for p in pubs:
        mine = sorted(x for x in os.listdir(rec.dir) if x.startswith(p.device + "-"))
        seqs = []
        for x in mine:
            with h5py.File(os.path.join(rec.dir, x), "r") as f:
                seqs += list(f["frames/seq"][:])
        want = [s for s, kind, _, _, _ in p.sent if kind == ds.SAMPLE]
        check(sorted(seqs) == want[:len(seqs)] and len(seqs) >= len(want) - 5,
              "%s: %d frames in %d files, sent %d" % (p.device, len(seqs), len(mine), len(want)))
        check(len(mine) >= 3, "%s: session files %s" % (p.device, mine))
    print("%d fleet files compacted by the recorder itself, nothing left" % len(rec.files()))


def flushed_fleet(rec):
    return [int(x) for x in re.findall(r"fleet: flushed, (\d+) frames", rec.err)]


def drop_subscriptions(pubs):
    """Before the next recorder starts: drops the (un)subscriptions left in
    the verbose publishers' queues (after it has started, they could hold
    its own subscription, and dropping that waits for one that never
    comes: "no new subscriber", seen at load 4)."""
    for p in pubs:
        while p.sock.poll(0):
            p.sock.recv()


def fresh_subscriber(pubs, gs, hellos):
    """After a recorder died and drop_subscriptions: waits for the next
    recorder's subscription (a late unsubscription of the dead one is
    passed over). Then each stream's HELLO: sent once (hellos empty), or
    replayed with its first seq and time as acquire replays it to a new
    subscriber when its backlog no longer holds what came after
    (docs/messages.md 8), so that the new recorder counts what it never
    got in a gap row."""
    for p in pubs:
        while True:
            check(p.sock.poll(10000), "no new subscriber")
            if p.sock.recv()[:1] == b"\x01":
                break
    for p, g in zip(pubs, gs):
        if p.device not in hellos:
            f = g.hello_frame()
            p.frame(f)
            hellos[p.device] = (f, p.seq, time.time_ns())
        (ftype, dseq, t_us, payload), seq, t_ns = hellos[p.device]
        p._send("frame", ds.frame_body(ftype, dseq, seq, p.stream, t_us, t_ns, payload))


def strace_kill(pid, syscall, when):
    """kill -9 of process pid (all its threads) at its when-th call of
    syscall from now on, by strace -p."""
    argv = ["strace", "-qq", "-f", "-o", "/dev/null", "-p", str(pid), "-e", "trace=" + syscall,
            "-e", "inject=%s:signal=SIGKILL:when=%d" % (syscall, when)]
    st = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    end = time.monotonic() + 10
    while not traced(pid):  # attached to every thread
        check(st.poll() is None and time.monotonic() < end, "strace -p %d: %s"
              % (pid, st.stderr.read().decode() if st.poll() is not None else "no attach"))
        time.sleep(0.01)
    return st


def traced(pid):
    """Whether every thread of pid has a tracer (or pid is dead)."""
    try:
        for t in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/status" % (pid, t)) as f:
                st = f.read()
            if "State:\tZ" in st:
                return True  # killed already (the first call came at once)
            if "TracerPid:\t0\n" in st:
                return False
    except OSError:
        return True  # gone: killed already
    return True


# The moments of the 20 kills while writing: (phase, how). rows: kill -9
# from the test at a fraction of the flush interval after a logged flush
# (the rows in memory only); flush: at the k-th pwrite64 of a flush (the
# chunks and HDF5 metadata of one flush half on disk) or at its fsync;
# rotation (--fleet-period 1s; the calls counted from strace's attach
# after a flush, none of them made between two flushes): at the close of
# the ended file, before the new one is created (its first openat), while
# HDF5 builds it (its first truncate, its first and 30th read: the hidden
# .NAME.creating is left), or at the second fsync (the ended file's, or
# the new one's first flush).
WRITE_KILLS = ([("rows", f) for f in (0.05, 0.2, 0.35, 0.5, 0.65, 0.8, 0.95)]
               + [("flush", ("pwrite64", k)) for k in (1, 4, 12, 25, 40)]
               + [("flush", ("fsync", 1)), ("flush", ("fsync", 2))]
               + [("rotation", (c, k)) for c, k in (("close", 1), ("openat", 1),
                                                    ("ftruncate", 1), ("pread64", 1),
                                                    ("pread64", 30), ("fsync", 2))])


def kill_round(wd, pubs, gs, hellos, round_, sent):
    """One recorder killed at WRITE_KILLS[round_]; returns (it, garment
    samples sent)."""
    phase, how = WRITE_KILLS[round_]
    args = ["--layout", "fleet", "--name", "k%d" % round_, "--fsync", "1s"]
    if phase == "rotation":
        args += ["--fleet-period", "1s"]
    drop_subscriptions(pubs)
    rec = Recorder(wd, endpoints(pubs), extra=args + ["-v"], dir=wd.path("k%d" % round_))
    fresh_subscriber(pubs, gs, hellos)
    rec.wait_file()
    end = time.monotonic() + 30
    while not [n for n in flushed_fleet(rec) if n]:  # a flush with rows: the file is live
        send_all(pubs, gs, 2, sent)
        sent += 2
        time.sleep(0.02)
        check(time.monotonic() < end and rec.p.poll() is None, "no flush: %s" % rec.err[-500:])
    st = None
    if phase == "rows":  # from the moment of that flush, as the log said it
        t = time.monotonic() + how * FLUSH_S
        while time.monotonic() < t:
            send_all(pubs, gs, 1, sent)
            sent += 1
            time.sleep(0.01)
        os.kill(rec.pid, signal.SIGKILL)
    else:
        st = strace_kill(rec.pid, *how)
    while rec.p.poll() is None:
        send_all(pubs, gs, 1, sent)
        sent += 1
        time.sleep(0.01)
        check(time.monotonic() < end, "round %d (%s %s): not killed" % (round_, phase, how))
    if st:
        st.wait(10)
    check(rec.p.returncode == -signal.SIGKILL, "round %d: exit %s" % (round_, rec.p.returncode))
    rec.kill()
    return rec, sent


def logged_flushes(err):
    """Each fleet file's last logged flush (frames), from a -v log."""
    out, cur = {}, None
    for ln in err.splitlines():
        m = re.search(r"recording the fleet into (\S+)", ln)
        if m:
            cur = m.group(1)
            out[cur] = 0
        m = re.search(r"fleet: flushed, (\d+) frames", ln)
        if m and cur:
            out[cur] = int(m.group(1))
    return out


def check_killed_files(wd, rec, pubs, round_, first):
    """--recover, then every fleet file of a killed recorder opens in h5py,
    holds at least what was logged as flushed to it, each garment's frames
    of this round once, in order, with no hole: only the tail that was not
    flushed yet is lost. Returns (the files, frames in them, logged)."""
    logged = logged_flushes(rec.err)
    rows = {p.device: [] for p in pubs}
    # every file in its directory: a fleet file is named only once whole;
    # one killed while it was built stays hidden (.NAME.creating), with
    # no row and never announced
    names = os.listdir(rec.dir)
    hidden = [x for x in names if x.startswith(".")]
    paths = sorted(os.path.join(rec.dir, x) for x in names if not x.startswith("."))
    check(set(rec.files()) == set(paths), "round %d: files %s, announced %s"
          % (round_, paths, rec.files()))
    for x in hidden:
        final = os.path.join(rec.dir, x[1:-len(".creating")])
        check(x.startswith(".fleet-") and x.endswith(".h5.creating") and final not in logged,
              "round %d: %s left" % (round_, x))
        print("round %d: killed while building %s" % (round_, x))
    for path in paths:
        r = wd.run(["ductwatch-record", "--recover", path], timeout=30)
        check(r.returncode == 0 and "fleet file" in r.stdout + r.stderr,
              "round %d: --recover %s: %s %s" % (round_, path, r.stdout, r.stderr))
        with h5py.File(path, "r") as f:
            ids = [d.decode() for d in f["devices"][:]["device_id"]]
            n = f["frames/seq"].shape[0]
            check(n >= logged.get(path, 0), "round %d: %s: %d frames, %d logged as flushed"
                  % (round_, os.path.basename(path), n, logged.get(path, 0)))
            d, seq = f["frames/device"][:], f["frames/seq"][:]
            for j, dev in enumerate(ids):
                rows[dev] += list(seq[d == j])
    for p in pubs:
        want = [s for s, kind, _, _, _ in p.sent if kind == ds.SAMPLE and s > first[p.device]]
        got = rows[p.device]
        check(got == want[:len(got)], "round %d: %s: %d frames not the first %d sent (twice, "
              "out of order or a hole)" % (round_, p.device, len(got), len(want)))
    return paths, sum(len(x) for x in rows.values()), sum(logged.values())


def last_recorder(wd, pubs, gs, hellos, lane, sent):
    """After a lane's kills: a recorder stopped cleanly once it flushed
    rows, whose gap rows count what the last killed one lost."""
    drop_subscriptions(pubs)
    rec = Recorder(wd, endpoints(pubs), extra=["--layout", "fleet", "--name", "end%d" % lane,
                                               "-v"], dir=wd.path("end%d" % lane))
    fresh_subscriber(pubs, gs, hellos)
    end = time.monotonic() + 30
    while not [n for n in flushed_fleet(rec) if n]:
        send_all(pubs, gs, 2, sent)
        sent += 2
        time.sleep(0.02)
        check(time.monotonic() < end and rec.p.poll() is None, "no flush: %s" % rec.err[-500:])
    check(rec.stop() == 0, rec.err[-800:])
    return rec.files()


def file_rows(path):
    """Each garment's /frames seqs in a fleet file, and the stream seqs its
    gap rows of the acquire stream (written by the recorder) count."""
    rows, counted = {}, {}
    with h5py.File(path, "r") as f:
        ids = [d.decode() for d in f["devices"][:]["device_id"]]
        d, seq = f["frames/device"][:], f["frames/seq"][:]
        ev = f["events"][:]
        for j, dev in enumerate(ids):
            rows.setdefault(dev, set()).update(int(x) for x in seq[d == j])
            for e in ev[(ev["device"] == j) & (ev["kind"] == b"gap")]:
                if e["source"] == b"record" and e["text"] == b"acquire":
                    counted.setdefault(dev, set()).update(
                        range(int(e["seq"]) - int(e["missing"]), int(e["seq"])))
    return rows, counted


def kill_lane(wd, lane, rounds, out):
    """The rounds of WRITE_KILLS numbered in rounds, one after the other,
    with N_DEV garments of their own, then a last recorder: every sample
    sent is in a fleet file or counted by a gap row of the recorder after
    the kill. Adds (fleet files, each garment's frames in them) to out."""
    pubs, gs = publishers(wd, N_DEV, verbose=True, lane="l%d-" % lane)
    sent, files, hellos = 0, [], {}
    for round_ in rounds:
        first = {p.device: p.seq for p in pubs}
        rec, sent = kill_round(wd, pubs, gs, hellos, round_, sent)
        mine, n, logged = check_killed_files(wd, rec, pubs, round_, first)
        files += mine
        print("round %d (%s %s): %d file(s), %d frames logged flushed, %d in the files"
              % (round_, WRITE_KILLS[round_][0], WRITE_KILLS[round_][1], len(mine), logged, n))
    files += last_recorder(wd, pubs, gs, hellos, lane, sent)
    kept, counted = {p.device: set() for p in pubs}, {p.device: set() for p in pubs}
    for path in files:
        rows, gaps = file_rows(path)
        for dev in rows:
            check(not kept[dev] & rows[dev], "%s: a frame in two fleet files" % dev)
            kept[dev] |= rows[dev]
            counted[dev] |= gaps.get(dev, set())
    for p in pubs:
        lost = [s for s, kind, _, _, _ in p.sent if kind == ds.SAMPLE and s not in kept[p.device]]
        check(lost and set(lost) <= counted[p.device], "%s: %d frames lost, %d of them not "
              "counted by a gap row" % (p.device, len(lost), len(set(lost) - counted[p.device])))
    out.append((files, kept))


@case(timeout=240)
def case_kill_writing(wd):
    """kill -9 of a fleet recorder 20 times (WRITE_KILLS: among its rows,
    in a flush, in a rotation), restarted on the same streams each time:
    every fleet file recovers and opens in h5py, holds every frame logged
    as flushed to it and each of the round's frames once, in order, with
    no hole (only the unflushed tail is lost), and what is lost is counted
    by the next recorder's gap row; then one --compact of them
    all gives each garment's session files with every frame of the fleet
    files once, and nothing is left to do after it. The rounds run in
    LANES recorders side by side (each waits mostly for the flush cadence)."""
    done, errors = [], []

    def lane(k):
        try:
            kill_lane(wd, k, range(k, len(WRITE_KILLS), LANES), done)
        except BaseException as e:  # noqa: B902 - reported by the case
            errors.append(e)
    threads = [threading.Thread(target=lane, args=(k,)) for k in range(LANES)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    files = [x for fs, _ in done for x in fs]
    kept = {dev: seqs for _, k in done for dev, seqs in k.items()}
    out, _ = compact(wd, *files)
    check(not any(os.path.exists(x) for x in files), "fleet files left after --compact")
    for dev, want in kept.items():
        seqs = []
        for x in out:
            if os.path.basename(x).startswith(dev + "-"):
                with h5py.File(x, "r") as f:
                    seqs += [int(s) for s in f["frames/seq"][:]]
        check(len(seqs) == len(set(seqs)) and set(seqs) == want,
              "%s: %d frames in its session files, %d distinct, %d in the fleet files"
              % (dev, len(seqs), len(set(seqs)), len(want)))
    r = wd.run(["ductwatch-record", "--compact", *files], timeout=60)
    check(r.returncode != 0 and not any(os.path.exists(x) for x in files),
          "a second --compact: exit %d" % r.returncode)
    print("%d kills, %d fleet files, compacted into %d session files"
          % (len(WRITE_KILLS), len(files), len(out)))


def fleet_file(wd, samples):
    """A closed fleet file of N_DEV garments."""
    pubs, gs = publishers(wd, N_DEV)
    rec = fleet_recorder(wd, pubs, gs, ["--layout", "fleet", "--name", "c"],
                         dir=wd.path("orig"))
    send_all(pubs, gs, samples)
    end = time.monotonic() + 60
    while max(flushed_fleet(rec), default=0) < N_DEV * samples:
        check(time.monotonic() < end, "no flush of everything logged")
        time.sleep(0.05)
    check(rec.stop() == 0, rec.err)
    return rec.files()[0]


def strace_compact(path, syscall, when, count=None):
    """ductwatch-record --compact --compact-memory 64 PATH under strace:
    kill -9 at its when-th call of syscall, or, with count, no kill and
    the calls counted into that file. Its exit status."""
    argv = ["strace", "-f", "-qq", "-e", "trace=" + syscall]
    if count:
        argv += ["-c", "-o", count]
    else:
        argv += ["-o", "/dev/null", "-e", "inject=%s:signal=SIGKILL:when=%d" % (syscall, when)]
    argv += [prog("ductwatch-record"), "--compact", "--compact-memory", "64", path]
    # LeakSanitizer cannot work under ptrace: under ASan the traced run
    # that ends normally would fail for that alone
    asan = os.environ.get("ASAN_OPTIONS")
    env = dict(os.environ, ASAN_OPTIONS=(asan + ":" if asan else "") + "detect_leaks=0")
    return subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
                          timeout=120).returncode


def calls(stats, syscall):
    """How many calls of syscall strace -c counted."""
    with open(stats) as f:
        for ln in f:
            w = ln.split()
            if w and w[-1] == syscall:
                return int(w[3])
    return 0


# The moments of the 20 kills of --compact, in order: each run goes on
# from what the killed ones left. Reading (the k-th pread64, as a
# fraction of a whole run's: the fleet file, and the session files a
# later round resumes), writing the session files in rounds (the k-th
# pwrite64), the one syncfs before the renames,
# the renames (each run renames one more before it dies), the fsync of
# the directory after them (before the fleet file is marked), the fsync
# of the fleet file marked compacted, and its removal.
COMPACT_KILLS = ([("reading", "pread64", f) for f in (0.0, 0.1, 0.3, 0.5, 0.7, 0.9)]
                 + [("writing", "pwrite64", f) for f in (0.0, 0.15, 0.3, 0.5, 0.7, 0.85, 0.95)]
                 + [("syncing", "syncfs", 1)] + [("renaming", "renameat", 2)] * 3
                 + [("renamed", "fsync", 1), ("marked", "fsync", 2), ("removing", "unlink", 1)])


@case(timeout=180)
def case_kill_compacting(wd):
    """kill -9 of --compact 20 times (COMPACT_KILLS: reading, writing,
    syncing, renaming, marking, removing), each run going on from what the
    killed ones left, then a run to the end: after every kill the fleet
    file opens in h5py and every session file under its final name equals
    that of one clean run, with no frame twice; at the end the same files
    as the clean run, no temporary file left, and the fleet file gone."""
    orig = fleet_file(wd, KILLED_SAMPLES)
    clean_dir, kill_dir = wd.path("clean"), wd.path("killed")
    os.makedirs(clean_dir)
    os.makedirs(kill_dir)
    clean = os.path.join(clean_dir, os.path.basename(orig))
    killed = os.path.join(kill_dir, os.path.basename(orig))
    shutil.copy(orig, clean)
    shutil.move(orig, killed)
    stats = wd.path("calls")
    t0 = time.monotonic()
    rc = strace_compact(clean, "pread64,pwrite64", 0, count=stats)
    took = time.monotonic() - t0
    check(rc == 0, "clean --compact: exit %d" % rc)
    n = {c: calls(stats, c) for c in ("pread64", "pwrite64")}
    want = sorted(x for x in os.listdir(clean_dir) if x.endswith(".h5"))
    check(len(want) == N_DEV and not os.path.exists(clean), "clean run: %s" % want)
    for x in want:  # so a killed run's file equal to it has no frame twice either
        with h5py.File(os.path.join(clean_dir, x), "r") as f:
            s = f["frames/seq"][:]
            check(len(s) == len(set(s)) == KILLED_SAMPLES, "clean %s: %d frames" % (x, len(s)))
    for k, (phase, syscall, when) in enumerate(COMPACT_KILLS):
        if isinstance(when, float):
            when = 1 + int(when * (n[syscall] - 1))
        rc = strace_compact(killed, syscall, when)
        check(rc == -signal.SIGKILL, "kill %d (%s, %s #%d): exit %d, not killed"
              % (k, phase, syscall, when, rc))
        check(os.path.exists(killed), "kill %d (%s): the fleet file is gone" % (k, phase))
        with h5py.File(killed, "r") as f:  # readable as it is, for --compact again
            check(f["frames/seq"].shape[0] == N_DEV * KILLED_SAMPLES, "kill %d: fleet rows" % k)
        for x in os.listdir(kill_dir):
            if x in want:  # under its final name: complete
                same_session(os.path.join(clean_dir, x), os.path.join(kill_dir, x))
    got, out = compact(wd, killed)
    check(not os.path.exists(killed), "the fleet file is left")
    left = sorted(x for x in os.listdir(kill_dir) if x.startswith("."))
    check(not left, "temporary files left: %s" % left)
    check(sorted(os.path.basename(x) for x in got) == want, "files %s vs %s" % (got, want))
    for x in want:
        b = os.path.join(kill_dir, x)
        same_session(os.path.join(clean_dir, x), b)
        with h5py.File(b, "r") as f:
            s = f["frames/seq"][:]
            check(len(s) == len(set(s)), "%s: a frame written twice" % b)
    r = wd.run(["ductwatch-record", "--compact", killed], timeout=60)
    check(r.returncode != 0, "--compact of the removed fleet file succeeded")
    print("clean --compact %.2f s (%d reads, %d writes); %d runs killed, the last finished it"
          % (took, n["pread64"], n["pwrite64"], len(COMPACT_KILLS)))


def drain(pubs):
    """The subscription messages a stopped recorder left in the publishers'
    sockets, so that the next wait_subscriber() waits for the next one."""
    for p in pubs:
        while p.sock.poll(300):
            p.sock.recv()


def keep_bodies(pubs):
    """Each publisher keeps the bodies it sends (an acquire's backlog)."""
    for p in pubs:
        p.bodies, p.send_now = [], p._send

        def send(kind, body, p=p):
            p.bodies.append((kind, body))
            p.send_now(kind, body)
        p._send = send


def one_period(wd, samples_a, samples_b, lost=7, backlog=0, dir=None, extra=()):
    """Two fleet files of one fleet period (a recorder stopped and started
    again within it, 1000 h: no test crosses its end), the same garments in
    both: recorder A gets each garment's HELLO and samples_a rounds of
    messages; `lost` rounds go out while no recorder listens; recorder B
    gets the HELLO again and samples_b rounds. With backlog, B gets instead
    what acquire replays to a new subscriber: the first HELLO (pinned) and
    the last `backlog` messages again, as they were sent. Returns the
    publishers, the two fleet files and, per garment, the stream seq of its
    last message before the hole and of its first message after it."""
    pubs, gs = publishers(wd, 2)
    keep_bodies(pubs)
    args = ["--layout", "fleet", "--fleet-period", "1000h", "--name", "sp"] + list(extra)
    files, hole = [], {}
    for part, n in enumerate((samples_a, samples_b)):
        if part:
            drain(pubs)
            send_all(pubs, gs, lost, samples_a)
            for p in pubs:
                hole[p.device] = (hole[p.device], p.seq + 1)
        if part and backlog:
            rec = Recorder(wd, endpoints(pubs), extra=args + ["-v"], dir=dir)
            for p in pubs:
                p.wait_subscriber()
                for kind, body in p.bodies[:1] + p.bodies[-backlog:]:
                    p.send_now(kind, body)
        else:
            rec = fleet_recorder(wd, pubs, gs, args, dir=dir)
        send_all(pubs, gs, n, samples_a + lost if part else 0)
        end = time.monotonic() + 60
        while max(flushed_fleet(rec), default=0) < 2 * n:
            check(time.monotonic() < end, "no flush of %d frames: %s" % (2 * n, rec.err[-500:]))
            time.sleep(0.05)
        check(rec.stop() == 0, rec.err[-800:])
        files += rec.files()
        for p in pubs:
            hole.setdefault(p.device, p.seq)
    check(len(files) == 2, "fleet files %s" % files)
    return pubs, files, hole


def recorded_samples(p, hole):
    """The SAMPLE seqs a recorder got of p: all but those sent in the hole."""
    return [s for s, kind, _, _, _ in p.sent if kind == ds.SAMPLE and not hole[0] < s < hole[1]]


def check_appended(path, p, hole, hellos=2):
    """One session file holds both fleet files' rows of p once, in order,
    and one gap row for the messages between them (none without)."""
    with h5py.File(path, "r") as f:
        seqs = list(f["frames/seq"][:])
        want = recorded_samples(p, hole)
        check(seqs == want, "%s: %d frames, want %d (in order, once)" % (path, len(seqs), len(want)))
        ev = f["events"][:]
        gaps = ev[(ev["kind"] == b"gap") & (ev["source"] == b"record")]
        lost = hole[1] - hole[0] - 1
        check((len(gaps) == 1 and int(gaps[0]["missing"]) == lost
               and int(gaps[0]["seq"]) == hole[1]) if lost else not len(gaps),
              "%s: gap rows %s, want one of %d before seq %d"
              % (path, gaps[["seq", "missing"]] if len(gaps) else [], hole[1] - hole[0] - 1,
                 hole[1]))
        check(len(f["hellos"]) == hellos, "%s: %d hellos" % (path, len(f["hellos"])))
        # order numbers: every message once, 0..M-1 (section 4)
        orders = np.concatenate([f[t][:]["order"] for t in TABLES])
        m = len(orders) + len(seqs)
        check(len(set(orders)) == len(orders) and orders.max() < m, "%s: order numbers" % path)
        names = f.attrs["compacted_fleet_files"].decode().split("\n")
        check(len(names) == 2, "%s: compacted_fleet_files %r" % (path, names))


def same_frames(path, parts):
    """The /frames of path are those of the parts one after the other: the
    garment's integers (value / lsb, rounded) of the scaled columns, every
    other column bit for bit."""
    with h5py.File(path, "r") as f:
        fs = [h5py.File(x, "r") for x in parts]
        for k in f["frames"]:
            col = f["frames/" + k]
            got, want = col[:], np.concatenate([g["frames/" + k][:] for g in fs])
            if "lsb" in col.attrs:
                got = np.round(got / col.attrs["lsb"])
                want = np.round(want / col.attrs["lsb"])
            check(np.array_equal(got, want), "%s: frames/%s is not the parts' one after the "
                  "other" % (path, k))
        for g in fs:
            g.close()


def session_files(d):
    return sorted(x for x in os.listdir(d) if x.startswith("bra-"))


def digest(paths):
    import hashlib
    return [hashlib.sha256(open(x, "rb").read()).hexdigest() for x in paths]


@case(timeout=180)
def case_same_period_appends(wd):
    """Two fleet files of one period (a recorder restarted within it):
    compacted, one session file per garment holds every row of both, once
    and in order, the messages lost between them as one gap row; replay and
    report take it; compacting the fleet files again appends nothing."""
    pubs, fleet, hole = one_period(wd, 60, 80)
    keep = wd.path("keep")
    os.makedirs(keep)
    for f in fleet:
        shutil.copy(f, keep)
    # each fleet file alone in a directory of its own: the two parts apart
    parts = []
    for k, f in enumerate(fleet):
        os.makedirs(wd.path("part%d" % k))
        shutil.copy(f, wd.path("part%d" % k))
        parts.append(compact(wd, os.path.join(wd.path("part%d" % k), os.path.basename(f)))[0])
    got, out = compact(wd, *fleet)
    check("(2 appended to)" in out, "compaction output: %s" % out)
    d = os.path.dirname(fleet[0])
    mine = session_files(d)
    check(len(mine) == 2, "session files %s" % mine)
    for p in pubs:
        path = os.path.join(d, [x for x in mine if x.startswith(p.device + "-")][0])
        check_appended(path, p, hole[p.device])
        same_frames(path, [[x for x in part if os.path.basename(x).startswith(p.device + "-")][0]
                           for part in parts])
        r = wd.run(replay_argv(path, "--fast", "--out", "stdout"), timeout=60, text=False)
        n = len(recorded_samples(p, hole[p.device]))
        check(r.returncode == 0 and len(r.stdout) > n * 60, "replay: exit %d, %d bytes"
              % (r.returncode, len(r.stdout)))
        html = wd.path("r-%s.html" % p.device)
        st, _, err = report(path, "-o", html)
        check(st == 0 and os.path.getsize(html) > 1000, "report: %s %s" % (st, err))
    # the same fleet files again (say, restored from a backup): nothing twice
    before = digest([os.path.join(d, x) for x in mine])
    for f in fleet:
        shutil.copy(os.path.join(keep, os.path.basename(f)), f)
    compact(wd, *fleet)
    check(session_files(d) == mine, "files after a second run %s" % session_files(d))
    check(digest([os.path.join(d, x) for x in mine]) == before,
          "a second compaction changed the session files")
    check(not any(os.path.exists(f) for f in fleet), "fleet files left")
    print("2 fleet files of one period -> %d session files; %s"
          % (len(mine), [ln for ln in out.splitlines() if ln.startswith("compacted:")][-1]))


@case(timeout=180)
def case_same_period_backlog(wd):
    """The second recorder started within acquire's backlog: it got the
    pinned HELLO and the last messages again, which the first one had
    recorded. Appended, the session file holds them once (the HELLO too),
    and no gap row: the second recorder's own, counted from seq 1, goes."""
    pubs, fleet, hole = one_period(wd, 60, 40, lost=0, backlog=25)
    _, out = compact(wd, *fleet)
    last = [ln for ln in out.splitlines() if ln.startswith("compacted:")][-1]
    check("(2 appended to)" in last and "duplicates 52," in last and "missing between 0" in last,
          "compaction output: %s" % out)
    d = os.path.dirname(fleet[0])
    mine = session_files(d)
    check(len(mine) == 2, "session files %s" % mine)
    for p in pubs:
        path = os.path.join(d, [x for x in mine if x.startswith(p.device + "-")][0])
        check_appended(path, p, hole[p.device], hellos=1)
        with h5py.File(path, "r") as f:
            al = f["alerts"][:]
            check(len(al) == len(set(al["seq"])), "%s: an alert twice" % path)
    print("backlog of 25 messages again in the second fleet file: %s" % last)


@case(timeout=180)
def case_same_period_compact_closed(wd):
    """--compact-closed: the recorder compacts each fleet file as it
    closes; restarted within the period, its second file's rows go onto
    the same session files."""
    pubs, fleet, hole = one_period(wd, 40, 50, extra=["--compact-closed"])
    d = os.path.dirname(fleet[0])
    end = time.monotonic() + 60
    while any(x.startswith("fleet-") for x in os.listdir(d)):
        check(time.monotonic() < end, "fleet files left: %s" % os.listdir(d))
        time.sleep(0.1)
    mine = session_files(d)
    check(len(mine) == 2, "session files %s" % mine)
    for p in pubs:
        check_appended(os.path.join(d, [x for x in mine if x.startswith(p.device + "-")][0]), p,
                       hole[p.device])
    print("--compact-closed, restarted within the period: %s" % mine)


@case(timeout=240)
def case_kill_appending(wd):
    """kill -9 of --compact while it appends the second fleet file, KILLS
    times at spread moments: every session file reads after each kill,
    holding either the first part alone or both whole, and a last run
    completes it as one clean run does."""
    pubs, fleet, hole = one_period(wd, 50, 2500)
    d = os.path.dirname(fleet[0])
    compact(wd, fleet[0])
    first = {x: len(h5py.File(os.path.join(d, x), "r")["frames/seq"]) for x in session_files(d)}
    clean, parta, partb = wd.path("clean"), wd.path("parta"), wd.path("partb")
    for x in (clean, parta, partb):
        os.makedirs(x)
    for x in list(first) + [os.path.basename(fleet[1])]:
        shutil.copy(os.path.join(d, x), clean)
        shutil.copy(os.path.join(d, x), parta if x in first else partb)
    t0 = time.monotonic()
    compact(wd, os.path.join(partb, os.path.basename(fleet[1])))
    alone = time.monotonic() - t0
    t0 = time.monotonic()
    compact(wd, os.path.join(clean, os.path.basename(fleet[1])))
    took = time.monotonic() - t0
    full = {x: len(h5py.File(os.path.join(clean, x), "r")["frames/seq"]) for x in first}
    kills = aside = 0
    # APPEND_KILLS once the copy is aside (--compact-memory 64: in rounds,
    # the copy aside from the first to the rename), 0, 20, 40... ms after it
    # appeared; then APPEND_KILLS at spread moments of a run. In that order:
    # a run that ends before its kill (the spread moments come from one
    # clean run's time, and the machine's load moves) ends the kills
    for k in list(range(APPEND_KILLS, 2 * APPEND_KILLS)) + list(range(APPEND_KILLS)):
        p = subprocess.Popen([prog("ductwatch-record"), "--compact", "--compact-memory", "64",
                              fleet[1]], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if k < APPEND_KILLS:
            time.sleep(took * (k + 0.5) / (APPEND_KILLS + 1))
        else:
            while p.poll() is None and not any(x.endswith(".compacting") for x in os.listdir(d)):
                time.sleep(0.001)
            time.sleep(0.02 * (k - APPEND_KILLS))
        aside += any(x.endswith(".compacting") for x in os.listdir(d))
        p.send_signal(signal.SIGKILL)
        p.wait()
        kills += p.returncode == -signal.SIGKILL
        for x in first:
            with h5py.File(os.path.join(d, x), "r") as f:
                n = len(f["frames/seq"])
            check(n in (first[x], full[x]), "after kill %d: %s holds %d frames, not %d or %d"
                  % (k, x, n, first[x], full[x]))
        if not os.path.exists(fleet[1]):
            break
    check(kills >= 2 and aside >= 2, "only %d of the compactions were killed mid-way, %d while "
          "appending (took %.2f s)" % (kills, aside, took))
    if os.path.exists(fleet[1]):
        compact(wd, fleet[1])
    check(not [x for x in os.listdir(d) if x.startswith(".")], "temporary files left")
    check(session_files(d) == sorted(first), "files %s" % session_files(d))
    for p in pubs:
        x = [x for x in first if x.startswith(p.device + "-")][0]
        same_session(os.path.join(d, x), os.path.join(clean, x))
        check_appended(os.path.join(d, x), p, hole[p.device])
        same_frames(os.path.join(d, x), [os.path.join(parta, x)] +
                    [os.path.join(partb, y) for y in os.listdir(partb) if y.startswith(p.device)])
    print("appending 2 x 2500 frames to 2 x 50 took %.2f s, into new files %.2f s (load %s); "
          "%d runs killed mid-way (%d with a copy aside), each file whole after each"
          % (took, alone, open("/proc/loadavg").read().split()[0], kills, aside))


if __name__ == "__main__":
    dwtest.main(fixture=dwtest.Run)
