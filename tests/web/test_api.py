"""ductwatch-web's HTTP API against the real pipeline (simulator, acquire,
detect, record): every endpoint, every bad input with its status code, the
token and same-origin rules, the event stream, reports, and the stream
unharmed while 20 clients hammer the API. Real sockets, real HTTP (Python's
http.client), files read back with h5py. A case runs alone with its name as
the argument."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import dwtest  # noqa: E402
from dwtest import case, prog  # noqa: E402
from weblib import (Pipeline, EventStream, Web, check, get_json, private_env,  # noqa: E402
                    request, wait_for)

# The cases share one pipeline (made by the first that needs it).
SHARED = True
TMP = None      # the cases' directory, made when the file runs
P = None
SUB = None
DEV = "dwsim-01"


def pipeline():
    global P, SUB
    if P is None:
        # 200 samples a second: enough traffic for the hammering case to
        # matter, little enough for a loaded CI machine
        P = Pipeline(TMP, ["--scenario", "healthy", "--rate", "200", "--duration", "2h"],
                     subscribers=1)
        SUB = P.subscriber()
        wait_for(lambda: get_json(P.web, "/api/garments")["garments"] and
                 get_json(P.web, "/api/garments")["garments"][0]["samples"] > 0, 15,
                 "the garment on /api/garments")
    return P


def post(body, headers=None, auth=True, raw=None):
    w = pipeline().web
    if raw is not None:
        headers = dict({"Content-Type": "application/json"}, **(headers or {}))
    st, h, b = request(w, "POST", "/api/events", body=raw if raw is not None else body,
                       headers=headers, auth=auth)
    return st, h, json.loads(b) if b else None


@case(timeout=30)
def test_usage():
    def run(*args, env=None):
        return subprocess.run([prog("ductwatch-web")] + list(args), capture_output=True, text=True, timeout=20,
                              env=env)
    p = run("--help")
    check(p.returncode == 0 and "url: http" in p.stdout, "--help")
    check(run("--version").returncode == 0, "--version")
    for args, why in ((["--listen", "0.0.0.0:8080"], "tls-cert"), (["--listen", "[::]:8080"], "tls"),
                      (["--listen", "192.0.2.7:8080"], "tls"), (["--listen", "nope"], "listen"),
                      (["--listen", "127.0.0.1:70000"], "listen"), (["--tls-cert", "x"], "together"),
                      (["--notify-level", "L1"], "on-alert"),
                      (["--on-alert", "x", "--notify-level", "L9"], "notify-level"),
                      (["--renotify", "soon"], "renotify"), (["--bogus"], "unknown option"),
                      (["extra"], "unexpected")):
        p = run(*args)
        check(p.returncode == 2 and why in p.stderr and len(p.stderr.splitlines()) == 2,
              "%s: %d %s" % (args, p.returncode, p.stderr))
    # a token file others can read is refused
    env, run_dir = private_env(tempfile.mkdtemp(prefix="dwweb-tok-", dir=TMP))
    tok = os.path.join(run_dir, "web-token")
    with open(tok, "w") as f:
        f.write("a" * 40 + "\n")
    os.chmod(tok, 0o644)
    p = run("--listen", "127.0.0.1:0", env=env)
    check(p.returncode == 1 and "chmod 600" in p.stderr, "0644 token: %d %s" % (p.returncode, p.stderr))
    os.chmod(tok, 0o600)
    w = Web(env, [])
    try:
        check(w.token == "a" * 40, "the kept token is used")
    finally:
        w.stop()


@case(timeout=30)
def test_page_files():
    w = pipeline().web
    st, h, body = request(w, "GET", "/", auth=False)
    check(st == 200 and h["content-type"].startswith("text/html"), "GET /: %d %s" % (st, h))
    check(b"<script src=\"/app.js\"" in body, "the page")
    check("script-src 'self'" in h["content-security-policy"], "CSP: %s" % h)
    check(h["x-content-type-options"] == "nosniff" and "set-cookie" not in h, "headers %s" % h)
    for path, typ in (("/app.js", "text/javascript"), ("/app.css", "text/css"),
                      ("/icon.svg", "image/svg+xml"), ("/index.html", "text/html")):
        st, h, body = request(w, "GET", path, auth=False)
        check(st == 200 and h["content-type"].startswith(typ) and body, "GET %s: %d" % (path, st))
    st, h, body = request(w, "GET", "/nothing-here", auth=False)
    check(st == 404 and json.loads(body)["error"], "unknown file: %d %s" % (st, body))
    st, h, body = request(w, "POST", "/", body="x", auth=False)
    check(st == 405 and "GET" in h["allow"], "POST /: %d %s" % (st, h))


@case(timeout=30)
def test_login_cookie():
    w = pipeline().web
    st, h, _ = request(w, "GET", "/?token=" + w.token, auth=False)
    check(st == 303 and h["location"] == "/", "the link: %d %s" % (st, h))
    c = h["set-cookie"]
    check(c.startswith("dw_token=" + w.token + ";") and "HttpOnly" in c and
          "SameSite=Strict" in c and "Path=/" in c, "cookie: %s" % c)
    st, h, body = request(w, "GET", "/?token=" + "0" * 40, auth=False)
    check(st == 200 and "set-cookie" not in h, "a wrong token gets the page, no cookie: %d" % st)
    cookie = {"Cookie": "dw_token=" + w.token}
    st, _, body = request(w, "GET", "/api/garments", headers=cookie, auth=False)
    check(st == 200, "cookie: %d" % st)


@case(timeout=30)
def test_token_required():
    w = pipeline().web
    for path in ("/api/garments", "/api/state/" + DEV, "/api/alerts", "/api/events",
                 "/api/log", "/api/log.csv", "/api/trend/%s?zone=0" % DEV, "/api/stream",
                 "/api/sessions", "/api/nothing", "/sessions/x.html"):
        for auth in (False, "Bearer " + "0" * 40, "Bearer", "Basic " + w.token, "bearer " + w.token):
            st, h, body = request(w, "GET", path, auth=auth)
            check(st == 401 and json.loads(body) == {"error": "missing or wrong token"},
                  "%s with %r: %d %s" % (path, auth, st, body))
        st, _, body = request(w, "GET", path, auth=False, headers={"Cookie": "dw_token=abc"})
        check(st == 401, "%s wrong cookie: %d" % (path, st))
    st, _, body = request(w, "POST", "/api/events", body={"kind": "feed-start"}, auth=False)
    check(st == 401, "POST without token: %d" % st)
    check(not SUB.user_events(), "a refused request reached acquire: %s" % SUB.user_events())


@case(timeout=60)
def test_garments_state():
    w = pipeline().web
    g = get_json(w, "/api/garments")["garments"]
    check(len(g) == 1 and g[0]["device"] == DEV and g[0]["rate_hz"] == 200 and
          g[0]["n_zones"] == 16 and g[0]["link_up"] is True and
          g[0]["firmware"].startswith("dwsim-") and g[0]["last_sample_host_ns"] > 0,
          "garments: %s" % g)
    s = get_json(w, "/api/state/" + DEV)
    check(len(s["zones"]) == 16 and s["zones"][0]["name"] == "left upper-outer inner" and
          s["zones"][0]["neighbours"], "zones: %s" % s["zones"][:2])
    v = s["values"]
    check(len(v["t"]) == 16 and all(20 < t < 40 for t in v["t"]), "values: %s" % v)
    check(set(s) >= {"garment", "zones", "values", "link", "alerts", "events", "feeding",
                     "garment_off"}, "state members: %s" % sorted(s))
    for path in ("/api/state/nope", "/api/state/", "/api/state"):
        st, _, body = request(w, "GET", path)
        check(st == 404 and json.loads(body)["error"], "%s: %d %s" % (path, st, body))


@case(timeout=30)
def test_post_event_forwarded():
    st, _, r = post({"kind": "feed-start", "side": "left", "id": "api-tap-1"})
    check(st == 200 and r["ok"] is True and r["seq"] > 0 and r["duplicate"] is False,
          "POST: %d %s" % (st, r))
    e = wait_for(lambda: [e for e in SUB.user_events("feed-start") if e["seq"] == r["seq"]], 5,
                 "the event on acquire's stream")[0]
    check(e["side"] == "left" and e["device"] == DEV, "event %s" % e)
    # the same tap again: the first answer, nothing sent
    st, _, r2 = post({"kind": "feed-start", "side": "left", "id": "api-tap-1"})
    check(st == 200 and r2["seq"] == r["seq"] and r2["duplicate"] is True, "again: %s" % r2)
    time.sleep(0.5)
    check(len(SUB.user_events("feed-start")) == 1, "sent twice: %s" % SUB.user_events())
    ev = get_json(w_(), "/api/events?device=" + DEV)
    check(any(x["seq"] == r["seq"] and x["kind"] == "feed-start" for x in ev["events"]),
          "GET /api/events lacks it")
    # every user kind the page and `ductwatch log` have
    for body in ({"kind": "feed-end", "side": "left"}, {"kind": "thermometer", "value": 37.2},
                 {"kind": "ice-pack"}, {"kind": "heat-pack", "side": "right"}, {"kind": "shower"},
                 {"kind": "garment-off"}, {"kind": "garment-on"},
                 {"kind": "symptom", "text": "sore, red patch"}, {"kind": "pump-start"},
                 {"kind": "pump-end"}, {"kind": "cancel", "value": r["seq"], "text": "feed-start"},
                 {"kind": "alert-seen", "text": "1"}, {"kind": "feed-start", "device": DEV}):
        st, _, rr = post(body)
        check(st == 200 and rr["ok"], "%s: %d %s" % (body, st, rr))
        wait_for(lambda: [e for e in SUB.user_events(body["kind"]) if e["seq"] == rr["seq"]], 5,
                 "%s on the stream" % body)
    cancel = [e for e in SUB.user_events("cancel")][0]
    check(cancel["value"] == r["seq"], "cancel's value: %s" % cancel)
    ev = get_json(w_(), "/api/events?device=" + DEV)["events"]
    check([x["cancelled"] for x in ev if x["seq"] == r["seq"]] == [True], "not marked cancelled")


@case(timeout=30)
def test_post_bad_inputs():
    w = pipeline().web
    before = len(SUB.user_events())
    cases = [
        ("not json", "{nope", 400, "not a JSON object"),
        ("an array", "[1]", 400, "not a JSON object"),
        ("trailing bytes", '{"kind":"shower"} x', 400, "bytes after"),
        ("no kind", "{}", 400, "kind"),
        ("unknown kind", '{"kind":"dance"}', 400, "kind"),
        ("acquire's own kind", '{"kind":"link-down"}', 400, "kind"),
        ("a garment's kind", '{"kind":"button"}', 400, "kind"),
        ("bad side", '{"kind":"feed-start","side":"middle"}', 400, "side"),
        ("thermometer without value", '{"kind":"thermometer"}', 400, "thermometer"),
        ("thermometer too low", '{"kind":"thermometer","value":29.9}', 400, "thermometer"),
        ("thermometer as text", '{"kind":"thermometer","value":"38"}', 400, "value"),
        ("value where none goes", '{"kind":"shower","value":1}', 400, "no \\\"value\\\""),
        ("cancel without seq", '{"kind":"cancel"}', 400, "cancel"),
        ("cancel of a fraction", '{"kind":"cancel","value":1.5}', 400, "cancel"),
        ("symptom without text", '{"kind":"symptom"}', 400, "symptom"),
        ("alert-seen without id", '{"kind":"alert-seen","text":"x"}', 400, "alert"),
        ("text too long", json.dumps({"kind": "shower", "text": "x" * 65}), 400, "text"),
        ("control character", json.dumps({"kind": "shower", "text": "a\u0007b"}), 400, "text"),
        ("unknown member", '{"kind":"shower","when":1}', 400, "unknown member"),
        ("twice", '{"kind":"shower","kind":"shower"}', 400, "twice"),
        ("bad device", '{"kind":"shower","device":"a b"}', 400, "device"),
        ("bad tap id", '{"kind":"shower","id":"a/b"}', 400, "id"),
    ]
    for what, raw, status, why in cases:
        st, _, r = post(None, raw=raw)
        check(st == status and re.search(why, r["error"]), "%s: %d %s" % (what, st, r))
    st, _, r = post(None, raw='{"kind":"shower","text":"' + "x" * 5000 + '"}')
    check(st == 413 and "too long" in r["error"], "a long body: %d %s" % (st, r))
    st, _, r = post(None, raw='{"kind":"shower"}', headers={"Content-Type": "text/plain"})
    check(st == 415, "text/plain: %d %s" % (st, r))
    st, _, r = post({"kind": "shower", "device": "another-bra"})
    check(st == 409 and "wrong device" in r["error"] and r["ok"] is False,
          "acquire's refusal: %d %s" % (st, r))
    # cookie: a browser's request must come from the page's own origin
    cookie = {"Cookie": "dw_token=" + w.token}
    st, _, r = post({"kind": "shower"}, headers=cookie, auth=False)
    check(st == 403, "cookie without Origin: %d %s" % (st, r))
    st, _, r = post({"kind": "shower"}, headers=dict(cookie, Origin="http://evil.example"),
                    auth=False)
    check(st == 403, "cookie from another origin: %d %s" % (st, r))
    st, _, r = post({"kind": "shower"}, headers=dict(cookie, Origin="null"), auth=False)
    check(st == 403, "cookie from origin null: %d %s" % (st, r))
    st, _, r = post({"kind": "shower"}, headers={"Origin": "http://evil.example"})
    check(st == 403, "bearer from another origin: %d %s" % (st, r))
    st, _, r = request(w, "PUT", "/api/events", body="{}")
    check(st == 405 and "POST" in _["allow"], "PUT: %d" % st)
    time.sleep(0.5)
    check(len(SUB.user_events()) == before, "a refused request was forwarded: %s"
          % SUB.user_events()[before:])
    st, _, r = post({"kind": "shower"}, headers=dict(cookie, Origin=w.base), auth=False)
    check(st == 200, "cookie from the page's origin: %d %s" % (st, r))


@case(timeout=30)
def test_lists():
    w = pipeline().web
    ev = get_json(w, "/api/events")
    check(ev["last"] >= len(ev["events"]) > 0, "events: %s" % ev)
    last = ev["last"]
    check(get_json(w, "/api/events?since=%d" % last)["events"] == [], "since=last")
    check(len(get_json(w, "/api/events?limit=1")["events"]) == 1, "limit=1")
    al = get_json(w, "/api/alerts?device=" + DEV)
    check("alerts" in al and "last" in al, "alerts: %s" % al)
    for path, status in (("/api/events?since=x", 400), ("/api/events?since=-1", 400),
                         ("/api/events?limit=0", 400), ("/api/alerts?limit=99999", 400),
                         ("/api/alerts?since=1e3", 400), ("/api/events?device=nope", 404),
                         ("/api/alerts?device=nope", 404)):
        st, _, body = request(w, "GET", path)
        check(st == status and json.loads(body)["error"], "%s: %d %s" % (path, st, body))


@case(timeout=30)
def test_log_and_csv():
    w = pipeline().web
    post({"kind": "feed-start", "side": "right"})
    time.sleep(1.1)
    post({"kind": "feed-end", "side": "right"})
    post({"kind": "thermometer", "value": 37.9})
    post({"kind": "symptom", "text": "=cmd|' /C calc'!A0"})
    rows = wait_for(lambda: [r for r in get_json(w, "/api/log?device=" + DEV)["rows"]
                             if r["kind"] == "thermometer"], 5, "the log")
    log = get_json(w, "/api/log")["rows"]
    feeds = [r for r in log if r["kind"] == "feed" and r["side"] == "right"]
    check(feeds and feeds[-1]["ended"] and feeds[-1]["duration_s"] >= 1, "feed row: %s" % feeds)
    check(rows[-1]["value"] == 37.9, "thermometer row %s" % rows)
    st, h, body = request(w, "GET", "/api/log.csv?hours=48")
    text = body.decode()
    check(st == 200 and h["content-type"].startswith("text/csv") and
          "attachment" in h["content-disposition"], "csv: %d %s" % (st, h))
    lines = text.split("\r\n")
    check(lines[0] == "start_utc,kind,side,duration_min,gap_min,value_c,text", lines[0])
    check(any(",thermometer,none,,,37.9," in l for l in lines), "csv rows: %s" % lines)
    check(any("\"'=cmd" in l for l in lines), "a formula in the CSV: %s" % lines)
    for path in ("/api/log?hours=0", "/api/log?hours=49", "/api/log.csv?device=nope"):
        st, _, body = request(w, "GET", path)
        check(st in (400, 404) and json.loads(body)["error"], "%s: %d" % (path, st))


@case(timeout=30)
def test_trend():
    w = pipeline().web
    t = get_json(w, "/api/trend/%s?zone=3&hours=1" % DEV)
    check(t["zone"] == 3 and t["step_s"] == 60 and 1 <= len(t["t"]) <= 60 and
          len(t["t"]) == len(t["p"]) and t["t"][-1] is not None, "trend: %s" % t)
    for path, status in (("/api/trend/%s" % DEV, 400), ("/api/trend/%s?zone=16" % DEV, 400),
                         ("/api/trend/%s?zone=-1" % DEV, 400), ("/api/trend/nope?zone=0", 404),
                         ("/api/trend/%s?zone=0&hours=49" % DEV, 400), ("/api/trend?zone=0", 404)):
        st, _, body = request(w, "GET", path)
        check(st == status and json.loads(body)["error"], "%s: %d %s" % (path, st, body))


@case(timeout=30)
def test_event_stream():
    w = pipeline().web
    es = EventStream(w)
    try:
        wait_for(lambda: es.named("ready"), 5, "the state first")
        names = [n for _, n, _ in es.events]
        check(names[:3] == ["garments", "state", "ready"], "first messages: %s" % names[:5])
        wait_for(lambda: len(es.named("values")) >= 3, 5, "values")
        t0 = time.monotonic()
        time.sleep(5)
        n = len([1 for t, d in es.named("values") if t >= t0])
        # 200 samples a second in, at most 2 updates a second out
        check(2 <= n <= 11, "%d value updates in 5 s" % n)
        st, _, r = post({"kind": "ice-pack", "side": "left"})
        wait_for(lambda: [d for _, d in es.named("ev") if d["seq"] == r["seq"]], 5,
                 "the event on the page's stream")
        wait_for(lambda: es.named("link"), 5, "link state (acquire's stats every 2 s)")
        link = es.named("link")[-1][1]
        check(link["link_up"] is True and "crc_errors" in link, "link: %s" % link)
    finally:
        es.close()


@case(timeout=30)
def test_tap_ids_survive_a_restart():
    """A tap the server forwarded, sent again after the server restarted
    (its answer lost on the way): the first answer again, nothing sent."""
    st, _, r = post({"kind": "heat-pack", "side": "left", "id": "restart-tap-7"})
    check(st == 200 and not r["duplicate"], "first: %d %s" % (st, r))
    wait_for(lambda: [e for e in SUB.user_events("heat-pack") if e["seq"] == r["seq"]], 5, "it")
    P.web.stop()
    P.web.start()
    st, _, r2 = post({"kind": "heat-pack", "side": "left", "id": "restart-tap-7"})
    check(st == 200 and r2["duplicate"] is True and r2["seq"] == r["seq"],
          "after the restart: %d %s" % (st, r2))
    time.sleep(0.5)
    check(len([e for e in SUB.user_events("heat-pack") if e["side"] == "left"]) == 1,
          "sent twice")
    taps = os.path.join(P.run, "web-token.taps")
    check(os.stat(taps).st_mode & 0o777 == 0o600 and "restart-tap-7 %d" % r["seq"] in
          open(taps).read(), "the ids file")


@case(timeout=60)
def test_log_after_restart():
    """After a restart of the server, the feeding log comes back from the
    session file (--dir): the feed is there, marked as read from the file."""
    w = pipeline().web
    st, _, a = post({"kind": "feed-start", "side": "left"})
    time.sleep(1.1)
    st2, _, b = post({"kind": "feed-end", "side": "left"})
    check(st == st2 == 200, "posts: %s %s" % (a, b))
    wait_for(lambda: {a["seq"], b["seq"]} <= {r["seq"] for r in P.h5_events()}, 15,
             "the feed in the session file")
    w.stop()
    w.start()
    ev = get_json(w, "/api/events?device=" + DEV)["events"]
    mine = [x for x in ev if x["seq"] in (a["seq"], b["seq"])]
    check(len(mine) == 2 and all(x["from_file"] for x in mine), "after the restart: %s" % mine)
    rows = [r for r in get_json(w, "/api/log?device=" + DEV)["rows"] if r["seq"] == a["seq"]]
    check(len(rows) == 1 and rows[0]["kind"] == "feed" and rows[0]["side"] == "left" and
          rows[0]["ended"] and rows[0]["duration_s"] >= 1, "the log after the restart: %s" % rows)


@case(timeout=90)
def test_hammer_no_gaps():
    """20 clients hammering the API for 10 s: acquire's stream reaches the
    web server and the recorder without a hole, and the server's own
    subscription counts none."""
    w = pipeline().web
    stop = [False]
    counts = [0] * 20
    errors = []
    paths = ["/api/garments", "/api/state/" + DEV, "/api/events", "/api/alerts",
             "/api/log", "/api/trend/%s?zone=1&hours=2" % DEV, "/api/log.csv", "/app.js"]

    def client(i):
        k = 0
        while not stop[0]:
            try:
                if i % 5 == 0 and k % 4 == 0:
                    path = "POST /api/events"
                    st, _, _ = request(w, "POST", "/api/events",
                                       body={"kind": "symptom", "text": "hammer %d" % i})
                else:
                    path = paths[(i + k) % len(paths)]
                    st, _, _ = request(w, "GET", path)
                if st != 200:
                    errors.append((st, path))
                counts[i] += 1
            except OSError as e:
                errors.append(str(e))
            k += 1

    # The garment known from the session file's log after a restart of
    # the server (log-after-restart) has no trend until acquire's HELLO
    # reaches it ("no data yet", a 404; docs/web.md section 6): hammer a
    # server that has it.
    wait_for(lambda: request(w, "GET", paths[5])[0] == 200, 10, "the garment's trend")
    before = get_json(w, "/api/state/" + DEV)["link"]
    seq0 = len(SUB.acq_seqs)
    threads = [threading.Thread(target=client, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    time.sleep(10)
    stop[0] = True
    for t in threads:
        t.join(30)
    after = get_json(w, "/api/state/" + DEV)["link"]
    print("hammer: %d requests by 20 clients in 10 s, %d errors; stream messages seen %d"
          % (sum(counts), len(errors), len(SUB.acq_seqs) - seq0))
    check(not errors, "errors: %s" % errors[:5])
    check(after["stream_gaps"] == before["stream_gaps"] == 0 and after["stream_missing"] == 0,
          "the web server's subscription lost messages: %s" % after)
    check(after["stream_received"] - before["stream_received"] > 1000, "the stream stalled: %s"
          % after)
    check(SUB.gaps() == 0, "the test's subscriber saw %d missing" % SUB.gaps())


@case(timeout=60)
def test_record_has_every_frame():
    """The recorder, beside the hammered server, has acquire's stream whole
    (the garment, acquire and the recorder stopped first, so that the file
    is closed: a file being written shows each table as far as its last
    flush)."""
    import h5py
    pipeline()
    for name in ("sim", "acquire", "record"):
        P.stop_proc(name)
    for f in P.h5_files():
        with h5py.File(f, "r", swmr=True) as h:
            seqs = sorted(set(int(s) for s in h["frames/seq"][()]) |
                          set(int(r["seq"]) for r in h["events"][()] if r["source"] != b"record") |
                          set(int(r["seq"]) for r in h["stats"][()] if r["source"] == b"acquire") |
                          set(int(s) for s in h["hellos"]["seq"][()]) |
                          set(int(s) for s in h["device_status"]["seq"][()]))
            holes = [(a, b) for a, b in zip(seqs, seqs[1:]) if b != a + 1]
            check(seqs and not holes, "%s: holes in the recorded stream %s" % (f, holes[:5]))


@case(timeout=60)
def test_sessions_and_report():
    w = pipeline().web
    s = wait_for(lambda: get_json(w, "/api/sessions")["sessions"], 10, "a session file")
    f = s[0]
    check(f["device"] == DEV and f["file"].endswith(".h5") and f["bytes"] > 0 and
          f["report"] == "/sessions/" + f["file"][:-3] + ".html", "sessions: %s" % s)
    st, h, body = request(w, "GET", f["report"], timeout=120)
    check(st == 200 and h["content-type"].startswith("text/html") and b"<svg" in body and
          DEV.encode() in body, "report: %d %s" % (st, body[:200]))
    check("style-src 'unsafe-inline'" in h["content-security-policy"], "report CSP %s" % h)
    check(os.path.exists(os.path.join(P.dir, f["file"][:-3] + ".html")), "not cached")
    for path in ("/sessions/nope.html", "/sessions/..%2F..%2Fetc%2Fpasswd.html",
                 "/sessions/%2Fetc%2Fpasswd.html", "/sessions/.hidden.html",
                 "/sessions/" + f["file"], "/sessions/"):
        st, _, body = request(w, "GET", path)
        check(st == 404 and json.loads(body)["error"], "%s: %d %s" % (path, st, body[:100]))


@case(timeout=30)
def test_acquire_not_answering():
    d = tempfile.mkdtemp(prefix="dwweb-noacq-", dir=TMP)
    env, _ = private_env(d)
    log = os.path.join(d, "web.log")
    w = Web(env, ["--events", "ipc://" + os.path.join(TMP, "nobody-here")], log=log)
    try:
        # a refusal is logged with its reason (at most 20 lines per 10 s)
        st, _, _ = request(w, "POST", "/api/events", body={"kind": "dance"})
        check(st == 400, "unknown kind: %d" % st)
        wait_for(lambda: 'POST /api/events: 400 bad or missing "kind"' in open(log).read(), 5,
                 "the refusal in the log")
        t0 = time.monotonic()
        st, _, body = request(w, "POST", "/api/events", body={"kind": "shower"})
        dt = time.monotonic() - t0
        check(st == 504 and json.loads(body)["ok"] is False and 2 < dt < 10,
              "no acquire: %d %s after %.1f s" % (st, body, dt))
        # and the server still serves
        st, _, _ = request(w, "GET", "/api/garments")
        check(st == 200, "after a timeout: %d" % st)
    finally:
        w.stop()


@case(timeout=30)
def test_tls():
    d = tempfile.mkdtemp(prefix="dwweb-tls-", dir=TMP)
    key, cert = os.path.join(d, "k.pem"), os.path.join(d, "c.pem")
    p = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert,
                        "-days", "2", "-subj", "/CN=localhost"], capture_output=True)
    check(p.returncode == 0, "openssl: %s" % p.stderr)
    env, _ = private_env(d)
    w = Web(env, ["--tls-cert", cert, "--tls-key", key], listen="0.0.0.0:0")
    try:
        check(w.scheme == "https", "URL %s" % w.url)
        import ssl
        import http.client
        ctx = ssl.create_default_context(cafile=cert)
        ctx.check_hostname = False
        c = http.client.HTTPSConnection("127.0.0.1", w.port, context=ctx, timeout=10)
        c.request("GET", "/?token=" + w.token)
        r = c.getresponse()
        r.read()
        check(r.status == 303 and "; Secure" in r.getheader("Set-Cookie") and
              r.getheader("Strict-Transport-Security"), "https: %d %s" % (r.status, r.getheaders()))
        c.close()
    finally:
        w.stop()


def w_():
    return pipeline().web


def finish(failed):
    if SUB:
        SUB.close()
    if P:
        P.close()
    if failed:
        for name in ("web", "acquire", "detect", "record"):
            sys.stdout.write("--- %s log (end) ---\n%s\n" % (name, P.log(name)[-1500:] if P else ""))
    else:
        shutil.rmtree(TMP, ignore_errors=True)


if __name__ == "__main__":
    TMP = tempfile.mkdtemp(prefix="dwweb-api-")
    dwtest.main(finish=finish)
