"""ductwatch log: usage errors (exit 2), nobody listening (exit 1), and the
event reaching a real REP socket and a real ductwatch-acquire."""
import json
import os
import shutil
import socket
import threading
import time

import zmq

from toolslib import Fail, Garment, check, main, private_env, run


def test_nothing_listening_ipc():
    env, d = private_env()
    try:
        t0 = time.monotonic()
        r = run(["log", "feed-start"], env)
        check(r.returncode == 1, "exit %d, want 1" % r.returncode)
        check("no ductwatch-acquire is listening on ipc://%s/events" % d in r.stderr, r.stderr)
        check(time.monotonic() - t0 < 1.5, "ipc check should not wait for a reply")
    finally:
        shutil.rmtree(d)


def test_nothing_listening_tcp():
    env, d = private_env()
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    try:
        r = run(["log", "shower", "--events", "tcp://127.0.0.1:%d" % port], env)
        check(r.returncode == 1, "exit %d, want 1" % r.returncode)
        check("no ductwatch-acquire is listening on tcp://127.0.0.1:%d" % port in r.stderr, r.stderr)
    finally:
        shutil.rmtree(d)


def test_bad_usage():
    env, d = private_env()
    try:
        for args in (["log"], ["log", "bogus"], ["log", "thermometer"],
                     ["log", "thermometer", "50"], ["log", "thermometer", "abc"],
                     ["log", "feed-start", "--side", "middle"], ["log", "feed-start", "3"],
                     ["log", "button"], ["log", "link-down"], ["log", "shower", "--frobnicate"],
                     ["log", "symptom", "--text", "x" * 65]):
            r = run(args, env)
            check(r.returncode == 2, "%s: exit %d, want 2" % (args, r.returncode))
            check(r.stderr.startswith("ductwatch log: "), "%s: %r" % (args, r.stderr))
            check(len(r.stderr.splitlines()) <= 2, "one-line reason: %r" % r.stderr)
    finally:
        shutil.rmtree(d)


def test_request_json_on_rep_stub():
    env, d = private_env()
    ctx = zmq.Context.instance()
    rep = ctx.socket(zmq.REP)
    rep.setsockopt(zmq.LINGER, 0)
    rep.bind("ipc://%s/events" % d)
    got = []

    def serve():
        for _ in range(2):
            if not rep.poll(5000):
                return
            got.append(json.loads(rep.recv()))
            rep.send(b'{"ok":true,"seq":7}' if len(got) == 1 else b'{"ok":false,"error":"no garment data yet"}')

    th = threading.Thread(target=serve)
    th.start()
    try:
        r = run(["log", "thermometer", "38.4", "--side", "left", "--text", "after nap"], env)
        check(r.returncode == 0, "exit %d: %s" % (r.returncode, r.stderr))
        check("seq 7" in r.stdout, r.stdout)
        r2 = run(["log", "feed-end"], env)
        th.join()
        check(got[0] == {"kind": "thermometer", "side": "left", "value": 38.4, "text": "after nap"},
              "request %r" % got[0])
        check(got[1] == {"kind": "feed-end", "side": "none", "value": None, "text": ""},
              "request %r" % got[1])
        check(r2.returncode == 1, "refused: exit %d" % r2.returncode)
        check("no garment data yet" in r2.stderr, r2.stderr)
    finally:
        rep.close()
        shutil.rmtree(d)


def test_finds_running_pipeline():
    """Without DUCTWATCH_RUNTIME_DIR, RUN/current (made by ductwatch run)
    leads to the running pipeline's events endpoint."""
    env, xdg = private_env()
    del env["DUCTWATCH_RUNTIME_DIR"]
    env["XDG_RUNTIME_DIR"] = xdg
    base = os.path.join(xdg, "ductwatch")
    os.mkdir(base, 0o700)
    os.mkdir(os.path.join(base, "run-abc123"), 0o700)
    os.symlink("run-abc123", os.path.join(base, "current"))
    ctx = zmq.Context.instance()
    rep = ctx.socket(zmq.REP)
    rep.setsockopt(zmq.LINGER, 0)
    rep.bind("ipc://%s/run-abc123/events" % base)
    got = []

    def serve():
        if rep.poll(5000):
            got.append(json.loads(rep.recv()))
            rep.send(b'{"ok":true,"seq":1}')

    th = threading.Thread(target=serve)
    th.start()
    try:
        r = run(["log", "shower"], env)
        th.join()
        check(r.returncode == 0, "exit %d: %s" % (r.returncode, r.stderr))
        check(got and got[0]["kind"] == "shower", "request %r" % got)
    finally:
        rep.close()
        shutil.rmtree(xdg)


def test_event_through_real_acquire():
    env, d = private_env()
    g = Garment(env)
    ctx = zmq.Context.instance()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.SUBSCRIBE, b"event.")
    sub.connect(g.pub)
    try:
        g.wait_data(env)
        # acquire needs a frame before it can stamp an event; retry briefly.
        for _ in range(20):
            r = run(["log", "ice-pack", "--side", "right", "--text", "evening"], env)
            if r.returncode == 0 or "no garment data" not in r.stderr:
                break
            time.sleep(0.2)
        check(r.returncode == 0, "exit %d: %s" % (r.returncode, r.stderr))
        r = run(["log", "thermometer", "38.6"], env)
        check(r.returncode == 0, "exit %d: %s" % (r.returncode, r.stderr))
        seen = []
        end = time.monotonic() + 5
        while time.monotonic() < end and len(seen) < 2:
            if sub.poll(200):
                topic, body = sub.recv_multipart()
                e = json.loads(body)
                if e.get("source") == "user":
                    seen.append((topic.decode(), e))
        check(len(seen) == 2, "user events seen: %r" % seen)
        (t1, e1), (t2, e2) = seen
        check(t1 == "event.testbra-01", t1)
        check((e1["kind"], e1["side"], e1["text"]) == ("ice-pack", "right", "evening"), e1)
        check((e2["kind"], e2["value"]) == ("thermometer", 38.6), e2)
        check(e2["seq"] > e1["seq"], "stream order")
    finally:
        sub.close()
        g.close()
        shutil.rmtree(d)


if __name__ == "__main__":
    main([test_nothing_listening_ipc, test_nothing_listening_tcp, test_bad_usage,
          test_request_json_on_rep_stub, test_finds_running_pipeline,
          test_event_through_real_acquire])
