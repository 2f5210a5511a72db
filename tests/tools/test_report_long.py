"""`ductwatch report` on a 3-day session at 10 Hz (2.6 million frames, with a
garment restart on day 2): the page stays small, covers the whole session
(downsampled, not truncated), keeps a one-sample spike's extreme value, puts
it and the alerts at the right session time across the restart, and says
how far it has read on stderr; SIGINT while reading leaves nothing behind."""
import os
import signal
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import dwtest  # noqa: E402
from dwtest import case, check, prog  # noqa: E402
from dwtest.report import charts, mksession, parse, path_points, report  # noqa: E402

HOURS, RESTART_H, SPIKE_H, SPIKE_ZONE, SPIKE_C = 72, 30, 40.5, 3, 44.5
T1_RAISED_H = HOURS / 2
MAX_BYTES = 2_000_000


@case(timeout=240, suites=["slow"])
def case_three_days(t):
    d = t.path("long")
    os.mkdir(d)
    sess = os.path.join(d, "long.h5")
    made = mksession(sess, "--hours", str(HOURS), "--restart-at-h", str(RESTART_H),
                     "--spike-at-h", str(SPIKE_H), "--spike-zone", str(SPIKE_ZONE),
                     "--spike-c", str(SPIKE_C))
    check(made["frames"] > 2_500_000, "session too small: %s" % made)
    out = os.path.join(d, "long.html")
    st, _, err = report(sess, "-o", out)
    check(st == 0, "report failed: %s" % err)
    progress = [l for l in err.splitlines() if "reading" in l]
    check(len(progress) >= 5 and progress[-1].endswith("100%"),
          "no progress on stderr: %r" % err)
    size = os.path.getsize(out)
    print("report of %d frames: %d bytes" % (made["frames"], size))
    check(size < MAX_BYTES, "report is %d bytes" % size)
    page, _ = parse(out)

    (ch,) = charts(page, "temperature", "left")
    check(800 <= ch.buckets <= 1600, "buckets: %d" % ch.buckets)
    span_h = ch.hours(ch.buckets)
    check(HOURS <= span_h < HOURS * 1.01, "chart covers %.2f h of %d" % (span_h, HOURS))

    # The spike: in the legend's range, and in the drawn band, at its time.
    rng = next(page.root.find_all("span", cls="zone-range", data_zone=str(SPIKE_ZONE)))
    check(abs(float(rng.attrs["data-max"]) - SPIKE_C) < 0.006,
          "zone %d max %s, spike was %.2f" % (SPIKE_ZONE, rng.attrs["data-max"], SPIKE_C))
    band = next(ch.svg.find_all("path", cls="band", data_zone=str(SPIKE_ZONE)))
    pts = path_points(band.attrs["d"])
    check(pts and max(x for x, _ in pts) >= ch.buckets - 1, "band ends before the session")
    x, y = min(pts, key=lambda p: p[1])
    top = ch.value(y)
    check(abs(top - SPIKE_C) <= ch.resolution() + 0.006,
          "band top %.3f, spike %.2f" % (top, SPIKE_C))
    bucket_h = ch.hours(1)
    check(abs(ch.hours(x) - SPIKE_H) <= 1.5 * bucket_h,
          "spike drawn at %.3f h, was at %.3f h" % (ch.hours(x), SPIKE_H))
    # ...and nowhere else: the rest of the zone stays near its baseline.
    others = [ch.value(py) for px, py in pts if abs(ch.hours(px) - SPIKE_H) > 2 * bucket_h]
    check(max(others) < 36.0, "zone %d reaches %.2f away from the spike" % (SPIKE_ZONE, max(others)))
    mean = next(ch.svg.find_all("path", cls="mean", data_zone=str(SPIKE_ZONE)))
    check(max(ch.value(py) for _, py in path_points(mean.attrs["d"])) < 36.0,
          "the mean line should not jump for one sample in %.0f s" % (bucket_h * 3600))

    # SIGINT while reading: status 1, no report, no temporary file.
    out2 = os.path.join(d, "interrupted.html")
    p = subprocess.Popen([prog("ductwatch"), "report", sess, "-o", out2], stderr=subprocess.PIPE,
                         text=True)
    line = p.stderr.readline()
    check("reading" in line, "no progress line before the interrupt: %r" % line)
    p.send_signal(signal.SIGINT)
    rest = p.stderr.read()
    p.wait(timeout=60)
    check(p.returncode == 1 and "interrupted; no report written" in rest,
          "SIGINT: status %s, %r" % (p.returncode, rest))
    check(not os.path.exists(out2), "a report was written after SIGINT")
    check(sorted(os.listdir(d)) == ["long.h5", "long.html"], "left behind: %s" % os.listdir(d))

    # Alerts after the garment restart are placed on session time.
    g = next(ch.svg.find_all("g", cls="alert-marker", data_state="raised"))
    line = next(g.find_all("line"))
    h = ch.hours_of_px(float(line.attrs["x1"]))
    check(abs(h - T1_RAISED_H) < 0.05, "T1 marker at %.2f h, want %.2f" % (h, T1_RAISED_H))


if __name__ == "__main__":
    dwtest.main(fixture=dwtest.Run)
