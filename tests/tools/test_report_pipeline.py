"""`ductwatch report` on a session the real pipeline recorded: processing's
synthetic garment (36 h, a zone 1.6 C warmer after 30 h) written into a
pseudo-terminal -> ductwatch-acquire -> ductwatch-detect -> ductwatch-record.
The report must show exactly the alerts, events and counters h5py reads from
that file, and the inflammation alert's zone warm on its heat map."""
import os
import sys

import h5py

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import dwtest  # noqa: E402
from dwtest import case, check  # noqa: E402
from dwtest.garment import acquire  # noqa: E402
from dwtest.record import Recorder  # noqa: E402
from dwtest.report import charts, heatmap_values, parse, report  # noqa: E402

HOURS = 36
WARM_ZONE = 10  # synthgen's "warm" scenario


def text(b):
    return b.decode() if isinstance(b, bytes) else b


def record_session(t):
    raw = t.path("garment.bin")
    t.run(["synthgen", "--out", raw, "--scenario", "warm", "--hours", str(HOURS)], timeout=60,
          check=True)
    master, slave = os.openpty()
    try:
        # Detect and record subscribe before acquire reads a byte. The
        # garment's 36 h arrive as fast as the pty takes them: with the
        # default --sndhwm a recorder slowed by a loaded machine loses
        # frames at acquire (by design, counted); this test is about the
        # report, so acquire queues without limit.
        acq, acq_ep, _ = acquire(t, os.ttyname(slave), "--wait-subscribers", "2", "--sndhwm", "0")
        # Only acquire holds the garment's end, so closing ours hangs it up.
        os.close(slave)
        slave = None
        det = t.spawn(["ductwatch-detect", "--sub", acq_ep, "--pub", t.ep("det")])
        det.expect("pub: ")
        rec = Recorder(t, [acq_ep, t.ep("det")], extra=["--rotate", "%dh" % (2 * HOURS)])

        # The garment: its bytes into the pty. (Acquire's few HELLO requests
        # stay unread in the other direction; a reading thread would keep
        # the master open past os.close.)
        with open(raw, "rb") as f:
            data = f.read()
        view = memoryview(data)
        while view:
            view = view[os.write(master, view[:65536]):]
        path = rec.wait_file(timeout=60)
        # Everything went through once the file holds an acquire stats row
        # that counts every byte (the stream is in order).
        rec.wait_row("stats", lambda rows: (rows["bytes"] == len(data)).any(), 600)
        # The garment goes away: acquire records the link going down.
        os.close(master)
        master = None
        rec.wait_row("events", lambda rows: (rows["kind"] == b"link-down").any())
        for p in (acq, det, rec.p):
            check(p.stop(60) == 0, "%s exited %d: %s" % (p.name, p.returncode,
                                                         p.err_text()[-500:]))
        return path
    finally:
        for fd in (master, slave):
            if fd is not None:
                os.close(fd)


@case(timeout=300)
def case_pipeline(t):
    d = t.dir
    path = record_session(t)
    with h5py.File(path, "r") as f:
        alerts = f["alerts"][:]
        events = f["events"][:]
        stats = f["stats"][:]
        frames = f["frames/seq"].shape[0]
        t0 = int(f["frames/t_device_us"][0])
        span_h = (int(f["frames/t_device_us"][-1]) - t0) / 3.6e9
    print("recorded %d frames, %d events, %d alert rows, %d stats rows"
          % (frames, len(events), len(alerts), len(stats)))
    raised = [a for a in alerts if text(a["state"]) == "raised"]
    check(any(text(a["rule"]) == "I1" and a["zone"] == WARM_ZONE for a in raised),
          "the pipeline raised no I1 at zone %d: %s" % (WARM_ZONE,
                                                     [(text(a["rule"]), a["zone"]) for a in raised]))

    out = os.path.join(d, "report.html")
    st, _, err = report(path, "-o", out)
    check(st == 0, "report failed: %s" % err)
    page, _ = parse(out)

    # Session time is the garment's clock: the feed events the garment
    # stamps a little back in time must not stretch it.
    summary = next(page.root.find_all("table", cls="summary")).all_text()
    check("(%.2f h)" % span_h in summary, "duration is not the frames' %.2f h: %s"
          % (span_h, summary))
    (ch,) = charts(page, "temperature", "left")
    check(span_h <= ch.hours(ch.buckets) <= span_h + ch.hours(1),
          "chart spans %.3f h, the frames %.3f h" % (ch.hours(ch.buckets), span_h))

    # Every row, in the file's order; information (H1) rows folded apart.
    rows = list(page.root.find_all("tr", cls="alert-row"))
    got = [(r.attrs["data-rule"], r.attrs["data-state"], int(r.attrs["data-id"])) for r in rows]
    want = [(text(a["rule"]), text(a["state"]), int(a["id"])) for a in alerts]
    info = [w for w in want if w[0] == "H1"]
    want = [w for w in want if w[0] != "H1"] + info
    check(got == want, "alert rows differ from the file's:\n%s\n%s" % (got[:6], want[:6]))
    folded = [r.attrs["data-rule"] for d in page.root.find_all("details", cls="info")
              for r in d.find_all("tr", cls="alert-row")]
    check(folded == [w[0] for w in info], "H1 rows not folded: %s" % folded)
    by_id = {(text(a["rule"]), text(a["state"]), int(a["id"])): a for a in alerts}
    for r, key in zip(rows, got):
        a = by_id[key]
        cells = [c.all_text() for c in r.children]
        check(cells[7] == text(a["message"]), "message %r vs %r" % (cells[7], a["message"]))
        if text(a["rule"]) == "I1":
            check("possible" in cells[7].lower(), "I1 message without 'possible': %r" % cells[7])

    # Markers: each alert once on its breast's charts (both breasts if none).
    for side in ("left", "right"):
        (ch,) = charts(page, "temperature", side)
        marks = list(ch.svg.find_all("g", cls="alert-marker"))
        mine = [a for a in alerts if text(a["side"]) == side
                or text(a["side"]) not in ("left", "right")]
        check(len(marks) == len(mine), "%s chart: %d alert markers, file has %d"
              % (side, len(marks), len(mine)))
        # At the time of the sample that raised it (detection's t_device_us),
        # not when the row reached the recorder.
        for g, a in zip(marks, mine):
            h = ch.hours_of_px(float(next(g.find_all("line")).attrs["x1"]))
            want_h = (int(a["t_device_us"]) - t0) / 3.6e9
            check(abs(h - want_h) < 0.01, "%s %s marker at %.3f h, raised at %.3f h"
                  % (text(a["rule"]), text(a["state"]), h, want_h))

    ev_rows = list(next(page.root.find_all("table", cls="events")).find_all("tr", cls="event-row"))
    check([r.attrs["data-kind"] for r in ev_rows] == [text(e["kind"]) for e in events],
          "events table differs from /events")
    check(any(text(e["kind"]) == "link-down" for e in events), "no link-down at end of file")

    # The last acquire stats row, counter by counter.
    acq_rows = [s for s in stats if text(s["source"]) == "acquire"]
    check(acq_rows, "no acquire stats in the file")
    counters = {tr.attrs["data-counter"]: [c.all_text() for c in tr.children][1]
                for tr in page.root.find_all("tr") if "data-counter" in tr.attrs}
    for k in ("frames", "crc_errors", "frames_missing", "reconnects", "zmq_dropped"):
        check(counters[k] == str(int(acq_rows[-1][k])), "%s: %s vs %s"
              % (k, counters[k], acq_rows[-1][k]))

    # The I1 heat map: coloured by what the rules compare (dL), the warm
    # zone is the warmest of its breast, by more than T2's 1.0 C.
    for m in page.root.find_all("div", cls="moment", data_kind="alert"):
        if "I1" not in m.all_text():
            continue
        hm = next(m.find_all("svg", cls="heatmap", data_qty="temperature"))
        z = next(hm.find_all("path", cls="alert-zone"))
        check(int(z.attrs["data-zone"]) == WARM_ZONE, "I1 outlines zone %s" % z.attrs["data-zone"])
        vals = heatmap_values(hm)
        side, v = vals[WARM_ZONE]
        check(v is not None and v > 1.0, "I1 zone dL %s" % v)
        others = [w for zz, (sd, w) in vals.items() if sd == side and zz != WARM_ZONE]
        check(all(w is None or w < v for w in others), "I1 zone %.2f not the warmest: %s"
              % (v, vals))
        break
    else:
        check(False, "no heat map for I1")
    # ...and the summary box leads with it.
    fnd = next(page.root.find_all("div", cls="finding"))
    check(fnd.attrs["data-rule"] == "I1" and fnd.attrs["data-zone"] == str(WARM_ZONE),
          "summary box leads with %s at %s" % (fnd.attrs["data-rule"], fnd.attrs["data-zone"]))


if __name__ == "__main__":
    dwtest.main(fixture=dwtest.Run)
