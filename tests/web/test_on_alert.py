"""ductwatch-web --on-alert with the real pipeline: a command that records
its stdin gets each L1+ alert's JSON (the body detect published) once, and
again when the alert's level rises; L0 alerts and clears run nothing; an
unacknowledged L2+ alert is repeated every --renotify until it is
acknowledged or cleared; a command that hangs is killed after its time-out and does
not hold back the alerts the server publishes meanwhile."""
import glob
import json
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import dwtest  # noqa: E402
from dwtest import case  # noqa: E402
from weblib import (Pipeline, EventStream, check, get_json, request, wait_for)  # noqa: E402

TMP = None      # the cases' directory, made when the file runs
RECORDER = """import os, sys, time
d = sys.argv[1]
data = sys.stdin.read()
name = os.path.join(d, "%d-%d.json" % (time.time_ns(), os.getpid()))
with open(name + ".tmp", "w") as f:
    json_env = {k: v for k, v in os.environ.items() if k.startswith("DW_ALERT_")}
    f.write(repr(json_env) + "\\n" + data)
os.rename(name + ".tmp", name)
"""


def recorder(d):
    os.makedirs(d, exist_ok=True)
    script = os.path.join(d, "..", os.path.basename(d) + "-rec.py")
    with open(script, "w") as f:
        f.write(RECORDER)
    return "/usr/bin/python3 '%s' '%s'" % (script, d)


def runs(d):
    out = []
    for f in sorted(glob.glob(os.path.join(d, "*.json"))):
        env, body = open(f).read().split("\n", 1)
        out.append((eval(env), body))
    return out


def notifiable(alerts, least=1):
    """What --on-alert must run for, from the alerts detect published:
    raised at the level or above, or an update to a higher level."""
    want, level = [], {}
    for a in alerts:
        lv = int(a["level"][1])
        key = (a["device"], a["id"])
        if a["state"] != "cleared" and lv >= least and lv > level.get(key, -1):
            want.append(a)
        level[key] = lv if a["state"] != "cleared" else -1
        if a["state"] == "cleared":
            level.pop(key, None)
    return want


def post_temp(w, value):
    st, _, body = request(w, "POST", "/api/events", body={"kind": "thermometer", "value": value})
    check(st == 200, "thermometer %s: %d %s" % (value, st, body))


@case(timeout=90)
def test_once_per_alert():
    """A blocked duct simulated fast (D1 at L1, L0 findings around it), then
    fevers logged by hand: one run per L1+ alert and per rise in level."""
    d = os.path.join(TMP, "runs1")
    tmp = os.path.join(TMP, "p1")
    os.mkdir(tmp)
    p = Pipeline(tmp, ["--scenario", "blocked-duct", "--seed", "1", "--duration", "42h",
                       "--side", "left", "--zone", "2", "--onset", "26h", "--rate", "1", "--fast"],
                 web_args=["--on-alert", recorder(d), "--renotify", "0"], subscribers=1,
                 record=False)
    sub = p.subscriber()
    try:
        wait_for(lambda: [a for a in sub.alerts if a["rule"] == "D1"], 120, "D1 from detect")
        wait_for(lambda: len(runs(d)) >= 1, 10, "the command's first run")
        post_temp(p.web, 38.2)   # G2, L2: a run
        wait_for(lambda: [a for a in sub.alerts if a["rule"] == "G2"], 10, "G2")
        post_temp(p.web, 38.3)   # still L2: no run
        post_temp(p.web, 38.9)   # G3, L3: a run
        wait_for(lambda: [a for a in sub.alerts if a["rule"] == "G3"], 10, "G3")
        post_temp(p.web, 36.9)   # cleared: no run
        wait_for(lambda: [a for a in sub.alerts if a["state"] == "cleared" and
                          a["rule"] in ("G2", "G3")], 10, "the fever cleared")
        time.sleep(2)
        want = notifiable(sub.alerts)
        got = runs(d)
        l0 = [a for a in sub.alerts if a["level"] == "L0"]
        print("%d alert messages from detect (%d at L0), %d to notify, %d runs"
              % (len(sub.alerts), len(l0), len(want), len(got)))
        check(l0, "no L0 alert in the scenario: the test proves less than it says")
        check(len(got) == len(want), "runs %s, want %s" % (
            [json.loads(b)["rule"] for _, b in got], [a["rule"] for a in want]))
        for (env, body), a in zip(got, want):
            check(json.loads(body) == a, "stdin %s, published %s" % (body[:200], a))
            check(env["DW_ALERT_RULE"] == a["rule"] and env["DW_ALERT_LEVEL"] == a["level"] and
                  env["DW_ALERT_MESSAGE"] == a["message"], "environment %s" % env)
    finally:
        sub.close()
        p.close()


def fever_pipeline(name, d, renotify):
    """A healthy garment's pipeline whose web server runs a recorder of its
    runs into d for alerts, repeating every renotify."""
    tmp = os.path.join(TMP, name)
    os.mkdir(tmp)
    return Pipeline(tmp, ["--scenario", "healthy", "--duration", "2h"],
                    web_args=["--on-alert", recorder(d), "--renotify", renotify], record=False)


def repeated_fever(p, d):
    """Logs 38.4 °C on the page's API and waits until the G2 it raises has
    been repeated twice; returns the runs' alerts."""
    wait_for(lambda: get_json(p.web, "/api/garments")["garments"], 10, "the garment")
    post_temp(p.web, 38.4)
    wait_for(lambda: len(runs(d)) >= 3, 15, "two repeats of the unacknowledged fever")
    g2 = [json.loads(b) for _, b in runs(d)]
    check(all(a["rule"] == "G2" and a["id"] == g2[0]["id"] for a in g2), "runs %s" % g2)
    return g2


@case(timeout=90)
def test_renotify_until_seen():
    d = os.path.join(TMP, "runs2")
    p = fever_pipeline("p2", d, "2s")
    try:
        g2 = repeated_fever(p, d)
        st, _, body = request(p.web, "POST", "/api/events",
                              body={"kind": "alert-seen", "text": str(g2[0]["id"])})
        check(st == 200, "alert-seen: %d %s" % (st, body))
        wait_for(lambda: [a for a in get_json(p.web, "/api/alerts")["alerts"] if a["acked"]], 5,
                 "the acknowledgement on the hub")
        n = len(runs(d))
        time.sleep(5)
        check(len(runs(d)) <= n + 1, "repeats after it was seen: %d -> %d" % (n, len(runs(d))))
    finally:
        p.close()


@case(timeout=90)
def test_renotify_until_cleared():
    """An unacknowledged L2 fever that clears (a normal reading logged) is
    not repeated any more: issue 17, "until it is acknowledged or
    cleared"."""
    d = os.path.join(TMP, "runs4")
    p = fever_pipeline("p4", d, "1s")
    try:
        g2 = repeated_fever(p, d)
        post_temp(p.web, 36.8)
        wait_for(lambda: [a for a in get_json(p.web, "/api/alerts")["alerts"]
                          if a["id"] == g2[0]["id"] and a["state"] == "cleared"], 5,
                 "the fever cleared on the hub")
        time.sleep(1.5)   # a run started before the clear may still be writing
        n = len(runs(d))
        time.sleep(5)     # five periods of --renotify
        after = [json.loads(b) for _, b in runs(d)][n:]
        check(not after, "repeated after it cleared: %s" % [(a["rule"], a["state"]) for a in after])
        print("%d runs of the fever before it cleared, none in the 5 s after" % n)
    finally:
        p.close()


@case(timeout=90)
def test_hanging_command():
    tmp = os.path.join(TMP, "p3")
    os.mkdir(tmp)
    p = Pipeline(tmp, ["--scenario", "healthy", "--duration", "2h"],
                 web_args=["--on-alert", "/usr/bin/sleep 600", "--on-alert-timeout", "4s"],
                 record=False)
    es = None
    try:
        wait_for(lambda: get_json(p.web, "/api/garments")["garments"], 10, "the garment")
        es = EventStream(p.web)
        wait_for(lambda: es.named("ready"), 5, "the page's stream")
        post_temp(p.web, 38.1)   # the command starts and hangs
        wait_for(lambda: [d for _, d in es.named("alert") if d["rule"] == "G2"], 5, "G2")
        t0 = time.monotonic()
        post_temp(p.web, 39.0)   # published while the command hangs
        wait_for(lambda: [d for _, d in es.named("alert") if d["rule"] == "G3"], 3,
                 "G3 on the page while the command hangs")
        dt = time.monotonic() - t0
        check(any(a["rule"] == "G3" for a in get_json(p.web, "/api/alerts")["alerts"]),
              "G3 not on /api/alerts")
        n0 = len(es.named("values"))
        time.sleep(1.5)
        check(len(es.named("values")) > n0, "the values stopped while the command hangs")
        wait_for(lambda: "killed" in p.log("web"), 10, "the hanging command killed and logged")
        print("G3 reached the page %.2f s after it was logged; the command: %s"
              % (dt, [l for l in p.log("web").splitlines() if "on-alert" in l]))
    finally:
        if es:
            es.close()
        p.close()


if __name__ == "__main__":
    TMP = tempfile.mkdtemp(prefix="dwweb-alert-")
    dwtest.main(finish=lambda failed: failed or shutil.rmtree(TMP, ignore_errors=True))
