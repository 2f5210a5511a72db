#!/usr/bin/python3
"""Scores ductwatch-detect against the simulator's ground truth.

For every scenario (ductwatch-sim --list-scenarios) and every seed it runs
  ductwatch-sim --scenario X --seed N --duration D --fast --out RAW --labels LABELS
  ductwatch-detect --input RAW [--config FILE]
and matches the alerts to the labelled episodes. It prints one table row per
scenario (all seeds together). See docs/detection.md for the meaning of each
column and the latest measured table.

usage: score.py [--sim PATH] [--detect PATH] [--seeds 1,2,3] [--duration 72h]
                [--scenario NAME]... [--config FILE] [--json FILE] [--jobs N]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

CLINICAL = {"T1", "T2", "F1", "F1-FR", "D1", "I1", "G1", "G2", "G3", "E1", "E2"}
FAULT = {"S1", "S2", "S3", "S4", "S5"}
LEVELS = {"L0": 0, "L1": 1, "L2": 2, "L3": 3}
US_H = 3600 * 1000000
SLACK_US = 2 * US_H       # an alert may come this long after a labelled end
CLOSE_US = 12 * US_H      # alerts this soon after an episode still belong to it


def parse_duration_us(s):
    mult = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    if s[-1] in mult:
        return int(float(s[:-1]) * mult[s[-1]] * 1e6)
    return int(float(s) * 1e6)


def neighbours(zone):
    """Default layout: zone = side*8 + quadrant*2 + ring (common/layout.c)."""
    side, q, ring = zone // 8, (zone % 8) // 2, zone % 2
    return {side * 8 + q * 2 + (1 - ring),
            side * 8 + ((q + 1) % 4) * 2 + ring,
            side * 8 + ((q + 3) % 4) * 2 + ring}


def list_scenarios(sim):
    p = subprocess.run([sim, "--list-scenarios"], capture_output=True, text=True, check=True)
    names = []
    for line in p.stdout.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        names.append(line.split()[0].rstrip(":"))
    return names


# Runs besides the simulator's own scenarios: name -> (scenario, extra
# arguments, duration or None for --duration). A blockage that does not
# resolve, started after the learning day, long enough for D1 >= 48 h.
VARIANTS = {
    "blocked-duct-persist": ("blocked-duct", ["--param", "persist=1", "--onset", "26h"], "96h"),
}


def run_spec(args, name):
    scenario, extra, dur = VARIANTS.get(name, (name, [], None))
    return scenario, extra, dur or args.duration


def run_one(args, name, seed, tmp):
    scenario, extra, dur = run_spec(args, name)
    raw = os.path.join(tmp, f"{name}-{seed}.bin")
    lab = os.path.join(tmp, f"{name}-{seed}.labels")
    subprocess.run([args.sim, "--scenario", scenario, "--seed", str(seed), "--duration",
                    dur, "--fast", "--out", raw, "--labels", lab] + extra,
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cmd = [args.detect, "--input", raw]
    if args.config:
        cmd += ["--config", args.config]
    p = subprocess.run(cmd, capture_output=True, text=True, check=True)
    alerts = [json.loads(line) for line in p.stdout.splitlines() if line.strip()]
    with open(lab) as f:
        labels = [json.loads(line) for line in f if line.strip()]
    os.unlink(raw)
    return alerts, labels


def alert_tracks(alerts):
    """One record per alert id: rule, side, zone, first time, max level, times."""
    tracks = {}
    for a in alerts:
        t = tracks.setdefault(a["id"], {"rule": a["rule"], "rules": set(), "side": a["side"],
                                        "zone": a["zone"], "t0": a["t_device_us"], "max_level": 0,
                                        "t_l1": None, "levels": []})
        lvl = LEVELS.get(a["level"], 0)
        if a["state"] != "cleared":
            t["rule"] = a["rule"]
            t["rules"].add(a["rule"])  # one id may change rule (G2 <-> G3)
            t["max_level"] = max(t["max_level"], lvl)
            t["levels"].append((a["t_device_us"], lvl))
            if lvl >= 1 and t["t_l1"] is None:
                t["t_l1"] = a["t_device_us"]
            if a["zone"] is not None:
                t["zone"] = a["zone"]
    return list(tracks.values())


def score_run(alerts, labels, duration_us):
    tracks = alert_tracks(alerts)
    eps = [l for l in labels if l.get("type") == "episode"]
    out = {"episodes": 0, "detected": 0, "delays_h": [], "side_ok": 0, "zone_ok": 0,
           "zone_n": 0, "false_clinical": 0, "fault_alerts": 0, "clinical_alerts": 0,
           "max_level": [], "missed": []}
    used = set()
    for ep in eps:
        rule = ep.get("rule")
        start, end = ep["start_us"], ep.get("end_us") or (1 << 62)
        cands = [t for t in tracks if rule in t["rules"] and start <= t["t0"] <= end + SLACK_US]
        out["episodes"] += 1
        if not cands:
            out["missed"].append(ep)
            continue
        cands.sort(key=lambda t: (t["side"] != ep.get("side"), t["t0"]))
        t = cands[0]
        used.add(id(t))
        out["detected"] += 1
        out["delays_h"].append((t["t0"] - start) / US_H)
        if t["side"] == ep.get("side") or (ep.get("side") in (None, "none", "both")
                                          and t["side"] == "none"):
            out["side_ok"] += 1
        if ep.get("zone") is not None:
            out["zone_n"] += 1
            if t["zone"] is not None and (t["zone"] == ep["zone"] or t["zone"] in neighbours(ep["zone"])):
                out["zone_ok"] += 1
        # the highest level any clinical alert on that side reached during the episode
        lvl = 0
        for u in tracks:
            if u["rule"] in CLINICAL and (u["side"] == ep.get("side") or u["side"] == "none"):
                for (tt, l) in u["levels"]:
                    if start <= tt <= end + SLACK_US:
                        lvl = max(lvl, l)
        out["max_level"].append(lvl)
    for t in tracks:
        if t["rule"] in FAULT:
            out["fault_alerts"] += 1
            continue
        if t["rule"] not in CLINICAL or t["max_level"] < 1:
            continue
        out["clinical_alerts"] += 1
        tl1 = t["t_l1"]
        explained = any(ep["start_us"] <= tl1 <= (ep.get("end_us") or (1 << 62)) + CLOSE_US
                        and (ep.get("side") in (None, "none", "both") or t["side"] in (ep.get("side"), "none"))
                        and ep.get("rule") in CLINICAL  # a strap or a sensor explains no clinical alert
                        for ep in eps)
        if not explained:
            out["false_clinical"] += 1
    return out


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sim", default=os.environ.get("DUCTWATCH_SIM", "ductwatch-sim"))
    ap.add_argument("--detect", default=os.environ.get("DUCTWATCH_DETECT", "ductwatch-detect"))
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--duration", default="72h")
    ap.add_argument("--scenario", action="append")
    ap.add_argument("--config")
    ap.add_argument("--json")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    scenarios = args.scenario or list_scenarios(args.sim) + list(VARIANTS)
    results = {}
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(args.jobs) as pool:
        futs = {(sc, s): pool.submit(run_one, args, sc, s, tmp) for sc in scenarios for s in seeds}
        for (sc, s), f in futs.items():
            try:
                alerts, labels = f.result()
            except subprocess.CalledProcessError as e:
                print(f"{sc} seed {s}: {e}", file=sys.stderr)
                continue
            dur_us = parse_duration_us(run_spec(args, sc)[2])
            results.setdefault(sc, []).append(score_run(alerts, labels, dur_us))
    hdr = ("scenario", "runs", "episodes", "detected", "missed", "delay med h", "delay max h",
           "side ok", "zone~ok", "max level", "false L1+/day", "fault alerts")
    rows = []
    summary = {}
    for sc in scenarios:
        rs = results.get(sc, [])
        if not rs:
            continue
        tot = {k: sum(r[k] for r in rs) for k in ("episodes", "detected", "side_ok", "zone_ok",
                                                 "zone_n", "false_clinical", "fault_alerts")}
        delays = [d for r in rs for d in r["delays_h"]]
        levels = [l for r in rs for l in r["max_level"]]
        days = len(rs) * parse_duration_us(run_spec(args, sc)[2]) / (24 * US_H)
        row = {
            "scenario": sc, "runs": len(rs), **tot,
            "missed": tot["episodes"] - tot["detected"],
            "delay_median_h": round(statistics.median(delays), 2) if delays else None,
            "delay_max_h": round(max(delays), 2) if delays else None,
            "max_levels": sorted(set(levels)),
            "false_clinical_per_day": round(tot["false_clinical"] / days, 3),
            "missed_episodes": [m for r in rs for m in r["missed"]],
        }
        summary[sc] = row
        pct = lambda a, b: f"{a}/{b}" if b else "-"
        rows.append((sc, str(len(rs)), str(tot["episodes"]), str(tot["detected"]), str(row["missed"]),
                     "-" if row["delay_median_h"] is None else f"{row['delay_median_h']:.2f}",
                     "-" if row["delay_max_h"] is None else f"{row['delay_max_h']:.2f}",
                     pct(tot["side_ok"], tot["detected"]), pct(tot["zone_ok"], tot["zone_n"]),
                     ",".join(f"L{l}" for l in row["max_levels"]) or "-",
                     f"{row['false_clinical_per_day']:.3f}", str(tot["fault_alerts"])))
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(hdr)]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(hdr, widths)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |")
    print()
    for line in targets(summary):
        print(line)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(summary, f, indent=1)


# The targets. Delay: the rule's sustained window plus 2 h.
DELAY_TARGET_H = {"blocked-duct": 2 + 2, "mastitis": 4 + 2, "engorgement": 1 + 2}


def targets(summary):
    out = ["targets (measured against the issue's goals):"]

    def say(ok, text):
        out.append(f"  [{'met' if ok else 'MISSED'}] {text}")

    for sc in ("blocked-duct", "mastitis", "engorgement"):
        r = summary.get(sc)
        if not r or not r["episodes"]:
            continue
        rate = r["detected"] / r["episodes"]
        say(rate >= 0.95, f"{sc}: {r['detected']}/{r['episodes']} episodes detected (goal >= 95 %)")
        if r["delay_max_h"] is not None:
            say(r["delay_max_h"] <= DELAY_TARGET_H[sc],
                f"{sc}: delay median {r['delay_median_h']} h, max {r['delay_max_h']} h "
                f"(goal <= {DELAY_TARGET_H[sc]} h)")
    det = sum(r["detected"] for r in summary.values())
    side = sum(r["side_ok"] for r in summary.values())
    zn = sum(r["zone_n"] for r in summary.values())
    zok = sum(r["zone_ok"] for r in summary.values())
    if det:
        say(side == det, f"correct side {side}/{det} (goal 100 %)")
    if zn:
        say(zok >= 0.9 * zn, f"zone or neighbour {zok}/{zn} (goal >= 90 %)")
    h = summary.get("healthy")
    if h:
        say(h["false_clinical_per_day"] <= 0.2,
            f"healthy: {h['false_clinical_per_day']} false clinical alerts per wear-day (goal <= 0.2)")
    for sc in ("sensor-detached", "sensor-stuck", "ice-pack"):
        r = summary.get(sc)
        if r:
            say(r["detected"] == r["episodes"] and r["false_clinical"] == 0,
                f"{sc}: fault alert in {r['detected']}/{r['episodes']} runs, "
                f"{r['false_clinical']} clinical alerts (goal: fault alert, no clinical)")
    for sc, lvl in (("mastitis", 3), ("blocked-duct-persist", 2)):
        r = summary.get(sc)
        if r:
            say(r["max_levels"] and min(r["max_levels"]) >= lvl,
                f"{sc}: levels reached {r['max_levels']} (goal L{lvl} in every episode)")
    return out


if __name__ == "__main__":
    main()
