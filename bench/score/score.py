#!/usr/bin/python3
"""Scores ductwatch-detect against the simulator's ground truth.

For every scenario (ductwatch-sim --list-scenarios), every garment variant
and every seed it runs
  ductwatch-sim --scenario X --seed N --duration D --fast --out RAW --labels LABELS [VARIANT]
  ductwatch-detect --input RAW [--config FILE]
and matches the alerts to the labelled episodes. Variants (issue 18): 10hz
(the reference garment), 1hz (--rate 1), zone-order (--zone-order shuffle),
reboot (--reboot-at 34h), lost-minutes (--link-faults lose-minutes=0.05).
It prints one table per variant, one row per scenario (all seeds together),
then the targets. Delays are given twice: from the labelled onset, and from
the moment the simulated signal first crosses the rule's documented
threshold (docs/detection.md; measured once per scenario and seed on a
decoded 1 Hz run of the same wearer, with tests/sims/simlib.py). See
docs/detection.md for the columns and the latest table.

usage: score.py [--sim PATH] [--detect PATH] [--simframes PATH] [--seeds 1,2,3,4,5]
                [--duration 72h] [--scenario NAME]... [--variant NAME]...
                [--config FILE] [--json FILE] [--jobs N]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "sims"))

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


# Garment variants: name -> extra simulator arguments.
GARMENTS = {
    "10hz": [],
    "1hz": ["--rate", "1"],
    "zone-order": ["--zone-order", "shuffle"],
    "reboot": ["--reboot-at", "34h"],
    "lost-minutes": ["--link-faults", "lose-minutes=0.05"],
}


def run_spec(args, name):
    scenario, extra, dur = VARIANTS.get(name, (name, [], None))
    return scenario, extra, dur or args.duration


def run_one(args, name, seed, garment, tmp):
    scenario, extra, dur = run_spec(args, name)
    raw = os.path.join(tmp, f"{name}-{seed}-{garment}.bin")
    lab = os.path.join(tmp, f"{name}-{seed}-{garment}.labels")
    subprocess.run([args.sim, "--scenario", scenario, "--seed", str(seed), "--duration",
                    dur, "--fast", "--out", raw, "--labels", lab] + extra + GARMENTS[garment],
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


# The rules whose documented threshold the signal delay counts from
# (docs/detection.md "Rules"): D1 from F1's R >= 1.30 and Q >= 1.20 at the
# labelled zone; I1 from T1's dL >= 0.5 C and dA >= 0.5 C at the zone; E1
# from >= 60 % of each breast's zones at R >= 1.30.
SIGNAL_SCENARIOS = {"blocked-duct", "mastitis", "engorgement"}
ROLL_MIN = 15             # minutes of rolling mean before a threshold is read


def rolling(a, n=ROLL_MIN):
    import numpy as np
    k = np.ones(n) / n
    if a.ndim == 1:
        return np.convolve(a, k, mode="same")
    return np.stack([np.convolve(a[:, i], k, mode="same") for i in range(a.shape[1])], axis=1)


def signal_crossings(args, name, seed, tmp):
    """{rule: device µs} when the decoded 1 Hz signal of this wearer first
    crosses the rule's documented threshold after the labelled onset."""
    import numpy as np
    import simlib
    scenario, extra, dur = run_spec(args, name)
    if scenario not in SIGNAL_SCENARIOS:
        return {}
    d = os.path.join(tmp, f"signal-{name}-{seed}")
    os.makedirs(d, exist_ok=True)
    r = simlib.SimRun(args.sim, args.simframes, d, scenario, seed, dur,
                      extra + ["--rate", "1"], block=60)
    os.unlink(r.raw)
    v = r.valid_mask()
    out = {}
    for ep in r.episodes():
        rule, on = ep["rule"], ep["start_us"] / 1e6 / simlib.H
        after = (r.t >= on) & v
        pres, temp = rolling(r.pres), rolling(r.temp)
        if rule == "D1" or rule == "I1":
            z = ep["zone"]
            nb = simlib.neighbours(z)
            if rule == "D1":
                R = pres / r.soft_baseline(ep["side"], on)
                Q = R[:, z] / np.median(R[:, nb], axis=1)
                hit = after & (R[:, z] >= 1.30) & (Q >= 1.20)
            else:
                L = temp[:, z] - np.median(temp[:, nb], axis=1)
                A = temp[:, z] - temp[:, z ^ 8]
                b = v & r.window(on - 24, on)
                hit = after & (L - np.median(L[b]) >= 0.5) & (A - np.median(A[b]) >= 0.5)
        elif rule == "E1":
            hit = after.copy()
            for side, zs in (("left", list(range(8))), ("right", list(range(8, 16)))):
                R = pres[:, zs] / r.soft_baseline(side, on)[zs]
                hit &= np.mean(R >= 1.30, axis=1) >= 0.6
        else:
            continue
        idx = np.flatnonzero(hit)
        if len(idx):
            out[rule] = int(r.t[idx[0]] * simlib.H * 1e6)
    return out


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


def to_reference_zones(tracks, labels):
    """Zones in the reference numbering (zone = side*8 + quadrant*2 + ring):
    a --zone-order garment numbers them as its HELLO does, and the labels'
    summary says which reference zone each HELLO zone is."""
    summ = [l for l in labels if l.get("type") == "summary"]
    order = summ[0].get("zone_order") if summ else None
    if not order:
        return
    for t in tracks:
        if t["zone"] is not None:
            t["zone"] = order[t["zone"]]
    for l in labels:
        if l.get("type") in ("episode", "artefact") and l.get("zone") is not None:
            l["zone"] = order[l["zone"]]


def explained(eps, t, at):
    return any(ep["start_us"] <= at <= (ep.get("end_us") or (1 << 62)) + CLOSE_US
               and (ep.get("side") in (None, "none", "both") or t["side"] in (ep.get("side"), "none"))
               and ep.get("rule") in CLINICAL  # a strap or a sensor explains no clinical alert
               for ep in eps)


def match_episode(out, tracks, ep, crossings):
    rule = ep.get("rule")
    start, end = ep["start_us"], ep.get("end_us") or (1 << 62)
    cands = [t for t in tracks if rule in t["rules"] and start <= t["t0"] <= end + SLACK_US]
    out["episodes"] += 1
    if not cands:
        out["missed"].append(ep)
        return
    cands.sort(key=lambda t: (t["side"] != ep.get("side"), t["t0"]))
    t = cands[0]
    out["detected"] += 1
    out["delays_h"].setdefault(rule, []).append((t["t0"] - start) / US_H)
    if rule in crossings:
        out["signal_delays_h"].setdefault(rule, []).append((t["t0"] - crossings[rule]) / US_H)
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


def score_run(alerts, labels, duration_us, crossings=None):
    tracks = alert_tracks(alerts)
    to_reference_zones(tracks, labels)
    eps = [l for l in labels if l.get("type") == "episode"]
    lying = [l for l in labels if l.get("type") == "artefact" and l.get("kind") == "lying"]
    out = {"episodes": 0, "detected": 0, "delays_h": {}, "signal_delays_h": {}, "side_ok": 0,
           "zone_ok": 0, "zone_n": 0, "false_clinical": 0, "false_l0": 0, "fault_alerts": 0,
           "clinical_alerts": 0, "lying_alerts": 0, "lying_l1": 0, "max_level": [], "missed": []}
    out["first_rule"] = eps[0]["rule"] if eps else None
    for ep in eps:
        match_episode(out, tracks, ep, crossings or {})
    for t in tracks:
        if t["rule"] in FAULT:
            out["fault_alerts"] += 1
            continue
        if t["rule"] not in CLINICAL or not t["levels"]:
            continue
        t_raise = t["levels"][0][0]
        # raised while lying on a side (or within 30 min after): posture
        if any(l["start_us"] <= t_raise <= l["end_us"] + 30 * 60 * 1000000 for l in lying) \
                and not explained(eps, t, t_raise):
            out["lying_alerts"] += 1
            out["lying_l1"] += t["max_level"] >= 1
        if t["max_level"] < 1:
            out["false_l0"] += not explained(eps, t, t_raise)
            continue
        out["clinical_alerts"] += 1
        if not explained(eps, t, t["t_l1"]):
            out["false_clinical"] += 1
    return out


def run_and_score(args, sc, seed, garment, tmp, crossings):
    alerts, labels = run_one(args, sc, seed, garment, tmp)
    return score_run(alerts, labels, parse_duration_us(run_spec(args, sc)[2]), crossings)


def med_max(xs):
    if not xs:
        return None, None
    return round(statistics.median(xs), 2), round(max(xs), 2)


def summarize(args, sc, rs):
    tot = {k: sum(r[k] for r in rs) for k in ("episodes", "detected", "side_ok", "zone_ok",
                                             "zone_n", "false_clinical", "false_l0", "fault_alerts",
                                             "lying_alerts", "lying_l1")}
    levels = [l for r in rs for l in r["max_level"]]
    days = len(rs) * parse_duration_us(run_spec(args, sc)[2]) / (24 * US_H)
    # delays of the scenario's own rule: its first labelled episode's (mastitis:
    # I1, not the G3 of the fever that follows)
    firsts = [r["first_rule"] for r in rs if r["first_rule"]]
    rule = firsts[0] if firsts else None
    dm, dx = med_max([d for r in rs for d in r["delays_h"].get(rule, [])])
    sm, sx = med_max([d for r in rs for d in r["signal_delays_h"].get(rule, [])])
    return {
        "scenario": sc, "rule": rule, "runs": len(rs), "wear_days": round(days, 2), **tot,
        "missed": tot["episodes"] - tot["detected"],
        "delay_median_h": dm, "delay_max_h": dx,
        "signal_delay_median_h": sm, "signal_delay_max_h": sx,
        "max_levels": sorted(set(levels)),
        "false_clinical_per_day": round(tot["false_clinical"] / days, 3),
        "false_l0_per_day": round(tot["false_l0"] / days, 3),
        "missed_episodes": [m for r in rs for m in r["missed"]],
    }


HDR = ("scenario", "rule", "runs", "episodes", "detected", "delay med/max h", "signal delay med/max h",
       "side ok", "zone~ok", "max level", "false L1+/day", "L0 clin/day", "lying alerts (L1+)",
       "fault alerts")


def row_cells(row):
    f = lambda v: "-" if v is None else f"{v:.2f}"
    pct = lambda a, b: f"{a}/{b}" if b else "-"
    return (row["scenario"], row["rule"] or "-", str(row["runs"]), str(row["episodes"]), str(row["detected"]),
            f"{f(row['delay_median_h'])} / {f(row['delay_max_h'])}",
            f"{f(row['signal_delay_median_h'])} / {f(row['signal_delay_max_h'])}",
            pct(row["side_ok"], row["detected"]), pct(row["zone_ok"], row["zone_n"]),
            ",".join(f"L{l}" for l in row["max_levels"]) or "-",
            f"{row['false_clinical_per_day']:.3f}", f"{row['false_l0_per_day']:.3f}",
            f"{row['lying_alerts']} ({row['lying_l1']})", str(row["fault_alerts"]))


def print_table(rows):
    cells = [row_cells(r) for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) if cells else len(h) for i, h in enumerate(HDR)]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(HDR, widths)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for c in cells:
        print("| " + " | ".join(x.ljust(w) for x, w in zip(c, widths)) + " |")
    print()


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sim", default=os.environ.get("DUCTWATCH_SIM", "ductwatch-sim"))
    ap.add_argument("--detect", default=os.environ.get("DUCTWATCH_DETECT", "ductwatch-detect"))
    ap.add_argument("--simframes", default=os.environ.get("DUCTWATCH_SIMFRAMES", os.path.join(
        here, "..", "..", "build", "tests", "sims", "simframes")))
    ap.add_argument("--seeds", default="1,2,3,4,5")
    ap.add_argument("--duration", default="72h")
    ap.add_argument("--scenario", action="append")
    ap.add_argument("--variant", action="append", choices=list(GARMENTS))
    ap.add_argument("--config")
    ap.add_argument("--json")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    t_start = time.monotonic()
    seeds = [int(s) for s in args.seeds.split(",")]
    scenarios = args.scenario or list_scenarios(args.sim) + list(VARIANTS)
    garments = args.variant or list(GARMENTS)
    results = {}
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(args.jobs) as pool:
        sig = {(sc, s): pool.submit(signal_crossings, args, sc, s, tmp) for sc in scenarios for s in seeds}
        crossings = {}
        for k, f in sig.items():
            try:
                crossings[k] = f.result()
            except (subprocess.CalledProcessError, OSError, ValueError) as e:
                print(f"signal {k}: {e}", file=sys.stderr)
                crossings[k] = {}
        futs = {(g, sc, s): pool.submit(run_and_score, args, sc, s, g, tmp, crossings[(sc, s)])
                for g in garments for sc in scenarios for s in seeds}
        for (g, sc, s), f in futs.items():
            try:
                results.setdefault(g, {}).setdefault(sc, []).append(f.result())
            except subprocess.CalledProcessError as e:
                print(f"{g} {sc} seed {s}: {e}", file=sys.stderr)
    summary = {}
    for g in garments:
        rows = [summarize(args, sc, results[g][sc]) for sc in scenarios if results.get(g, {}).get(sc)]
        summary[g] = {r["scenario"]: r for r in rows}
        print(f"### garment {g} ({' '.join(GARMENTS[g]) or 'the reference garment, 10 Hz'})\n")
        print_table(rows)
    for line in targets(summary):
        print(line)
    print(f"\n{len(seeds)} seeds, {len(scenarios)} scenarios, {len(garments)} garments: "
          f"{time.monotonic() - t_start:.0f} s wall with --jobs {args.jobs}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(summary, f, indent=1)


# The targets (issue 18).
DELAY_MEDIAN_H, DELAY_MAX_H = 4.0, 8.0


def targets(summary):
    out = ["targets (issue 18), every garment:"]

    def say(ok, text):
        out.append(f"  [{'met' if ok else 'MISSED'}] {text}")

    for g, sm in summary.items():
        out.append(f" {g}:")
        for sc in ("blocked-duct", "mastitis", "engorgement"):
            r = sm.get(sc)
            if not r or not r["episodes"]:
                continue
            say(r["detected"] >= 0.95 * r["episodes"],
                f"{sc}: {r['detected']}/{r['episodes']} episodes detected (goal >= 95 %)")
            if r["delay_max_h"] is not None:
                say(r["delay_median_h"] <= DELAY_MEDIAN_H and r["delay_max_h"] <= DELAY_MAX_H,
                    f"{sc}: delay from onset median {r['delay_median_h']} h, max {r['delay_max_h']} h; "
                    f"from the threshold crossing median {r['signal_delay_median_h']} h, max "
                    f"{r['signal_delay_max_h']} h (goal median <= 4 h, max <= 8 h)")
        det = sum(r["detected"] for r in sm.values())
        side = sum(r["side_ok"] for r in sm.values())
        zn = sum(r["zone_n"] for r in sm.values())
        zok = sum(r["zone_ok"] for r in sm.values())
        if det:
            say(side == det, f"correct side {side}/{det} (goal 100 %)")
        if zn:
            say(zok >= 0.9 * zn, f"zone or neighbour {zok}/{zn} (goal >= 90 %)")
        h = sm.get("healthy")
        if h:
            say(h["false_clinical_per_day"] <= 0.05,
                f"healthy: {h['false_clinical_per_day']} false clinical L1+ per wear-day (goal <= 0.05)")
            say(h["false_l0_per_day"] <= 0.3,
                f"healthy: {h['false_l0_per_day']} clinical L0 per wear-day (goal <= 0.3)")
        lying = sum(r["lying_alerts"] for r in sm.values())
        say(lying == 0, f"clinical alerts raised while lying on a side, all scenarios: {lying} "
                        f"({sum(r['lying_l1'] for r in sm.values())} of L1+) (goal 0)")
        for sc in ("sensor-detached", "sensor-stuck", "ice-pack"):
            r = sm.get(sc)
            if r:
                say(r["detected"] == r["episodes"] and r["false_clinical"] == 0,
                    f"{sc}: fault alert in {r['detected']}/{r['episodes']} runs, "
                    f"{r['false_clinical']} clinical alerts (goal: fault alert, no clinical)")
        for sc, lvl in (("mastitis", 3), ("blocked-duct-persist", 2)):
            r = sm.get(sc)
            if r:
                say(bool(r["max_levels"]) and min(r["max_levels"]) >= lvl,
                    f"{sc}: levels reached {r['max_levels']} (goal L{lvl} in every episode)")
    return out


if __name__ == "__main__":
    main()
