#!/usr/bin/python3
"""Stands in for ductwatch-record in the run tests until the real one is
built: subscribes like it (--sub EP..., --dir DIR), prints "file: PATH" when
the first message arrives and writes one line per message (topic and the
stream sequence) to that file, flushed; exits 0 on SIGTERM/SIGINT."""
import json
import os
import signal
import sys
import time

import zmq

args = sys.argv[1:]
subs = [args[i + 1] for i, a in enumerate(args) if a == "--sub"]
out_dir = args[args.index("--dir") + 1] if "--dir" in args else "."
stop = False


def on_stop(*_):
    global stop
    stop = True


signal.signal(signal.SIGTERM, on_stop)
signal.signal(signal.SIGINT, on_stop)
ctx = zmq.Context()
sub = ctx.socket(zmq.SUB)
sub.setsockopt(zmq.LINGER, 0)
sub.setsockopt(zmq.RCVHWM, 0)
sub.setsockopt(zmq.SUBSCRIBE, b"")
for ep in subs:
    sub.connect(ep)
f = None
while not stop:
    if not sub.poll(200):
        continue
    while True:
        try:
            topic, body = sub.recv_multipart(zmq.NOBLOCK)
        except zmq.Again:
            break
        if f is None:
            path = os.path.join(out_dir, "standin-%d.log" % time.time_ns())
            f = open(path, "w")
            print("file: " + path, flush=True)
        kind = topic.split(b".")[0]
        if kind == b"frame":
            seq = int.from_bytes(body[8:16], "little")
        else:
            seq = json.loads(body).get("seq", -1)
            if kind == b"event":
                f.write("%s %d %s\n" % (topic.decode(), seq, json.loads(body).get("kind")))
                continue
        f.write("%s %d\n" % (topic.decode(), seq))
if f:
    f.close()
