"""ductwatch run end to end with the real stage programs: a short simulated
session (--duration 1h30m, -q) exits 0 with a session file h5py reads, the
summary and nothing else on stderr; killing a
stage with SIGKILL mid-run is reported, the stage restarted, and the run
still completes with a session file. The same once more with stand-ins for
the simulator (tests/lib/testgarment) and the recorder (standin_record.py,
text files)."""
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import dwtest  # noqa: E402
from dwtest import case, check, kill_stage, prog, run_ended, source  # noqa: E402

SCENARIO = os.environ.get("DW_RUN_SCENARIO", "")


def run_args(standins):
    """The stand-in recorder writes text files, which have no report."""
    return (["--scenario", SCENARIO] if SCENARIO else []) + (["--no-report"] if standins else [])


def use_standins(t):
    t.env.update(DUCTWATCH_SIM=prog("testgarment"),
                 DUCTWATCH_RECORD=source("tests", "tools", "standin_record.py"),
                 DUCTWATCH_DETECT=prog("ductwatch-detect"),
                 DUCTWATCH_ACQUIRE=prog("ductwatch-acquire"))


def session_files(stdout):
    files = re.findall(r"^session file: (\S+) \((\d+) bytes\)$", stdout, re.M)
    check(files, "no session file in the summary:\n" + stdout)
    return [f for f, _ in files]


def check_h5(path, standins, want_gap=False):
    if standins:
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


def end_to_end(t, standins):
    sessions = t.path("sessions")
    d = t.rundir
    # a compound duration, as README and --help offer it; the real stages
    # quiet (-q: errors, alerts and the summary only, the report's too)
    r = t.run(["ductwatch", "run"] + run_args(standins) + ([] if standins else ["-q"]) +
              ["--duration", "1h30m", "--fast", "--dir", sessions], timeout=90)
    check(r.returncode == 0, "exit %d\n%s\n%s" % (r.returncode, r.stdout, r.stderr[-3000:]))
    if not standins:
        check("info:" not in r.stderr and "reading" not in r.stderr,
              "run -q printed more than errors:\n%s" % r.stderr[-3000:])
    files = session_files(r.stdout)
    for f in files:
        check(os.path.exists(f) and f.startswith(sessions), "session file %s" % f)
        check_h5(f, standins)
    check(re.search(r"^alerts: \d+ message\(s\)", r.stdout, re.M), "alert summary:\n" + r.stdout)
    if not standins:
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
    check("garment time: 01:30:0" in r.stdout, "garment time in summary:\n" + r.stdout)
    left = [x for x in os.listdir(d) if x.startswith("run-") or x == "current"]
    check(not left, "runtime dir not cleaned: %r" % left)


def stage_killed_and_restarted(t, standins):
    sessions = t.path("sessions")
    p = t.spawn(["ductwatch", "run"] + run_args(standins) +
                ["--duration", "30m", "--speed", "120", "--dir", sessions])
    p.until(r"^recording to ")
    for victim in ("ductwatch-detect", "ductwatch-acquire"):
        kill_stage(p, victim)
        time.sleep(1)
    out = run_ended(p, restarted=("ductwatch-detect", "ductwatch-acquire"))
    for f in session_files(out):
        check(os.path.exists(f), "session file %s" % f)
    check_h5(session_files(out)[0], standins, want_gap=True)


@case(timeout=120, suites=["slow"])
def case_end_to_end(t):
    end_to_end(t, False)


@case(timeout=120, suites=["slow"])
def case_stage_killed_and_restarted(t):
    stage_killed_and_restarted(t, False)


@case(timeout=120)
def case_standins_end_to_end(t):
    use_standins(t)
    end_to_end(t, True)


@case(timeout=120)
def case_standins_stage_killed_and_restarted(t):
    use_standins(t)
    stage_killed_and_restarted(t, True)


if __name__ == "__main__":
    dwtest.main(fixture=dwtest.Run)
