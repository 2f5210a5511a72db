"""ductwatch log: usage errors (exit 2), nobody listening (exit 1), and the
event reaching a real REP socket and a real ductwatch-acquire."""
import json
import os
import socket
import sys
import threading

import zmq

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import dwtest  # noqa: E402
from dwtest import case, check  # noqa: E402
from dwtest.garment import fixed_garment  # noqa: E402


def run(t, args, env=None):
    return t.run(["ductwatch"] + args, timeout=20, env=env)


@case()
def test_nothing_listening_ipc(t):
    r = run(t, ["log", "feed-start"])
    check(r.returncode == 1, "exit %d, want 1" % r.returncode)
    check("no ductwatch-acquire is listening on ipc://%s/events" % t.rundir in r.stderr, r.stderr)


@case()
def test_nothing_listening_tcp(t):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    r = run(t, ["log", "shower", "--events", "tcp://127.0.0.1:%d" % port])
    check(r.returncode == 1, "exit %d, want 1" % r.returncode)
    check("no ductwatch-acquire is listening on tcp://127.0.0.1:%d" % port in r.stderr, r.stderr)


@case()
def test_bad_usage(t):
    for args in (["log"], ["log", "bogus"], ["log", "thermometer"],
                 ["log", "thermometer", "50"], ["log", "thermometer", "abc"],
                 ["log", "feed-start", "--side", "middle"], ["log", "feed-start", "3"],
                 ["log", "button"], ["log", "link-down"], ["log", "shower", "--frobnicate"],
                 ["log", "symptom", "--text", "x" * 65]):
        r = run(t, args)
        check(r.returncode == 2, "%s: exit %d, want 2" % (args, r.returncode))
        check(r.stderr.startswith("ductwatch log: "), "%s: %r" % (args, r.stderr))
        check(len(r.stderr.splitlines()) <= 2, "one-line reason: %r" % r.stderr)


def rep_stub(t, ep, replies):
    """A REP socket on ep answering the requests it gets with replies, in a
    thread; returns (thread, the requests)."""
    rep = t.ctx.socket(zmq.REP)
    rep.setsockopt(zmq.LINGER, 0)
    rep.bind(ep)
    got = []

    def serve():
        for answer in replies:
            if not rep.poll(10000):
                break
            got.append(json.loads(rep.recv()))
            rep.send(answer)
        rep.close()

    th = threading.Thread(target=serve)
    th.start()
    return th, got


@case()
def test_request_json_on_rep_stub(t):
    th, got = rep_stub(t, "ipc://%s/events" % t.rundir,
                       [b'{"ok":true,"seq":7}', b'{"ok":false,"error":"no garment data yet"}'])
    r = run(t, ["log", "thermometer", "38.4", "--side", "left", "--text", "after nap"])
    check(r.returncode == 0, "exit %d: %s" % (r.returncode, r.stderr))
    check("seq 7" in r.stdout, r.stdout)
    r2 = run(t, ["log", "feed-end"])
    th.join()
    check(got[0] == {"kind": "thermometer", "side": "left", "value": 38.4, "text": "after nap"},
          "request %r" % got[0])
    check(got[1] == {"kind": "feed-end", "side": "none", "value": None, "text": ""},
          "request %r" % got[1])
    check(r2.returncode == 1, "refused: exit %d" % r2.returncode)
    check("no garment data yet" in r2.stderr, r2.stderr)


@case()
def test_finds_running_pipeline(t):
    """Without DUCTWATCH_RUNTIME_DIR, RUN/current (made by ductwatch run)
    leads to the running pipeline's events endpoint."""
    env = dict(t.env, XDG_RUNTIME_DIR=t.rundir)
    del env["DUCTWATCH_RUNTIME_DIR"]
    base = os.path.join(t.rundir, "ductwatch")
    os.mkdir(base, 0o700)
    os.mkdir(os.path.join(base, "run-abc123"), 0o700)
    os.symlink("run-abc123", os.path.join(base, "current"))
    th, got = rep_stub(t, "ipc://%s/run-abc123/events" % base, [b'{"ok":true,"seq":1}'])
    r = run(t, ["log", "shower"], env)
    th.join()
    check(r.returncode == 0, "exit %d: %s" % (r.returncode, r.stderr))
    check(got and got[0]["kind"] == "shower", "request %r" % got)


@case()
def test_event_through_real_acquire(t):
    pub = fixed_garment(t)
    sub = dwtest.subscribe(t.ctx, pub, topic=b"event.")
    # acquire needs a frame before it can stamp an event (fixed_garment
    # saw one come out)
    r = run(t, ["log", "ice-pack", "--side", "right", "--text", "evening"])
    check(r.returncode == 0, "exit %d: %s" % (r.returncode, r.stderr))
    r = run(t, ["log", "thermometer", "38.6"])
    check(r.returncode == 0, "exit %d: %s" % (r.returncode, r.stderr))
    seen = []
    # (acquire's backlog replays them if the subscription came late)
    while len(seen) < 2:
        check(sub.poll(20000), "user events seen: %r" % seen)
        topic, body = sub.recv_multipart()
        e = json.loads(body)
        if e.get("source") == "user" and e not in [x for _, x in seen]:
            seen.append((topic.decode(), e))
    (t1, e1), (t2, e2) = seen
    check(t1 == "event.testbra-01", t1)
    check((e1["kind"], e1["side"], e1["text"]) == ("ice-pack", "right", "evening"), e1)
    check((e2["kind"], e2["value"]) == ("thermometer", 38.6), e2)
    check(e2["seq"] > e1["seq"], "stream order")


if __name__ == "__main__":
    dwtest.main(fixture=dwtest.Run)
