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


def run_one(args, scenario, seed, tmp):
    raw = os.path.join(tmp, f"{scenario}-{seed}.bin")
    lab = os.path.join(tmp, f"{scenario}-{seed}.labels")
    subprocess.run([args.sim, "--scenario", scenario, "--seed", str(seed), "--duration",
                    args.duration, "--fast", "--out", raw, "--labels", lab],
                   check=True, stdout=subprocess.DEVNULL)
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
        t = tracks.setdefault(a["id"], {"rule": a["rule"], "side": a["side"], "zone": a["zone"],
                                        "t0": a["t_device_us"], "max_level": 0,
                                        "t_l1": None, "levels": []})
        lvl = LEVELS.get(a["level"], 0)
        if a["state"] != "cleared":
            t["rule"] = a["rule"]
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
        cands = [t for t in tracks if t["rule"] == rule and start <= t["t0"] <= end + SLACK_US]
        if not cands and rule in CLINICAL:
            # the alert may have been raised as another rule of the same id (G2 -> G3)
            cands = []
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
                        and ep.get("rule") not in FAULT
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
    scenarios = args.scenario or list_scenarios(args.sim)
    dur_us = parse_duration_us(args.duration)
    results = {}
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(args.jobs) as pool:
        futs = {(sc, s): pool.submit(run_one, args, sc, s, tmp) for sc in scenarios for s in seeds}
        for (sc, s), f in futs.items():
            try:
                alerts, labels = f.result()
            except subprocess.CalledProcessError as e:
                print(f"{sc} seed {s}: {e}", file=sys.stderr)
                continue
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
        days = len(rs) * dur_us / (24 * US_H)
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
    if args.json:
        with open(args.json, "w") as f:
            json.dump(summary, f, indent=1)


if __name__ == "__main__":
    main()
