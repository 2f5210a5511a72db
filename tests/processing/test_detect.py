#!/usr/bin/python3
"""Integration tests of ductwatch-detect, as a user would run it.
Every case runs alone: test_detect.py [--list] [CASE...]."""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import dwtest  # noqa: E402
from dwtest import case, fail, prog  # noqa: E402

CLINICAL = {"T1", "T2", "F1", "F1-FR", "D1", "I1", "G1", "G2", "G3", "E1", "E2"}


def run_input(path, extra=()):
    p = subprocess.run([prog("ductwatch-detect"), "--input", path, *extra], capture_output=True, text=True,
                       timeout=120)
    if p.returncode != 0:
        fail(f"detect --input exit {p.returncode}: {p.stderr}")
    return [json.loads(line) for line in p.stdout.splitlines() if line.strip()]


def check_alert_json(a):
    for k in ("seq", "stream", "device", "id", "rule", "level", "state", "side", "zone",
              "zone_name", "value", "threshold", "t_device_us", "t_host_ns", "ruleset_version",
              "params", "message"):
        if k not in a:
            fail(f"alert lacks {k}: {a}")
    if a["level"] not in ("L0", "L1", "L2", "L3"):
        fail(f"bad level {a}")
    if a["state"] not in ("raised", "updated", "cleared"):
        fail(f"bad state {a}")


@case()
def case_usage(run):
    tmp = run.dir
    p = subprocess.run([prog("ductwatch-detect"), "--bogus"], capture_output=True, text=True)
    if p.returncode != 2 or "--bogus" not in p.stderr:
        fail(f"unknown option: {p.returncode} {p.stderr}")
    p = subprocess.run([prog("ductwatch-detect"), "--help"], capture_output=True, text=True)
    if p.returncode != 0 or "--input" not in p.stdout:
        fail("--help")
    p = subprocess.run([prog("ductwatch-detect"), "--version"], capture_output=True, text=True)
    if p.returncode != 0 or "ductwatch-detect" not in p.stdout:
        fail("--version")
    bad = os.path.join(tmp, "bad.conf")
    with open(bad, "w") as f:
        f.write("[T1]\ndelta_c = 0.5\n\n[F1]\nr = firm\n")
    p = subprocess.run([prog("ductwatch-detect"), "--config", bad, "--print-config"], capture_output=True,
                       text=True)
    if p.returncode != 2 or f"{bad}:5: [F1] r: 'firm'" not in p.stderr:
        fail(f"bad config: {p.returncode} {p.stderr!r}")
    good = os.path.join(tmp, "good.conf")
    with open(good, "w") as f:
        f.write("[T1]\ndelta_c = 0.7\n")
    p = subprocess.run([prog("ductwatch-detect"), "--config", good, "--print-config"], capture_output=True,
                       text=True)
    if p.returncode != 0 or "\n[T1]\n" not in p.stdout:
        fail("print-config")
    printed = os.path.join(tmp, "printed.conf")
    with open(printed, "w") as f:
        f.write(p.stdout)
    q = subprocess.run([prog("ductwatch-detect"), "--config", printed, "--print-config"], capture_output=True,
                       text=True)
    if q.returncode != 0 or q.stdout != p.stdout:
        fail("print-config output does not read back the same")
    if "delta_c = 0.7" not in p.stdout:
        fail("print-config lacks the configured value")
    p = subprocess.run([prog("ductwatch-detect"), "--input", os.path.join(tmp, "missing")], capture_output=True,
                       text=True)
    if p.returncode != 1:
        fail(f"missing input file: exit {p.returncode}")


@case(timeout=60)
def case_input(run):
    tmp = run.dir
    warm = os.path.join(tmp, "warm.bin")
    healthy = os.path.join(tmp, "healthy.bin")
    subprocess.run([prog("synthgen"), "--out", warm, "--scenario", "warm"], check=True, timeout=60)
    subprocess.run([prog("synthgen"), "--out", healthy, "--scenario", "healthy"], check=True, timeout=60)
    alerts = run_input(warm)
    for a in alerts:
        check_alert_json(a)
    i1 = [a for a in alerts if a["rule"] == "I1" and a["state"] == "raised"]
    if not i1:
        fail(f"no I1 in {[(a['rule'], a['state']) for a in alerts]}")
    a = i1[0]
    if a["side"] != "right" or a["zone"] != 10 or a["level"] != "L1":
        fail(f"I1 wrong: {a}")
    if "Possible" not in a["message"] or a["zone_name"] != "right upper-inner inner":
        fail(f"I1 message/zone name: {a}")
    if a["params"].get("sustain") != "2h":
        fail(f"I1 params: {a['params']}")
    # the same input twice gives byte-identical output
    again = run_input(warm)
    if again != alerts:
        fail("two runs differ")
    # healthy: nothing clinical
    bad = [a for a in run_input(healthy) if a["rule"] in CLINICAL]
    if bad:
        fail(f"clinical alerts in healthy wear: {bad[:3]}")


@case(timeout=100)
def case_zmq(run):
    import zmq
    acq = run.ep("acq")
    det_ep = run.ep("det")
    det = run.spawn(["ductwatch-detect", "--sub", acq, "--pub", det_ep])
    line = det.expect("pub: ")
    if line != det_ep:
        fail(f"first line {line!r}")
    ctx = run.ctx
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.SUBSCRIBE, b"alert.")
    sub.connect(det_ep)
    time.sleep(0.3)
    gen = run.spawn(["synthgen", "--pub", acq, "--scenario", "warm"],
                    stdout=subprocess.DEVNULL)
    got = None
    seqs = []
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and got is None:
        if sub.poll(500):
            topic, body = sub.recv_multipart()
            a = json.loads(body)
            check_alert_json(a)
            if topic != b"alert.synth01" or a["device"] != "synth01":
                fail(f"topic {topic} {a}")
            seqs.append(a["seq"])
            if a["rule"] == "I1" and a["state"] == "raised":
                got = a
    gen.wait(60)
    if got is None:
        fail("no I1 alert over ZeroMQ")
    if got["side"] != "right" or got["zone"] != 10:
        fail(f"I1 wrong: {got}")
    if seqs != list(range(seqs[0], seqs[0] + len(seqs))) or got["stream"] == 0:
        fail(f"alert stream seq/stream: {seqs} {got['stream']}")
    if got["t_host_ns"] <= 0:
        fail("t_host_ns")
    rc = det.stop(10)
    if rc != 0:
        fail(f"detect exit {rc} after SIGTERM")


def labels_of(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


# the simulator's labelled scenarios through the detector: each episode
# must raise its rule on its side (healthy: no clinical alert)
@case(timeout=120, suites=["sims"], params=["healthy", "blocked-duct", "mastitis"])
def case_sim(run, scenario):
    tmp = run.dir
    raw = os.path.join(tmp, "sim.bin")
    lab = os.path.join(tmp, "labels.jsonl")
    dur = os.environ.get("DW_TEST_SIM_DURATION", "48h")
    p = subprocess.run([prog("ductwatch-sim"), "--scenario", scenario, "--seed", "1", "--duration", dur, "--fast",
                        "--out", raw, "--labels", lab], capture_output=True, text=True,
                       timeout=100)
    if p.returncode != 0:
        fail(f"ductwatch-sim: {p.returncode} {p.stderr}")
    alerts = run_input(raw)
    raised = [a for a in alerts if a["state"] != "cleared"]
    eps = [l for l in labels_of(lab) if l.get("type") == "episode"]
    clinical = [a for a in raised if a["rule"] in CLINICAL and a["level"] != "L0"]
    if not eps:
        if clinical:
            fail(f"clinical alerts in {scenario}: {clinical[:3]}")
        return
    for ep in eps:
        hits = [a for a in raised if a["rule"] == ep["rule"] and a["side"] == ep["side"]
                and ep["start_us"] <= a["t_device_us"] <= ep.get("end_us", 1 << 62) + 2 * 3600e6]
        if not hits:
            fail(f"episode {ep} not detected; alerts: "
                 f"{[(a['rule'], a['side'], a['zone'], a['level']) for a in raised][:20]}")


if __name__ == "__main__":
    dwtest.main(fixture=dwtest.Run)
