"""The report of a labelled episode, end to end: `ductwatch run` simulates
48 h of the blocked-duct scenario (the simulator's ground truth names the
duct's zone), the recorder rotates the session into two files, and run
writes ONE report of the whole run. In it:
- the garment's time runs on across the two files (chart span, markers at
  each alert's device time in either file);
- at the D1 the alerted zone is the labelled one and carries the most
  extreme colour of its breast on the map of what the rule compares (R),
  in the summary box first and in the moments;
- `ductwatch report DIR` gives the same page; --from/--to cut a window
  (relative and clock forms agree);
- with Chromium installed, screenshots of the page at phone (360 px) and
  desktop width are written to the build directory (dwtest.artifacts), and the
  alerted zone's colour is on the phone's first screen."""
import json
import math
import os
import re
import sys
import time

import h5py

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import dwtest  # noqa: E402
from dwtest import case, check  # noqa: E402
from dwtest.report import charts, device_hours, heatmap_values, parse, report  # noqa: E402
from test_report_chromium import chromium, png_pixels, run_chromium  # noqa: E402

HOURS = 48


def text(b):
    return b.decode() if isinstance(b, bytes) else b


def run_blocked_duct(t):
    sessions = t.path("sessions")
    labels = t.path("labels.jsonl")
    r = t.run(["ductwatch", "run", "--scenario", "blocked-duct", "--seed", "8",
               "--duration", "%dh" % HOURS, "--fast", "--dir", sessions,
               "--labels", labels, "-q"], timeout=600)
    check(r.returncode == 0, "run: %d\n%s\n%s" % (r.returncode, r.stdout[-2000:], r.stderr[-2000:]))
    files = re.findall(r"^session file: (\S+) \(", r.stdout, re.M)
    reports = re.findall(r"^report: (\S+)$", r.stdout, re.M)
    check(len(files) == 2, "a %d h session should be two files: %s" % (HOURS, files))
    check(reports == [files[0][:-3] + ".html"], "run's reports: %s" % reports)
    with open(labels) as f:
        eps = [e for e in map(json.loads, f) if e.get("type") == "episode"]
    check(len(eps) == 1 and eps[0]["rule"] == "D1", "labels: %s" % eps)
    return files, reports[0], eps[0]


def file_alerts(files):
    out = []
    with h5py.File(files[0], "r") as f:
        t0 = int(f["frames/t_device_us"][0])
    for p in files:
        with h5py.File(p, "r") as f:
            out += list(f["alerts"][:])
    return t0, out


def check_continuous(page, files):
    t0, alerts = file_alerts(files)
    summary = next(page.root.find_all("table", cls="summary")).all_text()
    check("Session files (2)" in summary, "files in the summary: %s" % summary)
    check("(48.00 h)" in summary, "duration across the files: %s" % summary)
    (ch,) = charts(page, "pressure", "left")
    check(HOURS <= ch.hours(ch.buckets) <= HOURS * 1.01, "chart spans %.2f h" % ch.hours(ch.buckets))
    with h5py.File(files[1], "r") as f:
        second = int(f["frames/t_device_us"][0])
    mine = [a for a in alerts if text(a["side"]) in ("left", "none")]
    marks = list(ch.svg.find_all("g", cls="alert-marker"))
    check(len(marks) == len(mine), "%d markers for %d alerts" % (len(marks), len(mine)))
    late = 0
    for g, a in zip(marks, mine):
        h = ch.hours_of_px(float(next(g.find_all("line")).attrs["x1"]))
        want = (int(a["t_device_us"]) - t0) / 3.6e9
        check(abs(h - want) < 0.05, "%s marker at %.3f h, want %.3f h" % (text(a["rule"]), h, want))
        late += int(a["t_device_us"]) >= second
    check(late, "no alert of the second file to place")


def check_episode(page, label):
    zone, side = label["zone"], label["side"]
    # the summary box leads with the D1, at the labelled zone, with its map
    fnd = next(page.root.find_all("div", cls="finding"))
    check(fnd.attrs["data-rule"] == "D1" and fnd.attrs["data-zone"] == str(zone),
          "summary leads with %s at zone %s, label %s" % (fnd.attrs["data-rule"],
                                                        fnd.attrs["data-zone"], label))
    start_h = label["start_us"] / 3.6e9
    check(device_hours(fnd) >= start_h, "D1 at %.2f h before the episode (%.2f h)"
          % (device_hours(fnd), start_h))
    maps = [next(fnd.find_all("svg", cls="heatmap"))]
    for m in page.root.find_all("div", cls="moment", data_kind="alert"):
        if re.match(r"\s*D1 \(L1\) raised", m.all_text()):
            maps.append(next(m.find_all("svg", cls="heatmap", data_qty="pressure")))
    check(len(maps) == 2, "D1 maps: %d" % len(maps))
    for hm in maps:
        check(hm.attrs["data-qty"] == "pressure", "D1's map is %s" % hm.attrs["data-qty"])
        vals = heatmap_values(hm)
        alert = [p.attrs["data-zone"] for p in hm.find_all("path", cls="alert-zone")]
        check(alert == [str(zone)], "outlined %s, label zone %d" % (alert, zone))
        v = vals[zone][1]
        others = {z: w for z, (s, w) in vals.items() if s == side and z != zone}
        check(v is not None and v >= 1.3, "alerted zone R %s" % v)
        check(all(w is None or w < v for w in others.values()),
              "zone %d (R %.2f) is not the firmest of the %s breast: %s" % (zone, v, side, others))
        # and the most extreme colour of it: a much softer zone would colour as strongly
        check(all(w is None or colour_distance(w) <= colour_distance(v) for w in others.values()),
              "zone %d (R %.2f) is not the most extreme colour of the %s breast: %s"
              % (zone, v, side, others))
    return maps[0]


def colour_distance(r):
    """How far a firmness ratio's colour is from the middle of the report's
    scale: log2, full colour at x0.5 and x2 (report/report_svg.c, RATIO_SPAN;
    a ratio that is not positive is drawn grey)."""
    return min(abs(math.log2(r)), 1.0) if r > 0 else 0.0   # grey: no value


def check_window(d, first_html, files):
    sdir = os.path.dirname(files[0])
    out = os.path.join(d, "dir.html")
    st, _, err = report(sdir, "-o", out, "-q")
    check(st == 0, "report DIR: %s" % err)
    a = open(first_html, "rb").read().split(b"<footer>")[0]
    b = open(out, "rb").read().split(b"<footer>")[0]
    check(a == b, "report DIR differs from run's report of its files")

    rel = os.path.join(d, "rel.html")
    st, _, err = report(*files, "--from", "+30h", "--to", "+40h", "-o", rel, "-q")
    check(st == 0, "--from/--to: %s" % err)
    with h5py.File(files[0], "r") as f:
        start_s = int(f.attrs["session_start_ns"]) // 10**9
    clock = lambda h: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start_s + h * 3600))
    absolute = os.path.join(d, "abs.html")
    st, _, err = report(sdir, "--from", clock(30), "--to", clock(40), "-o", absolute, "-q")
    check(st == 0, "--from/--to clock: %s" % err)
    seen = []
    for path in (rel, absolute):
        page, _ = parse(path)
        seen.append(([(r.attrs["data-rule"], r.attrs["data-state"], r.attrs["data-id"])
                      for r in page.root.find_all("tr", cls="alert-row")],
                     len(list(page.root.find_all("div", cls="moment")))))
        (ch,) = charts(page, "pressure", "left")
        check(abs(ch.hours(0) - 30) < 0.02 and abs(ch.hours(ch.buckets) - 40) < 0.2,
              "%s window %.2f-%.2f h" % (os.path.basename(path), ch.hours(0), ch.hours(ch.buckets)))
        for tr in page.root.find_all("tr", cls="alert-row"):
            h = device_hours(tr)
            check(30 - 0.02 <= h <= 40.02, "alert row at %.2f h outside the window" % h)
    # the clock form is whole seconds: the same rows and moments
    check(seen[0] == seen[1], "+30h and the clock differ: %s / %s" % tuple(seen))
    check(seen[0][0], "no alert row between 30 and 40 h")


def screenshots(d, html, hm):
    exe = chromium()
    if not exe:
        print("chromium is not installed: no screenshots")
        return
    art = dwtest.artifacts("tools")
    colour = next(p for p in hm.find_all("path", cls="alert-zone")).attrs["fill"]
    rgb = tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))
    for name, size in (("phone", "360,1400"), ("desktop", "1280,1000")):
        png = os.path.join(art, "report-blocked-duct-d1-%s.png" % name)
        p = run_chromium(exe, d, "--hide-scrollbars", "--screenshot=" + png,
                         "--window-size=" + size, "file://" + html)
        check(p.returncode == 0 and os.path.exists(png), "screenshot %s: %s" % (name, p.stderr[-300:]))
        w, h, rows = png_pixels(png)
        n = sum(1 for row in rows for px in row if all(abs(px[i] - rgb[i]) <= 6 for i in range(3)))
        print("screenshot %s: %s (%dx%d), alerted zone's colour %s on %d px"
              % (name, png, w, h, colour, n))
        # the outlined zone, drawn at least ~60 px across on either screen
        check(n >= 1500, "the alerted zone's colour is hardly on the first screen (%d px)" % n)


@case(timeout=600, suites=["slow"])
def case_blocked_duct(t):
    files, html, label = run_blocked_duct(t)
    page, _ = parse(html)
    check_continuous(page, files)
    hm = check_episode(page, label)
    check_window(t.dir, html, files)
    screenshots(t.dir, html, hm)


if __name__ == "__main__":
    dwtest.main(fixture=dwtest.Run)
