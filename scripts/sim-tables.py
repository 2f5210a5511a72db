#!/usr/bin/python3
"""Prints the tables of docs/simulator.md ("What the scenarios look like"):
every scenario measured from ductwatch-sim's decoded output.

usage: scripts/sim-tables.py BUILD_DIR [--seeds 1,2,3] [--duration 48h]
Needs Debian's python3 with numpy; decodes with BUILD/tests/sims/simframes.
"""
import argparse
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tests', 'sims'))
import simlib  # noqa: E402
from simlib import H, Z, neighbours  # noqa: E402


def zone_table(r, ep):
    """Before (6 h before onset) vs during (onset+10 h .. +20 h, or the
    episode if shorter): temperature change of the zone, its neighbours
    and its mirror (valid samples), and the pressure ratio R against the
    post-feed soft baseline, at the zone and its neighbours."""
    z, side = ep['zone'], ep['side']
    on, end = ep['start_us'] / 1e6 / H, ep['end_us'] / 1e6 / H
    v = r.valid_mask()
    if end - on > 12:
        a, b = on + 10, min(end, on + 20)
        w0, w1 = v & r.window(on - 6, on), v & r.window(a, b)
    else:  # short episodes (sensor faults, packs): the hour before, all samples
        a, b = on + 0.1, end
        w0, w1 = r.window(on - 1, on), r.window(a, b)
    nb = neighbours(z)
    dt = lambda zs: float(np.mean([np.mean(r.temp[w1, q]) - np.mean(r.temp[w0, q]) for q in zs]))
    base = r.soft_baseline(side, on)
    pre = r.post_feed_ratio(side, base, 2, on)
    post = r.post_feed_ratio(side, base, on + 2, end)
    rz = lambda arr, zs: float(np.median(arr[:, zs])) if len(arr) else float('nan')
    p_during = float(np.mean(r.pres[r.window(a, b), z]))
    return {'zone': z, 'dT zone': dt([z]), 'dT neighbours': dt(nb), 'dT mirror': dt([z ^ 8]),
            'dL': dt([z]) - dt(nb), 'dA': dt([z]) - dt([z ^ 8]),
            'R zone before': rz(pre, [z]), 'R zone after': rz(post, [z]),
            'R neighbours after': rz(post, nb), 'P zone during kPa': p_during,
            'T-amb zone during': float(np.mean(r.temp[r.window(a, b), z] - r.amb[r.window(a, b), 0 if side == 'left' else 1]))}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('build')
    ap.add_argument('--seeds', default='1,2,3')
    ap.add_argument('--duration', default='48h')
    args = ap.parse_args()
    sim = os.path.join(args.build, 'sims', 'ductwatch-sim')
    sf = os.path.join(args.build, 'tests', 'sims', 'simframes')
    seeds = [int(s) for s in args.seeds.split(',')]
    with tempfile.TemporaryDirectory() as tmp:
        print('### healthy (%s, seeds %s)\n' % (args.duration, args.seeds))
        print('| seed | valid share | skin T p0.1..p99.9 C | max median L-R asymmetry C | P p99.9 kPa | '
              'fed side P after/before a feed | feeds |')
        print('|---|---|---|---|---|---|---|')
        for s in seeds:
            r = simlib.SimRun(sim, sf, tmp, 'healthy', s, args.duration)
            v = r.valid_mask()
            lo, hi = np.percentile(r.temp[v], [0.1, 99.9])
            asym = np.max(np.abs(np.median(r.temp[v][:, :8] - r.temp[v][:, 8:], axis=0)))
            drops = []
            for (a, e, side) in r.feeds()[2:]:
                zs = range(8) if side == 'left' else range(8, 16)
                before = np.median([r.mean(r.pres, a - 0.25, a, z) for z in zs])
                after = np.median([r.mean(r.pres, e + 0.25, e + 0.5, z) for z in zs])
                if before > 0.1 and after > 0.1:
                    drops.append(after / before)
            print('| %d | %.0f %% | %.2f..%.2f | %.2f | %.2f | %.2f | %d |' % (
                s, 100 * v.mean(), lo, hi, asym, np.percentile(r.pres[v], 99.9), np.median(drops),
                len(r.feeds())))
        print('\n### zone scenarios (%s): change from the 6 h before onset to onset+10..20 h '
              '(or the episode), R = pressure / post-feed soft baseline\n' % args.duration)
        cols = ['dT zone', 'dT neighbours', 'dT mirror', 'dL', 'dA', 'R zone before', 'R zone after',
                'R neighbours after', 'P zone during kPa', 'T-amb zone during']
        print('| scenario | seed | rule | side | zone | onset h | end h | ' + ' | '.join(cols) + ' |')
        print('|' + '---|' * (7 + len(cols)))
        for sc, extra in (('blocked-duct', []), ('mastitis', []), ('garment-pressure', []),
                          ('sensor-detached', []), ('sensor-stuck', []), ('ice-pack', [])):
            for s in seeds:
                r = simlib.SimRun(sim, sf, tmp, sc, s, args.duration, extra)
                ep = [e for e in r.episodes() if e['zone'] is not None][0]
                t = zone_table(r, ep)
                print('| %s | %d | %s | %s | %d | %.1f | %.1f | ' % (
                    sc, s, ep['rule'], ep['side'], ep['zone'], ep['start_us'] / 3.6e9, ep['end_us'] / 3.6e9)
                    + ' | '.join('-' if np.isnan(t[c]) else '%.2f' % t[c] for c in cols) + ' |')
        print('\n### whole-breast scenarios (%s)\n' % args.duration)
        print('| scenario | seed | episodes | thermometer readings C | global skin change C | '
              'zones R >= 1.3 before feeds | median R fall after a feed |')
        print('|---|---|---|---|---|---|---|')
        for sc in ('engorgement', 'mastitis', 'fever-only'):
            for s in seeds:
                r = simlib.SimRun(sim, sf, tmp, sc, s, args.duration)
                eps = r.episodes()
                on = min(e['start_us'] for e in eps) / 1e6 / H
                end = max(e['end_us'] for e in eps) / 1e6 / H
                if sc == 'mastitis':
                    g = [e for e in eps if e['rule'] in ('G2', 'G3')]
                    on = g[0]['start_us'] / 1e6 / H if g else end
                v = r.valid_mask()
                w0, w1 = v & r.window(on - 6, on), v & r.window(on + 3, min(end, on + 12))
                dg = np.median(r.temp[w1]) - np.median(r.temp[w0]) if w1.any() else float('nan')
                fracs, falls = [], []
                if sc == 'engorgement':
                    for side, zs in (('left', list(range(8))), ('right', list(range(8, 16)))):
                        base = r.soft_baseline(side, on)
                        for (a, fe, sd) in r.feeds(side):
                            if a < on + 3 or fe + 1 > end:
                                continue
                            bf = np.array([r.mean(r.pres, a - 0.5, a, z) for z in zs]) / base[zs]
                            af = np.array([r.mean(r.pres, fe + 0.5, fe + 1.0, z) for z in zs]) / base[zs]
                            fracs.append(np.mean(bf >= 1.3))
                            falls.append(1 - np.median(af) / np.median(bf))
                temps = [e['value'] for e in r.events if e['event'] == 'thermometer']
                print('| %s | %d | %s | %s | %s | %s | %s |' % (
                    sc, s, ', '.join('%s %s %.1f-%.1f h' % (e['rule'], e['side'], e['start_us'] / 3.6e9,
                                                          e['end_us'] / 3.6e9) for e in eps),
                    ', '.join('%.1f' % x for x in temps) or '-', '-' if np.isnan(dg) else '%+.2f' % dg,
                    '%.2f' % np.mean(fracs) if fracs else '-', '%.2f' % np.mean(falls) if falls else '-'))


if __name__ == '__main__':
    main()
