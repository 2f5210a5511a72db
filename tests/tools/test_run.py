"""ductwatch run end to end with the real stage programs: a short simulated
session exits 0 with a session file h5py reads and the summary; killing a
stage with SIGKILL mid-run is reported, the stage restarted, and the run
still completes with a session file."""
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

from toolslib import DUCTWATCH, Lines, check, main, private_env

SCENARIO = os.environ.get("DW_RUN_SCENARIO", "")
CHECK_H5 = not os.environ.get("DW_TEST_NO_H5")


def scenario_args():
    return ["--scenario", SCENARIO] if SCENARIO else []


def report_args():
    """The stand-in recorder writes text files, which have no report."""
    return [] if CHECK_H5 else ["--no-report"]


def children(pid):
    """{program name: pid} of pid's direct children."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                stat = f.read()
            ppid = int(stat[stat.rindex(")") + 2:].split()[1])
            if ppid != pid:
                continue
            with open("/proc/%s/cmdline" % d, "rb") as f:
                argv0 = f.read().split(b"\0")[0].decode()
            out[os.path.basename(argv0)] = int(d)
        except (OSError, ValueError):
            continue
    return out


def session_files(stdout):
    files = re.findall(r"^session file: (\S+) \((\d+) bytes\)$", stdout, re.M)
    check(files, "no session file in the summary:\n" + stdout)
    return [f for f, _ in files]


def check_h5(path, want_gap=False):
    if not CHECK_H5:
        if want_gap:  # the stand-in recorder's text file
            with open(path) as f:
                text = f.read()
            check(" gap" in text, "no gap event recorded in %s" % path)
        return
    import h5py
    with h5py.File(path, "r") as f:
        n = f["frames/seq"].shape[0]
        check(n > 0, "%s: no frames" % path)
        check(f["frames/temperature_c"].shape[0] == n, "frames tables disagree")
        if want_gap and "events" in f:
            kinds = [k.decode() if isinstance(k, bytes) else str(k) for k in f["events"]["kind"]]
            check("gap" in kinds or "link-down" in kinds, "no gap recorded: %r" % sorted(set(kinds)))


def test_end_to_end():
    env, d = private_env()
    sessions = tempfile.mkdtemp(prefix="dwrun-")
    try:
        r = subprocess.run([DUCTWATCH, "run"] + scenario_args() + report_args() +
                           ["--duration", "1h", "--fast", "--dir", sessions],
                           env=env, capture_output=True, text=True, timeout=90)
        check(r.returncode == 0, "exit %d\n%s\n%s" % (r.returncode, r.stdout, r.stderr[-3000:]))
        files = session_files(r.stdout)
        for f in files:
            check(os.path.exists(f) and f.startswith(sessions), "session file %s" % f)
            check_h5(f)
        check(re.search(r"^alerts: \d+ message\(s\)", r.stdout, re.M), "alert summary:\n" + r.stdout)
        if CHECK_H5:
            # one HTML report of the whole run, beside the first session file
            reports = re.findall(r"^report: (\S+)$", r.stdout, re.M)
            check(reports == [sorted(files)[0][:-3] + ".html"],
                  "reports %r for files %r" % (reports, files))
            for h in reports:
                with open(h) as fh:
                    page = fh.read()
                check("<svg" in page and "ductwatch" in page, "%s is not a report" % h)
        check(re.search(r"^loss: serial bytes \d+, frames [1-9]\d*, crc errors 0", r.stdout, re.M),
              "loss line:\n" + r.stdout)
        check("garment time: 01:00:0" in r.stdout, "garment time in summary:\n" + r.stdout)
        left = [x for x in os.listdir(d) if x.startswith("run-") or x == "current"]
        check(not left, "runtime dir not cleaned: %r" % left)
    finally:
        shutil.rmtree(sessions)
        shutil.rmtree(d)


def test_stage_killed_and_restarted():
    env, d = private_env()
    sessions = tempfile.mkdtemp(prefix="dwrun-")
    p = subprocess.Popen([DUCTWATCH, "run"] + scenario_args() + report_args() +
                         ["--duration", "30m", "--speed", "120", "--dir", sessions],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    out = Lines(p)

    try:
        out.until(r"^recording to ")
        for victim in ("ductwatch-detect", "ductwatch-acquire"):
            kids = children(p.pid)
            check(victim in kids, "%s not among run's children %r" % (victim, kids))
            os.kill(kids[victim], signal.SIGKILL)
            out.until(r"^%s killed by signal 9 .*restarting it in" % victim)
            out.until(r"^%s restarted" % victim)
            time.sleep(1)
        out = out.rest()
        rc = p.wait(30)
        check(rc == 0, "exit %d\n%s" % (rc, out))
        check("restarts: ductwatch-detect 1" in out and "restarts: ductwatch-acquire 1" in out,
              "restarts in summary:\n" + out)
        for f in session_files(out):
            check(os.path.exists(f), "session file %s" % f)
        check_h5(session_files(out)[0], want_gap=True)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        shutil.rmtree(sessions)
        shutil.rmtree(d)


if __name__ == "__main__":
    main([test_end_to_end, test_stage_killed_and_restarted])
