"""Shared by the simulator tests and scripts/sim-tables.py: run
ductwatch-sim, decode its stream with tests/sims/simframes (common/'s
decoder) into per-minute rows, and measure what docs/simulator.md claims."""
import json
import os
import subprocess

import numpy as np

Z = 16
H = 3600.0


def neighbours(z):
    """docs/protocol.md 8: zone = side*8 + quadrant*2 + ring."""
    side, q, ring = z // 8, (z % 8) // 2, z % 2
    return [side * 8 + q * 2 + (1 - ring), side * 8 + ((q + 1) % 4) * 2 + ring,
            side * 8 + ((q + 3) % 4) * 2 + ring]


class SimRun:
    """One simulator run, decoded. Times in hours of device time."""

    def __init__(self, sim, simframes, tmp, scenario, seed=1, duration='48h', extra=(), block=600):
        self.raw = os.path.join(tmp, '%s-%d.bin' % (scenario, seed))
        self.lab = os.path.join(tmp, '%s-%d.labels' % (scenario, seed))
        rows = os.path.join(tmp, '%s-%d.rows' % (scenario, seed))
        argv = [sim, '--scenario', scenario, '--seed', str(seed), '--duration', duration,
                '--fast', '--out', self.raw, '--labels', self.lab, '-q', *extra]
        subprocess.run(argv, check=True, timeout=300)
        p = subprocess.run([simframes, self.raw, rows, str(block)], check=True,
                           capture_output=True, text=True, timeout=300)
        lines = [json.loads(l) for l in p.stdout.splitlines()]
        self.hello = lines[0]['hello']
        self.events = [l for l in lines if 'event' in l]
        self.stats = lines[-1]['stats']
        with open(self.lab) as f:
            self.labels = [json.loads(l) for l in f if l.strip()]
        a = np.fromfile(rows, dtype=np.float64).reshape(-1, 1 + 4 * Z + 7)
        self.t = a[:, 0] / H
        self.temp = a[:, 1:1 + Z]
        self.trange = a[:, 1 + Z:1 + 2 * Z]
        self.pres = a[:, 1 + 2 * Z:1 + 3 * Z]
        self.prange = a[:, 1 + 3 * Z:1 + 4 * Z]
        self.amb = a[:, 1 + 4 * Z:3 + 4 * Z]
        self.accel = a[:, 3 + 4 * Z:6 + 4 * Z]
        self.motion = a[:, 6 + 4 * Z]
        os.unlink(rows)

    def episodes(self):
        return [l for l in self.labels if l['type'] == 'episode']

    def artefacts(self, kind=None):
        return [l for l in self.labels if l['type'] == 'artefact' and (kind is None or l['kind'] == kind)]

    def summary(self):
        return [l for l in self.labels if l['type'] == 'summary'][0]

    def feeds(self, side=None):
        """(start_h, end_h, side) from the decoded feed-start/feed-end EVENTs."""
        out, open_ = [], {}
        for e in self.events:
            if e['event'] == 'feed-start':
                open_[e['side']] = e['t_us'] / 1e6 / H
            elif e['event'] == 'feed-end' and e['side'] in open_:
                out.append((open_.pop(e['side']), e['t_us'] / 1e6 / H, e['side']))
        return [f for f in out if side is None or f[2] == side]

    def window(self, a, b):
        return (self.t >= a) & (self.t < b)

    def mean(self, arr, a, b, z=None):
        w = self.window(a, b)
        v = arr[w] if z is None else arr[w, z]
        return float(np.mean(v)) if len(v) else float('nan')

    def ev_times(self, kind):
        return [e['t_us'] / 1e6 / H for e in self.events if e['event'] == kind]

    def valid_mask(self):
        """detection.md validity gating, from the decoded stream and events:
        worn and settled (15 min after garment-on), outside feed + 30 min,
        shower + 60 min, ice/heat pack + 60 min, ambient change > 3 C in
        15 min + 30 min."""
        bad = np.zeros(len(self.t), dtype=bool)
        ons = self.ev_times('garment-on')
        for off in self.ev_times('garment-off'):
            on = min([x for x in ons if x > off], default=1e9)
            bad |= (self.t >= off) & (self.t < on)
        for on in ons:
            bad |= (self.t >= on) & (self.t < on + 0.25)
        for (s, e, _) in self.feeds():
            bad |= (self.t >= s) & (self.t < e + 0.5)
        for kind in ('shower', 'ice-pack', 'heat-pack'):
            for x in self.ev_times(kind):
                bad |= (self.t >= x) & (self.t < x + 1.0)
        amb = self.amb.mean(axis=1)
        step = 15  # rows are minutes
        for i in range(step, len(amb)):
            if abs(amb[i] - amb[i - step]) > 3.0:
                bad |= (self.t >= self.t[i - step]) & (self.t < self.t[i] + 0.5)
        return ~bad

    def soft_baseline(self, side, before_h):
        """Per-zone pressure 30-60 min after each feed on side (the post-feed
        "soft" state of detection.md), median over feeds ending before before_h."""
        vals = [[self.mean(self.pres, e + 0.5, e + 1.0, z) for z in range(Z)]
                for (s, e, sd) in self.feeds(side) if e + 1.0 < before_h and s > 2]
        return np.median(np.array(vals), axis=0)

    def post_feed_ratio(self, side, base, after_h, before_h):
        """R per zone 30-60 min after each feed on side in [after_h, before_h]."""
        out = []
        for (s, e, sd) in self.feeds(side):
            if s >= after_h and e + 1.0 <= before_h:
                out.append(np.array([self.mean(self.pres, e + 0.5, e + 1.0, z) for z in range(Z)]) / base)
        return np.array(out)
