#!/usr/bin/python3
"""What a person opening a session file with h5py sees (issue 20 item 7):
garment events that carry no value (a feed, a shower: the garment sends 0)
are stored as NaN, as docs/storage.md says, while a thermometer reading
keeps its value; temperature_c, pressure_kpa and status name their zones in
a `columns` attribute, in the order of /layout; and the device time of the
frames maps onto clock time as the docs' pandas recipe does it."""
import os
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import dwtest  # noqa: E402
import dwtest.wire as ds  # noqa: E402
from dwtest import case, check  # noqa: E402
from dwtest.record import Recorder  # noqa: E402

DEV = "bra-cols"
FEED_START, THERMOMETER, SHOWER = 1, 3, 6
LEFT, NONE = 0, 2


@case(timeout=60)
def case_events_and_columns(wd):
    ep = wd.ep("pub")
    p = ds.Publisher(ep, DEV)
    rec = Recorder(wd, [ep])
    p.wait_subscriber()
    g = ds.Garment(DEV, seed=5)
    p.frame(g.hello_frame())
    path = rec.wait_file()
    for i in range(300):
        p.frame(g.sample_frame())
        if i == 50:
            p.frame(g.event_frame(FEED_START, LEFT, 0))
        if i == 60:
            p.frame(g.event_frame(THERMOMETER, NONE, 38400, b"oral"))
        if i == 70:
            p.frame(g.event_frame(SHOWER, NONE, 0))
        if i == 80:
            p.event("ice-pack", "left", None, "user", t_us=g.t)
    rec.wait_rows(path, 300)   # everything arrived (the events came first)
    rc = rec.stop()
    check(rc == 0, "recorder exit %s; stderr: %s" % (rc, rec.err))

    with h5py.File(path, "r") as f:
        ev = f["events"][:]
        kinds = [k.decode() for k in ev["kind"]]
        val = dict(zip(kinds, ev["value"]))
        check(set(kinds) >= {"feed-start", "thermometer", "shower", "ice-pack"},
              "events %r" % kinds)
        check(np.isnan(val["feed-start"]), "garment feed-start value %r, want NaN"
              % val["feed-start"])
        check(np.isnan(val["shower"]), "garment shower value %r, want NaN" % val["shower"])
        check(np.isnan(val["ice-pack"]), "user ice-pack value %r, want NaN" % val["ice-pack"])
        check(abs(val["thermometer"] - 38.4) < 1e-9, "thermometer %r" % val["thermometer"])

        names = [n.decode() for n in f["layout"]["name"]]
        check(len(names) == 16 and names[0] == "left upper-outer inner", "layout %r" % names)
        for ds_name in ("temperature_c", "pressure_kpa", "status"):
            cols = f["frames/" + ds_name].attrs.get("columns")
            check(cols is not None, "%s has no columns attribute" % ds_name)
            cols = cols.decode() if isinstance(cols, bytes) else cols
            check(cols.split(", ") == names, "%s columns %r, want the layout's %r"
                  % (ds_name, cols, names))
            check(f["frames/" + ds_name].shape[1] == len(names), "%s width" % ds_name)

        # docs/storage.md: clock time from device time, for a session
        # simulated at any speed
        t = f["frames/t_device_us"][:].astype("int64")
        a = f.attrs
        clock_ns = int(a["session_start_ns"]) + (t - int(a["session_start_device_us"])) * 1000
        span_s = (clock_ns[-1] - clock_ns[0]) / 1e9
        check(abs(span_s - 29.9) < 1e-6, "clock span from device time %.6f s, want 29.9"
              % span_s)
        check(abs(clock_ns[0] - int(a["session_start_ns"])) < 1e9,
              "first frame's clock time is not the session start")


if __name__ == "__main__":
    dwtest.main(fixture=dwtest.Run)
