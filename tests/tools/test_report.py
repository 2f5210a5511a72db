"""`ductwatch report` on session files written through storage's real writer
(mksession): the page holds what the file holds, alerts are marked where
they happened, file text cannot become markup, and bad inputs fail with the
documented status and message."""
import json
import os
import re
import shutil
import subprocess
import sys
import time

import h5py

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import dwtest  # noqa: E402
from dwtest import case, check, prog  # noqa: E402
from dwtest.report import (charts, device_hours, heatmap_values, mksession, parse,
                           path_points, report)  # noqa: E402

HOURS = 2.0
# Where mksession puts things (fractions of the session, in hours here).
T1_RAISED_H, T1_UPDATED_H, T1_CLEARED_H, D1_RAISED_H = 1.0, 1.1, 1.6, 1.05
WARM_ZONE, D1_ZONE = 5, 12
MKSESSION_START_S = 1795545119  # 2026-11-24T18:31:59Z, mksession's T0_NS

ALLOWED_TAGS = {"html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "p",
                "strong", "em", "table", "tr", "th", "td", "span", "div", "svg", "text",
                "line", "rect", "path", "circle", "g", "footer", "section", "dl", "dt", "dd",
                "ul", "li", "a", "code", "details", "summary", "br"}


def no_markup_from_file(page, text):
    tags = {e.tag for e in page.root.iter()} - {"#root"}
    check(tags <= ALLOWED_TAGS, "unexpected elements: %s" % (tags - ALLOWED_TAGS))
    for e in page.root.iter():
        for k in e.attrs:
            check(not k.startswith("on"), "event handler attribute %s on <%s>" % (k, e.tag))
            check(k not in ("src", "xlink:href"), "a link attribute %s on <%s>" % (k, e.tag))
            # links only within the page
            check(k != "href" or e.attrs[k].startswith("#"), "a link out: %r" % e.attrs[k])
    low = text.lower()
    check("<script" not in low, "a <script> in the page")
    for s in ("http:", "https:", "//", "url("):
        check(s not in low, "%r in the page (external reference?)" % s)


@case(timeout=60)
def test_normal(t):
    d = t.dir
    sess = os.path.join(d, "bra-0042-20261124T183159Z.h5")
    made = mksession(sess, "--hours", str(HOURS))
    st, out, err = report(sess)
    check(st == 0, "report failed: %d %s" % (st, err))
    html_path = sess[:-3] + ".html"
    check(os.path.exists(html_path), "default output FILE.html missing")
    check(not [n for n in os.listdir(d) if n.startswith(".")], "temporary file left behind")
    page, text = parse(html_path)
    no_markup_from_file(page, text)
    check("not a medical device" in text, "no disclaimer")

    # Summary numbers are the file's.
    summary = next(page.root.find_all("table", cls="summary")).all_text()
    check("%d of about" % made["frames"] in summary, "frame count not in summary: %s" % summary)
    check("1 gap (12 frames" in summary, "gap summary wrong: %s" % summary)
    check("2 raised (4 alert rows)" in summary, "alert summary wrong")

    # Alert rows: every row, as recorded, in order.
    rows = list(page.root.find_all("tr", cls="alert-row"))
    got = [(r.attrs["data-rule"], r.attrs["data-state"]) for r in rows]
    check(got == [("T1", "raised"), ("D1", "raised"), ("T1", "updated"), ("T1", "cleared")],
          "alert rows: %s" % got)
    first = [c.all_text() for c in rows[0].children]
    check(first[1:5] == ["T1", "L0", "raised", "left breast, lower-inner, outer ring"],
          "T1 row cells: %s" % first)
    # clock time shown (mksession starts 2026-11-24 18:31:59 UTC; TZ=UTC
    # here), the garment's time on hover
    check(first[0] == "Tue 24 Nov 19:31", "T1 time: %s" % first[0])
    check(abs(device_hours(rows[0].children[0]) - T1_RAISED_H) < 0.001, "T1 garment time")
    check("garment time t+01:00:00" in next(rows[0].children[0].find_all(
        "span", cls="when")).attrs["title"], "no garment time on hover")
    check("possible" in first[7], "message not as recorded: %s" % first[7])
    # the rule's parameters as recorded with the alert (mksession's default: T1's)
    check(json.loads(first[8]) == {"delta_c": 0.5, "mad_factor": 3, "max_zone_fraction": 0.5,
                                   "sustain": "30m"}, "parameters not as recorded: %s" % first[8])
    # value and threshold with the rule's unit
    check(first[5] == "+0.80 \u00b0C (dL)" and first[6] == "+0.50 \u00b0C (dL)",
          "T1 value/threshold: %s" % first[5:7])

    # Alert markers: on the charts of the alert's breast, at the alert's time.
    want = {"left": [("T1", T1_RAISED_H), ("T1", T1_UPDATED_H), ("T1", T1_CLEARED_H)],
            "right": [("D1", D1_RAISED_H)]}
    for qty in ("temperature", "pressure"):
        for side in ("left", "right"):
            (ch,) = charts(page, qty, side)
            marks = []
            for g in ch.svg.find_all("g", cls="alert-marker"):
                line = next(g.find_all("line"))
                marks.append((g.attrs["data-rule"], ch.hours_of_px(float(line.attrs["x1"]))))
            check(len(marks) == len(want[side]), "%s %s markers: %s" % (qty, side, marks))
            for (rule, h), (wrule, wh) in zip(marks, want[side]):
                check(rule == wrule and abs(h - wh) < 0.01,
                      "%s %s marker %s at %.3f h, want %s at %.3f h" % (qty, side, rule, h,
                                                                       wrule, wh))
            kinds = [g.attrs["data-kind"] for g in ch.svg.find_all("g", cls="event-marker")]
            for k in ("link-down", "link-up", "gap", "thermometer", "shower"):
                check(k in kinds, "%s %s chart lacks a %s marker: %s" % (qty, side, k, kinds))
            check(("feed-start" in kinds) == (side == "left"),
                  "the left feed is marked on the %s chart" % side)
            check(800 <= ch.buckets <= 1600, "buckets: %d" % ch.buckets)

    # The x axis is clock time (mksession starts 2026-11-24 18:31:59 UTC,
    # TZ=UTC), not hours of the file: each tick's label is the clock time at
    # its place, and its hover text the garment's time there.
    for ch in [c for q in ("temperature", "pressure") for s in ("left", "right")
               for c in charts(page, q, s)]:
        ticks = list(ch.svg.find_all("text", cls="tick"))
        check(len(ticks) >= 6, "%d clock ticks on a 2 h chart" % len(ticks))
        for tk in ticks:
            label = "".join(tk.text).strip()
            h = ch.hours_of_px(float(tk.attrs["x"]))
            clock = MKSESSION_START_S + h * 3600
            check(re.fullmatch(r"\d\d:\d\d", label) and
                  label == time.strftime("%H:%M", time.gmtime(round(clock / 60) * 60)) and
                  abs(clock - round(clock / 60) * 60) < 15,
                  "tick %r at %.3f h, clock %s" % (label, h, time.strftime(
                      "%H:%M:%S", time.gmtime(clock))))
            m = re.fullmatch(r"garment time t\+(\d\d):(\d\d):(\d\d)",
                             next(tk.find_all("title")).all_text())
            check(m and abs(int(m[1]) * 3600 + int(m[2]) * 60 + int(m[3]) - h * 3600) < 15,
                  "tick %r: garment time on hover %r at %.3f h"
                  % (label, next(tk.find_all("title")).all_text(), h))

    # The warm zone shows in the series: zone 5's band rises by ~1 C at 1.0 h.
    (ch,) = charts(page, "temperature", "left")
    band = next(ch.svg.find_all("path", cls="band", data_zone=str(WARM_ZONE)))
    pts = path_points(band.attrs["d"])
    before = max(ch.value(y) for x, y in pts if ch.hours(x) < T1_RAISED_H - 0.05)
    during = min(ch.value(y) for x, y in pts if T1_RAISED_H + 0.05 < ch.hours(x) < T1_CLEARED_H - 0.05)
    check(during - before > 0.7, "warm zone not visible: before %.2f during %.2f" % (before, during))

    # Heat maps: start, each raised alert, end. The colours are what the
    # rules compare (dL, R): two hours are too short for a baseline (the
    # rules need 6 h of data), so the T1 map is grey and says why, rather
    # than inventing a colour. (test_report_episode.py: a session long
    # enough, where the alerted zone carries the most extreme colour.)
    moments = [m.attrs["data-kind"] for m in page.root.find_all("div", cls="moment")]
    check(moments == ["start", "alert", "alert", "end"], "moments: %s" % moments)
    t1 = list(page.root.find_all("div", cls="moment"))[1]
    temp = next(t1.find_all("svg", cls="heatmap", data_qty="temperature"))
    vals = heatmap_values(temp)
    check(len(vals) == 16, "heat map zones: %d" % len(vals))
    check(all(v is None for _, v in vals.values()), "dL without a baseline: %s" % vals)
    zone5 = next(temp.find_all("path", cls="zone", data_zone=str(WARM_ZONE)))
    check(zone5.attrs["fill"] == "#cccccc", "no value, not grey: %s" % zone5.attrs["fill"])
    check("the rules had no value here then" in zone5.all_text(), "grey zone's hover text")
    outlined = [p.attrs["data-zone"] for p in temp.find_all("path", cls="alert-zone")]
    check(outlined == [str(WARM_ZONE)], "alert zone outline: %s" % outlined)
    check(len(list(page.root.find_all("svg", cls="scale"))) == 2, "no colour legends")
    legend = " ".join(e.all_text() for e in page.root.find_all("svg", cls="scale"))
    check("T1 at +0.5" in legend and "F1 at" in legend, "legend lacks the thresholds: %s" % legend)

    # The summary box comes first and names the L1 finding (the D1), where,
    # since when, what to do and when to call; the L0 T1 is only noticed.
    body = [c for c in next(page.root.find_all("body")).children if c.tag != "h1"]
    check(body[1].tag == "section" and "summary-box" in body[1].attrs["class"],
          "the summary box is not first: %s" % [c.tag for c in body[:3]])
    box = body[1]
    fnd = list(box.find_all("div", cls="finding"))
    check([x.attrs["data-rule"] for x in fnd] == ["D1"], "headline findings: %s" %
          [x.attrs["data-rule"] for x in fnd])
    t = fnd[0].all_text()
    for w in ("Possible blocked milk duct", "right breast", "still present at the end",
              "What to do", "When to call", "feeding on demand", "24\u201348 hours"):
        check(w in t, "summary box lacks %r: %s" % (w, t))
    check(abs(device_hours(fnd[0]) - D1_RAISED_H) < 0.001, "D1 since %.3f h" % device_hours(fnd[0]))
    check("Possible localized warmth" in next(box.find_all("ul", cls="noticed")).all_text(),
          "the T1 is not among the noticed")
    # The clinician's findings: levels, values with units, ruleset, parameters.
    eps = {tr.attrs["data-rule"]: [c.all_text() for c in tr.children]
           for tr in page.root.find_all("tr", cls="episode")}
    check(set(eps) == {"T1", "D1"}, "episodes: %s" % eps)
    check(eps["D1"][3].strip().startswith("L1") and eps["D1"][4] == "still present at the end" and
          eps["D1"][5] == "\u00d71.40 R" and eps["D1"][7] == "\u00d71.30 R" and
          eps["D1"][8] == "test-1",
          "D1 episode: %s" % eps["D1"])
    check(eps["T1"][6] == "+1.10 \u00b0C (dL)", "T1 peak: %s" % eps["T1"])
    params = next(page.root.find_all("table", cls="parameters")).all_text()
    for w in ("[D1]", "sustain = 2h", "[F1]", "r = 1.3", "[T1]", "delta_c = 0.5"):
        check(w in params, "parameters lack %r: %s" % (w, params))

    # Loss record: the last acquire stats row, and the link events.
    counters = {}
    for tr in page.root.find_all("tr"):
        if "data-counter" in tr.attrs:
            counters[tr.attrs["data-counter"]] = [c.all_text() for c in tr.children][1:]
    for k, v in (("crc_errors", "3"), ("frames_missing", "12"), ("reconnects", "1")):
        check(counters.get(k) == [v], "%s: %s" % (k, counters.get(k)))
    gaps = [r.attrs["data-kind"] for r in next(page.root.find_all("table", cls="gaps"))
            .find_all("tr", cls="event-row")]
    check(gaps == ["link-down", "link-up", "gap"], "gap table: %s" % gaps)
    evs = [r for r in page.root.find_all("table", cls="events")][0]
    kinds = [r.attrs["data-kind"] for r in evs.find_all("tr", cls="event-row")]
    check(len(kinds) == made["events"], "events table has %d of %d" % (len(kinds), made["events"]))
    thermo = next(evs.find_all("tr", data_kind="thermometer"))
    check("37.40" in thermo.all_text(), "thermometer value: %s" % thermo.all_text())

    # -o to stdout gives the same page (but for the generation time).
    st, out, err = report(sess, "-o", "-", "-q")
    check(st == 0 and out.startswith(b"<!DOCTYPE html>"), "-o - failed: %s" % err)
    check(out.split(b"<footer>")[0] == open(html_path, "rb").read().split(b"<footer>")[0],
          "stdout page differs")


@case(timeout=60)
def test_hostile(t):
    d = t.dir
    sess = os.path.join(d, "evil.h5")
    dev = '"><script>x()'
    text = b'</td><script>alert(1)</script><img src=x onerror=alert(2)>\xff\x01'
    msg = "<script>alert('m')</script> possible & \"q\" <a href=\"javascript:x\">x</a>"
    p = subprocess.run([prog("mksession").encode(), sess.encode(), b"--hours", b"0.2",
                        b"--device-id", dev.encode(), b"--text", text, b"--message", msg.encode()],
                       capture_output=True, timeout=60)
    check(p.returncode == 0, "mksession: %r" % p.stderr)
    out = os.path.join(d, "evil.html")
    st, _, err = report(sess, "-o", out)
    check(st == 0, "report failed: %s" % err)
    page, raw = parse(out)  # also: valid UTF-8 although the file had a \xff byte
    no_markup_from_file(page, raw)
    cell = next(page.root.find_all("td", cls="device"))
    check(cell.all_text() == dev, "device id shown as %r" % cell.all_text())
    title = next(page.root.find_all("title")).all_text()
    check(dev in title, "title: %r" % title)
    shown = [t.all_text() for t in page.root.find_all("td", cls="text")]
    want_text = text[:-2].decode() + "\ufffd\ufffd"
    check(shown and all(s == want_text for s in shown), "event text shown as %r" % shown[:1])
    msgs = [t.all_text() for t in page.root.find_all("td", cls="message")]
    check(msgs and all(m == msg for m in msgs), "message shown as %r" % msgs[:1])


@case(timeout=60)
def test_being_written(t):
    d = t.dir
    sess = os.path.join(d, "live.h5")
    w = subprocess.Popen([prog("mksession"), sess, "--hours", "0.3", "--hold"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        check(w.stdout.readline() == b"ready\n", "mksession --hold did not get ready")
        st, _, err = report(sess, "-o", os.path.join(d, "live.html"))
        check(st == 0, "report of a file being written failed: %s" % err)
        page, text = parse(os.path.join(d, "live.html"))
        check("still being written" in text, "no note that the file is open")
        check(len(list(page.root.find_all("tr", cls="alert-row"))) == 4, "alerts of the live file")
    finally:
        w.stdin.close()
        w.wait(timeout=30)
    check(w.returncode == 0, "writer failed after the report read its file")

    crashed = os.path.join(d, "crashed.h5")
    made = mksession(crashed, "--hours", "0.3", "--crash")
    st, _, err = report(crashed, "-o", os.path.join(d, "crashed.html"))
    check(st == 0, "report of a crashed file failed: %s" % err)
    page, text = parse(os.path.join(d, "crashed.html"))
    check("still being written" in text, "no note that the writer did not close it")
    summary = next(page.root.find_all("table", cls="summary")).all_text()
    check("%d of about" % made["frames"] in summary, "crashed file's frames: %s" % summary)


@case(timeout=60)
def test_empty(t):
    d = t.dir
    """A session that never got a sample (garment said HELLO, then nothing)."""
    sess = os.path.join(d, "empty.h5")
    made = mksession(sess, "--hours", "0")
    check(made["frames"] == 0, "mksession wrote frames: %s" % made)
    st, _, err = report(sess, "-q")
    check(st == 0, "report of an empty session failed: %s" % err)
    page, text = parse(sess[:-3] + ".html")
    no_markup_from_file(page, text)
    check(text.count("No valid readings on this side") == 4, "charts of an empty session")
    check(text.count("No sample in the file") == 2, "heat maps of an empty session")
    check("No alerts were recorded" in text, "alerts of an empty session")


def expect(args, status, words, what):
    st, out, err = report(*args)
    check(st == status, "%s: status %d, want %d (%s)" % (what, st, status, err))
    for w in words:
        check(w in err, "%s: %r not in %r" % (what, w, err))
    if status:
        check(err.count("\n") <= 2, "%s: more than a short message: %r" % (what, err))


@case(timeout=60)
def test_bad_inputs(t):
    d = t.dir
    good = os.path.join(d, "good.h5")
    mksession(good, "--hours", "0.1")
    expect([os.path.join(d, "nope.h5")], 1, ["ductwatch report:", "nope.h5", "No such file"],
           "missing file")
    other = os.path.join(d, "other.h5")
    with h5py.File(other, "w") as f:
        f.attrs["format"] = "somebody-else"
        f["x"] = [1, 2, 3]
    expect([other], 1, ["other.h5", "not a ductwatch session file"], "foreign HDF5")
    plain = os.path.join(d, "plain.h5")
    with h5py.File(plain, "w") as f:
        f["x"] = [1.0]
    expect([plain], 1, ["not a ductwatch session file"], "HDF5 without attributes")
    txt = os.path.join(d, "notes.h5")
    with open(txt, "w") as f:
        f.write("hello\n")
    expect([txt], 1, ["not an HDF5 file"], "text file")
    empty = os.path.join(d, "empty-dir")
    os.mkdir(empty)
    expect([empty], 1, ["empty-dir", "no ductwatch session file there"], "empty directory")
    expect([good, "-o", os.path.join(d, "no", "such", "dir", "r.html")], 1,
           ["cannot write", "r.html", "No such file"], "output in a missing directory")
    os.mkdir(os.path.join(d, "isdir.html"))
    expect([good, "-o", os.path.join(d, "isdir.html")], 1, ["cannot write", "isdir.html"],
           "output is a directory")
    check(not [n for n in os.listdir(d) if n.startswith(".")], "temporary file left behind")
    for f in ("nope.html", "other.html", "plain.html", "notes.html"):
        check(not os.path.exists(os.path.join(d, f)), "%s written for a bad input" % f)
    expect([], 2, ["missing FILE.h5 or DIR"], "no file")
    other_dev = os.path.join(d, "bra-9.h5")
    mksession(other_dev, "--hours", "0.1", "--device-id", "bra-9")
    expect([good, other_dev, "-o", os.path.join(d, "two.html")], 1,
           ["several garments", "--device"], "two garments")
    expect([good, "--from", "yesterday"], 2, ["bad --from"], "bad --from")
    expect([good, "--to", "+5x"], 2, ["bad --to"], "bad --to")
    expect([good, "--from", "+1h", "--to", "+30m"], 1, ["ends before it starts"], "empty window")
    os.unlink(other_dev)
    expect([good, "--frobnicate"], 2, ["unknown option"], "unknown option")
    expect([good, "-o"], 2, ["needs a value"], "-o without a value")
    # A session named without .h5: FILE.html next to it.
    noext = os.path.join(d, "session")
    shutil.copy(good, noext)
    st, _, err = report(noext, "-q")
    check(st == 0 and os.path.exists(noext + ".html"), "FILE without .h5: %s" % err)
    check(err == "", "-q still printed %r" % err)


@case()
def test_help(t):
    st, out, err = report("--help")
    check(st == 0, "--help status %d" % st)
    h = out.decode()
    check(".h5 replaced by" in h and ".html" in h and "Exit status" in h, "help: %s" % h)
    p = subprocess.run([prog("ductwatch"), "--help"], capture_output=True, timeout=10)
    check(b"report FILE.h5" in p.stdout, "ductwatch --help does not list report")
    for w in ("--from", "--to", "--device", "--config", "DIR"):
        check(w in h, "report --help lacks %s" % w)


if __name__ == "__main__":
    dwtest.main(fixture=dwtest.Run)
