/* ductwatch-web's page: live garment, alerts, one-tap feeding log.
 * Plain JavaScript, nothing fetched but from the hub (docs/web.md). */
'use strict';

const QUEUE_KEY = 'ductwatch-queue-v1';
const UNDO_MS = 10000;
const RETRY_MS = 3000;
const STALE_MS = 15000;
const LEVEL_WORDS = { L1: 'Self-care', L2: 'Contact care within 24 h', L3: 'Seek care today' };
const RULE_TITLES = {
  D1: 'Possible blocked milk duct', I1: 'Possible inflammation (early mastitis)',
  E1: 'Possible engorgement', E2: 'Engorgement that feeds are not relieving',
  G1: 'Possible fever: please measure', G2: 'Fever', G3: 'High fever',
  T1: 'Local warmth', T2: 'Marked local warmth', F1: 'Local firmness',
  'F1-FR': 'Firmness a feed did not relieve', P1: 'The bra may be pressing',
  H1: 'Firmer side',
};
const SENSOR_WORDS = {
  S1: 'a sensor is not touching the skin', S2: 'the garment seems to be off',
  S3: 'a sensor seems stuck', S4: 'a sensor reads out of range',
  S5: 'a heat or cold source is near a sensor',
};
const KIND_LABELS = {
  'feed-start': 'Feeding', 'feed-end': 'Feeding ended', 'pump-start': 'Pumping',
  'pump-end': 'Pumping ended', thermometer: 'Temperature', 'ice-pack': 'Cold pack',
  'heat-pack': 'Heat pack', shower: 'Shower', 'garment-off': 'Garment off',
  'garment-on': 'Garment on', symptom: 'Symptom', cancel: 'Undo', 'alert-seen': 'Seen',
};

const S = {
  device: null, st: null, alerts: new Map(), mode: 'warm', zone: null, hours: 6,
  denied: false, connected: false, notified: new Set(), unfolded: new Set(), queue: [], busy: false,
  groups: new Map(), toastGroup: null, toastTimer: 0, logTimer: 0, retryTimer: 0,
};

const $ = (id) => document.getElementById(id);
const svgNS = 'http://www.w3.org/2000/svg';

function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
  if (text !== undefined) e.textContent = text;
  return e;
}

function sel(tag, attrs) {
  const e = document.createElementNS(svgNS, tag);
  for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
  return e;
}

function pad(n) { return String(n).padStart(2, '0'); }

function clock(ns) {
  const d = new Date(ns / 1e6);
  return pad(d.getHours()) + ':' + pad(d.getMinutes());
}

function ago(ms) {
  if (ms < 60000) return 'just now';
  const m = Math.floor(ms / 60000);
  if (m < 60) return m + ' min ago';
  const h = Math.floor(m / 60);
  return h + ' h ' + pad(m % 60) + ' min ago';
}

function span(s) {
  const m = Math.round(s / 60);
  if (m < 60) return m + ' min';
  return Math.floor(m / 60) + ' h ' + pad(m % 60) + ' min';
}

function sideWord(s) { return s === 'left' ? 'Left' : s === 'right' ? 'Right' : ''; }

function zoneWords(name) {
  /* "left upper-outer inner" -> "left breast, upper outer, inner ring" */
  const p = (name || '').split(' ');
  if (p.length !== 3) return name || '';
  return p[0] + ' breast, ' + p[1].replace('-', ' ') + ', ' + p[2] + ' ring';
}

/* ---- talking to the hub ------------------------------------------------ */

async function api(path, opts) {
  const r = await fetch(path, Object.assign({ credentials: 'same-origin', cache: 'no-store' }, opts));
  if (r.status === 401) denied();
  return r;
}

function denied() {
  S.denied = true;
  $('denied').hidden = false;
  setConn('no access', 'bad');
}

function setConn(text, cls) {
  const c = $('conn');
  c.textContent = text;
  c.className = 'pill ' + (cls || '');
}

function connect() {
  const es = new EventSource('/api/stream');
  es.addEventListener('garments', (e) => onGarments(JSON.parse(e.data)));
  es.addEventListener('state', (e) => onState(JSON.parse(e.data)));
  es.addEventListener('values', (e) => onValues(JSON.parse(e.data)));
  es.addEventListener('link', (e) => onLink(JSON.parse(e.data)));
  es.addEventListener('ev', (e) => onEvent(JSON.parse(e.data)));
  es.addEventListener('alert', (e) => onAlert(JSON.parse(e.data)));
  es.addEventListener('ready', () => {
    S.connected = true;
    setConn('hub connected', 'ok');
    refreshLog();
    pump();
  });
  es.onerror = () => {
    S.connected = false;
    setConn('hub not reachable', 'bad');
    if (es.readyState === EventSource.CLOSED) {
      /* a refusal (401) closes it for good: find out which */
      api('/api/garments').then((r) => { if (r.status !== 401) setTimeout(connect, RETRY_MS); })
        .catch(() => setTimeout(connect, RETRY_MS));
    }
  };
}

function onGarments(list) {
  if (!S.device && list.length) S.device = list[0].device;
  if (!list.length) $('live').textContent = 'Waiting for the garment…';
}

function onState(st) {
  if (!S.device) S.device = st.garment.device;
  if (st.garment.device !== S.device) return;
  S.st = st;
  S.alerts = new Map();
  for (const a of st.alerts) S.alerts.set(a.id, a);
  $('csv').href = '/api/log.csv?device=' + encodeURIComponent(S.device);
  renderAll();
}

function onValues(v) {
  if (!S.st || v.device !== S.device) return;
  S.st.values = v;
  S.st.garment.samples = v.samples;
  S.st.garment.last_sample_host_ns = v.t_host_ns;
  S.valuesAt = Date.now();
  renderGarment();
  renderLive();
  renderProblems();
  if (S.zone !== null) renderZoneValues();
}

function onLink(l) {
  if (!S.st || l.device !== S.device) return;
  S.st.link = l;
  renderProblems();
  renderGarment(); /* the link down: the values shown are the last ones */
  renderLive();
}

function onEvent(e) {
  if (!S.st || e.device !== S.device) return;
  if (e.kind === 'garment-off') S.st.garment_off = true;
  if (e.kind === 'garment-on') S.st.garment_off = false;
  if (e.kind === 'link-down' || e.kind === 'link-up') {
    S.st.link.link_up = e.kind === 'link-up';
    S.st.link.since_ns = e.t_host_ns;
    S.st.link.why = e.text;
    renderProblems();
    renderGarment();
  }
  clearTimeout(S.logTimer);
  S.logTimer = setTimeout(refreshLog, 250);
}

function onAlert(a) {
  if (!S.st || a.device !== S.device) return;
  if (a.state === 'cleared') S.alerts.delete(a.id);
  else S.alerts.set(a.id, a);
  renderAlerts();
  renderGarment();
  renderProblems();
  if (a.rule === 'H1') refreshLog();
  notify(a);
}

async function refreshLog() {
  if (!S.device) return;
  try {
    const dev = encodeURIComponent(S.device);
    const [st, log] = await Promise.all([api('/api/state/' + dev), api('/api/log?device=' + dev)]);
    if (st.ok) {
      const s = await st.json();
      if (S.st) S.st.feeding = s.feeding;
    }
    if (log.ok) renderLog((await log.json()).rows);
    renderSummary();
    renderButtons();
  } catch (err) { /* the stream reconnects and calls again */ }
}

async function refreshSessions() {
  try {
    const r = await api('/api/sessions');
    if (!r.ok) return;
    const list = (await r.json()).sessions;
    const ul = $('sessions');
    ul.textContent = '';
    for (const s of list.slice(0, 10)) {
      const li = el('li');
      const a = el('a', { href: s.report, class: 'link' }, s.device + ' — ' + s.start.replace('T', ' '));
      li.append(a);
      ul.append(li);
    }
    if (!list.length) ul.append(el('li', { class: 'small' }, 'None yet.'));
  } catch (err) { /* shown again at the next load */ }
}

/* ---- taps: kept on the phone until the hub has them -------------------- */

function newId() {
  const b = new Uint8Array(12);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

function saveQueue() {
  try { localStorage.setItem(QUEUE_KEY, JSON.stringify(S.queue)); } catch (err) { /* private mode */ }
}

function loadQueue() {
  try { S.queue = JSON.parse(localStorage.getItem(QUEUE_KEY) || '[]'); } catch (err) { S.queue = []; }
}

/* One tap: one or more events, undone together. */
function tap(label, events) {
  const gid = newId();
  const g = { label, ids: [], seqs: [], undone: false };
  for (const ev of events) {
    const id = newId();
    const body = Object.assign({ id }, ev);
    if (S.device) body.device = S.device;
    g.ids.push(id);
    S.queue.push({ id, gid, body, label, t: Date.now() });
  }
  S.groups.set(gid, g);
  saveQueue();
  renderPending();
  showToast(gid, label);
  pump();
}

function retryLater() {
  clearTimeout(S.retryTimer);
  S.retryTimer = setTimeout(pump, RETRY_MS);
}

async function sendOne(item) {
  let r;
  try {
    r = await api('/api/events', { method: 'POST', headers: { 'Content-Type': 'application/json' },
                                   body: JSON.stringify(item.body) });
  } catch (err) {
    return 'later';
  }
  if (r.status === 200) {
    const j = await r.json();
    const g = S.groups.get(item.gid);
    if (g) {
      g.seqs.push({ seq: j.seq, kind: item.body.kind, side: item.body.side || 'none' });
      if (g.undone) cancelSeq(j.seq, item.body.kind, item.body.side || 'none');
    }
    return 'done';
  }
  if (r.status === 401) return 'stop';
  let why = '';
  try { why = (await r.json()).error || ''; } catch (err) { /* not JSON */ }
  /* the hub or acquisition not ready (no garment data yet, restarting) */
  if (r.status >= 500 || (r.status === 409 && /no garment data/.test(why))) return 'later';
  showToast(null, 'Not logged: ' + why);
  return 'drop';
}

async function pump() {
  if (S.busy || S.denied) return;
  S.busy = true;
  while (S.queue.length) {
    const item = S.queue[0];
    const res = await sendOne(item);
    if (res === 'later' || res === 'stop') {
      if (res === 'later') retryLater();
      break;
    }
    S.queue.shift();
    saveQueue();
    renderPending();
  }
  S.busy = false;
  renderPending();
}

/* The cancel names the event by its seq, and repeats its kind and side
 * for readers of the file. */
function cancelSeq(seq, kind, side) {
  const id = newId();
  S.queue.push({ id, gid: null, label: 'Undo',
                 body: { id, device: S.device, kind: 'cancel', side, value: seq, text: kind } });
  saveQueue();
  pump();
}

function undo(gid) {
  const g = S.groups.get(gid);
  if (!g || g.undone) return;
  g.undone = true;
  /* not on the hub yet: it never will be */
  S.queue = S.queue.filter((q) => !(q.gid === gid && !(S.busy && q === S.queue[0])));
  for (const s of g.seqs) cancelSeq(s.seq, s.kind, s.side);
  saveQueue();
  renderPending();
  showToast(null, g.label + ' undone');
}

function showToast(gid, text) {
  clearInterval(S.toastTimer);
  S.toastGroup = gid;
  $('toast-text').textContent = text;
  $('toast').hidden = false;
  $('undo').hidden = !gid;
  const until = Date.now() + UNDO_MS;
  const tick = () => {
    const left = until - Date.now();
    if (left <= 0) {
      clearInterval(S.toastTimer);
      $('toast').hidden = true;
      S.toastGroup = null;
      return;
    }
    $('undo-left').textContent = Math.ceil(left / 1000) + ' s';
  };
  tick();
  S.toastTimer = setInterval(tick, 250);
}

function renderPending() {
  const ul = $('pending-list');
  ul.textContent = '';
  for (const q of S.queue) {
    ul.append(el('li', {}, q.label + (q.t ? ' (tapped ' + clock(q.t * 1e6) + ')' : '')));
  }
  /* what is only being sent right now is not worth a box */
  $('pending').hidden = !S.queue.length || (S.connected && S.busy && S.queue.length === 1 &&
                                            Date.now() - (S.queue[0].t || 0) < 2000);
  if (S.queue.length) setTimeout(renderPending, 2000);
}

/* ---- rendering -------------------------------------------------------- */

function renderAll() {
  renderProblems();
  renderAlerts();
  renderSummary();
  renderButtons();
  buildGarment();
  renderGarment();
  renderLive();
  refreshLog();
}

function sensorFaults() {
  const out = [];
  const v = S.st.values;
  if (!v || !v.status) return out;
  v.status.forEach((bits, z) => {
    const what = [];
    if (bits & 1) what.push('temperature sensor fault');
    if (bits & 2) what.push('pressure sensor fault');
    if (bits & 4) what.push('temperature out of range');
    if (bits & 8) what.push('pressure at its limit');
    if (what.length) out.push(zoneWords(S.st.zones[z].name) + ': ' + what.join(', '));
  });
  return out;
}

function problem(text, info) {
  return el('div', { class: 'problem' + (info ? ' info' : '') }, text);
}

function renderProblems() {
  const box = $('problems');
  box.textContent = '';
  if (!S.st) return;
  const link = S.st.link, now = Date.now();
  const lastNs = S.st.values && S.st.values.t_host_ns;
  if (!link.link_up) {
    const p = problem('The garment is not connected' + (link.since_ns ? ' (since ' + clock(link.since_ns) + ')' : '') +
                      '. Check that it is on, charged and near the hub.');
    if (link.why) p.append(el('span', { class: 'why' }, 'The hub says: ' + link.why));
    box.append(p);
  } else if (lastNs && S.valuesAt && now - S.valuesAt > STALE_MS) {
    box.append(problem('No readings from the garment for ' + ago(now - S.valuesAt).replace(' ago', '') + '.'));
  }
  const off = S.st.garment_off || [...S.alerts.values()].some((a) => a.rule === 'S2');
  if (off) box.append(problem('Garment off: readings and alerts are paused until it is back on.', true));
  for (const a of S.alerts.values()) {
    if (a.rule in SENSOR_WORDS && a.rule !== 'S2') {
      box.append(problem('Sensor problem at ' + zoneWords(a.zone_name) + ': ' + SENSOR_WORDS[a.rule] + '.', true));
    }
  }
  for (const f of sensorFaults()) box.append(problem('Sensor problem at ' + f + '.', true));
  if (link.battery_pct !== null && link.battery_pct !== undefined && link.battery_pct < 15 && !link.charging) {
    box.append(problem('Garment battery low (' + link.battery_pct + ' %).', true));
  }
}

function clinical(a) { return a.level !== 'L0' && !(a.rule in SENSOR_WORDS); }

function renderAlerts() {
  const box = $('alerts');
  box.textContent = '';
  const list = [...S.alerts.values()].filter(clinical)
    .sort((x, y) => y.level.localeCompare(x.level) || y.order - x.order);
  for (const a of list) {
    const card = el('article', { class: 'alert ' + a.level + (a.acked ? ' acked' : ''),
                                 'data-rule': a.rule, 'data-id': String(a.id) });
    const head = el('div', { class: 'alert-head' });
    head.append(el('span', { class: 'alert-title' }, RULE_TITLES[a.rule] || a.rule));
    head.append(el('span', { class: 'alert-level' }, LEVEL_WORDS[a.level] || a.level));
    card.append(head);
    /* once seen, the advice folds away (a tap opens it again) so that the
     * buttons come back up the screen */
    const more = el('div', { class: 'alert-more' });
    if (a.zone_name) more.append(el('div', { class: 'small' }, 'Where: ' + zoneWords(a.zone_name)));
    more.append(el('p', {}, a.message));
    more.hidden = a.acked && !S.unfolded.has(a.id);
    card.append(more);
    if (a.acked) {
      head.setAttribute('role', 'button');
      head.setAttribute('tabindex', '0');
      head.addEventListener('click', () => {
        if (S.unfolded.has(a.id)) S.unfolded.delete(a.id); else S.unfolded.add(a.id);
        renderAlerts();
      });
    }
    const foot = el('div', { class: 'alert-foot' });
    foot.append(el('span', { class: 'small' }, 'Since ' + clock(a.clock_ns)));
    const b = el('button', { class: 'seen' }, a.acked ? 'Seen ✓' : 'Seen');
    b.disabled = a.acked;
    b.addEventListener('click', () => {
      b.disabled = true;
      b.textContent = 'Seen ✓';
      tap('Alert seen', [{ kind: 'alert-seen', side: a.side === 'left' || a.side === 'right' ? a.side : 'none',
                           text: String(a.id) }]);
    });
    foot.append(b);
    card.append(foot);
    box.append(card);
  }
  const notes = [...S.alerts.values()].filter((a) => a.level === 'L0' && !(a.rule in SENSOR_WORDS) && a.rule !== 'H1');
  $('notes').hidden = !notes.length;
  const ul = $('notes-list');
  ul.textContent = '';
  for (const a of notes) ul.append(el('li', {}, a.message));
}

function renderSummary() {
  const f = S.st && S.st.feeding;
  if (!f) return;
  if (f.last_side) {
    $('sum-last').textContent = sideWord(f.last_side) + (f.in_feed ? ' (feeding now)' : '');
    $('sum-since').textContent = ago(Date.now() - f.last_clock_ns / 1e6);
    $('sum-since-label').textContent = 'Started ' + clock(f.last_clock_ns);
  } else {
    $('sum-last').textContent = 'none logged';
    $('sum-since').textContent = '—';
    $('sum-since-label').textContent = 'Started';
  }
  $('sum-next').textContent = f.suggest ? sideWord(f.suggest) +
    (f.suggest_why === 'firmer' ? ' (feels firmer)' : ' (other side)') : '—';
  const hint = $('hint');
  hint.hidden = !f.hint_side;
  if (f.hint_side) hint.textContent = 'The ' + f.hint_side + ' side feels firmer: you may start there.';
}

function renderButtons() {
  const f = (S.st && S.st.feeding) || {};
  const end = $('b-feed-end'), pumpB = $('b-pump');
  end.textContent = f.in_feed ? 'Feeding ended' : 'Feeding ended';
  end.classList.toggle('running', !!f.in_feed);
  pumpB.textContent = f.pumping ? 'Pumping ended' : 'Pumping';
  pumpB.dataset.kind = f.pumping ? 'pump-end' : 'pump-start';
  pumpB.classList.toggle('running', !!f.pumping);
  for (const s of ['left', 'right']) {
    $('b-feed-' + s).classList.toggle('running', !!f.in_feed && f.last_side === s);
  }
}

function renderLive() {
  if (!S.st) return;
  const g = S.st.garment, v = S.st.values, l = S.st.link;
  if (!v || !v.t) {
    $('live').textContent = 'Waiting for readings from ' + g.device + '…';
    return;
  }
  let t = 'Live from ' + g.device + ' · ' + g.rate_hz + ' Hz · updated ' +
          new Date(v.t_host_ns / 1e6).toLocaleTimeString();
  if (l.battery_pct !== null && l.battery_pct !== undefined) t += ' · battery ' + l.battery_pct + ' %';
  if (l.stream_missing) t += ' · ' + l.stream_missing + ' messages lost';
  $('live').textContent = t;
}

/* ---- the garment ------------------------------------------------------ */

const BREAST_R = 92;
const CENTRES = { left: [100, 100], right: [300, 100] };

/* Angles (degrees, 0 = right, counter-clockwise) of each quadrant, drawn
 * as the wearer sees herself looking down: outer is towards the arm. */
function quadrantAngles(side, q) {
  const leftSide = { 0: [90, 180], 1: [0, 90], 2: [270, 360], 3: [180, 270] };
  const rightSide = { 0: [0, 90], 1: [90, 180], 2: [180, 270], 3: [270, 360] };
  return (side === 'left' ? leftSide : rightSide)[q] || [0, 90];
}

function polar(cx, cy, r, deg) {
  const a = deg * Math.PI / 180;
  return [cx + r * Math.cos(a), cy - r * Math.sin(a)];
}

function sector(cx, cy, r0, r1, a0, a1) {
  const p = (r, a) => polar(cx, cy, r, a).map((x) => x.toFixed(1)).join(' ');
  const large = a1 - a0 > 180 ? 1 : 0;
  return 'M ' + p(r1, a0) + ' A ' + r1 + ' ' + r1 + ' 0 ' + large + ' 0 ' + p(r1, a1) +
         ' L ' + p(r0, a1) + ' A ' + r0 + ' ' + r0 + ' 0 ' + large + ' 1 ' + p(r0, a0) + ' Z';
}

function buildGarment() {
  const svg = $('garment');
  svg.textContent = '';
  S.shapes = [];
  if (!S.st || !S.st.zones.length) return;
  const zones = S.st.zones;
  for (const side of ['left', 'right']) {
    const mine = zones.filter((z) => z.side === side);
    const rings = [...new Set(mine.map((z) => z.ring))].sort((a, b) => a - b);
    const [cx, cy] = CENTRES[side];
    const inner = BREAST_R * 0.2, step = (BREAST_R - inner) / Math.max(rings.length, 1);
    rings.forEach((ring, ri) => {
      const r0 = inner + ri * step, r1 = inner + (ri + 1) * step;
      for (let q = 0; q < 4; q++) {
        const here = mine.filter((z) => z.ring === ring && z.quadrant === q);
        const [a0, a1] = quadrantAngles(side, q);
        here.forEach((z, k) => {
          const b0 = a0 + (a1 - a0) * k / here.length, b1 = a0 + (a1 - a0) * (k + 1) / here.length;
          const path = sel('path', { d: sector(cx, cy, r0, r1, b0, b1), class: 'zone-shape',
                                     'data-zone': String(z.index), tabindex: '0', role: 'button',
                                     'aria-label': z.name });
          path.addEventListener('click', () => openZone(z.index));
          path.addEventListener('keydown', (e) => { if (e.key === 'Enter') openZone(z.index); });
          const [tx, ty] = polar(cx, cy, (r0 + r1) / 2, (b0 + b1) / 2);
          const label = sel('text', { x: tx.toFixed(1), y: ty.toFixed(1) });
          const outline = sel('path', { d: path.getAttribute('d'), class: 'zone-outline' });
          outline.style.display = 'none';
          svg.append(path);
          S.shapes[z.index] = { path, label, outline };
        });
      }
    });
    svg.append(sel('circle', { cx, cy, r: inner - 2, class: 'nipple' }));
    const t = sel('text', { x: cx, y: cy + BREAST_R + 16, class: 'side' });
    t.textContent = side === 'left' ? 'Left' : 'Right';
    svg.append(t);
  }
  /* labels and outlines above every zone */
  for (const s of S.shapes) if (s) svg.append(s.label);
  for (const s of S.shapes) if (s) svg.append(s.outline);
}

function mix(c0, c1, f) {
  const h = (c) => [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16));
  const a = h(c0), b = h(c1);
  return '#' + a.map((x, i) => Math.round(x + (b[i] - x) * f).toString(16).padStart(2, '0')).join('');
}

/* Warmth: blue (cooler than usual) .. neutral .. orange/red (warmer);
 * firmness: teal (softer) .. neutral .. purple (firmer). */
function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

function light(c) {
  const h = (i) => parseInt(c.slice(i, i + 2), 16);
  return 0.299 * h(1) + 0.587 * h(3) + 0.114 * h(5) > 140;
}

/* The report's scales (report/report_svg.c): warmth (dL) saturates at
 * twice T2's threshold, firmness (R) at half and twice, on a log scale. */
function warmSpan() {
  const r = S.st && S.st.rules;
  return r && r.t2_delta_c > 0 ? 2 * r.t2_delta_c : 2;
}

function zoneColour(v) {
  if (v === null || v === undefined) return null;
  const neutral = cssVar('--zone-neutral') || '#d8d2c8';
  if (S.mode === 'warm') {
    const f = Math.max(-1, Math.min(1, v / warmSpan()));
    return f < 0 ? mix(neutral, '#3d7cc9', -f) : mix(neutral, f > 0.5 ? '#d7301f' : '#f08a3c', Math.min(1, f * 1.6));
  }
  const f = v > 0 ? Math.max(-1, Math.min(1, Math.log2(v))) : -1;
  return f < 0 ? mix(neutral, '#2a9d8f', -f) : mix(neutral, '#8e44ad', f);
}

function renderGarment() {
  if (!S.st || !S.shapes) return;
  const v = S.st.values || {};
  const active = [...S.alerts.values()].filter((a) => a.zone !== null && a.zone >= 0 && a.rule !== 'H1');
  S.shapes.forEach((s, z) => {
    if (!s) return;
    const metric = S.mode === 'warm' ? (v.warmth || [])[z] : (v.firmness || [])[z];
    const bad = v.status && v.status[z];
    const c = zoneColour(metric);
    s.path.style.fill = c || '';
    s.path.classList.toggle('sel', S.zone === z);
    const t = v.t && v.t[z], p = v.firmness && v.firmness[z];
    s.label.textContent = bad ? '!' : S.mode === 'warm' ? (t === null || t === undefined ? '' : t.toFixed(1))
                                              : (p === null || p === undefined ? '' : p.toFixed(2) + '×');
    s.label.setAttribute('class', c && light(c) ? '' : 'dim');
    let lvl = null;
    for (const a of active) if (a.zone === z && (!lvl || a.level > lvl)) lvl = a.level;
    s.outline.style.display = lvl ? '' : 'none';
    s.outline.setAttribute('class', 'zone-outline' + (lvl ? ' ' + lvl : ''));
    s.path.setAttribute('data-alert', lvl || '');
  });
  const legend = $('legend');
  legend.textContent = '';
  const bar = el('span', { class: 'bar' });
  const n = cssVar('--zone-neutral') || '#d8d2c8';
  bar.style.background = S.mode === 'warm'
    ? 'linear-gradient(90deg,#3d7cc9,' + n + ',#f08a3c,#d7301f)'
    : 'linear-gradient(90deg,#2a9d8f,' + n + ',#8e44ad)';
  const rules = S.st.rules || {};
  legend.append(el('span', {}, S.mode === 'warm' ? '−' + warmSpan() + ' °C cooler' : '×0.5 softer'), bar,
                el('span', {}, S.mode === 'warm' ? '+' + warmSpan() + ' °C warmer' : '×2 firmer'));
  const learning = !(v.warmth || []).some((x) => x !== null);
  const stale = !S.st.link.link_up || (S.valuesAt && Date.now() - S.valuesAt > STALE_MS);
  $('garment').classList.toggle('stale', !!stale);
  $('legend-note').textContent = learning && v.t ? 'Learning what is usual for each zone: colours appear after the first minutes of wear.'
    : stale ? 'These are the last readings the hub had.' : S.mode === 'warm'
    ? 'Each zone against its own usual warmth next to its neighbours (the rules\' dL); numbers are °C.'
      + (rules.t1_delta_c ? ' Alerts from +' + rules.t1_delta_c + ' °C.' : '')
    : 'Each zone\'s pressure against its pressure after a feed (the rules\' R); numbers are times that.'
      + (rules.f1_r ? ' Alerts from ×' + rules.f1_r + '.' : '');
}

async function openZone(z) {
  S.zone = z;
  $('zone').hidden = false;
  $('zone-name').textContent = zoneWords(S.st.zones[z].name);
  renderZoneValues();
  renderGarment();
  await loadTrend();
  $('zone').scrollIntoView({ behavior: 'smooth', block: 'nearest' });
}

function renderZoneValues() {
  const z = S.zone, v = S.st.values || {};
  const dl = $('zone-values');
  dl.textContent = '';
  const row = (k, val) => { dl.append(el('dt', {}, k), el('dd', {}, val)); };
  const num = (a, d, u) => (a && a[z] !== null && a[z] !== undefined ? a[z].toFixed(d) + u : '—');
  row('Temperature', num(v.t, 2, ' °C'));
  const w = v.warmth && v.warmth[z];
  row('Warmth', w === null || w === undefined ? 'learning…'
      : (w >= 0 ? '+' : '') + w.toFixed(2) + ' °C against its usual, next to its neighbours');
  row('Pressure', num(v.p, 2, ' kPa'));
  const f = v.firmness && v.firmness[z];
  row('Firmness', f === null || f === undefined ? 'learning…' : f.toFixed(2) + '× its pressure after a feed');
  for (const a of S.alerts.values()) if (a.zone === z) row(RULE_TITLES[a.rule] || a.rule, 'active');
}

async function loadTrend() {
  const z = S.zone;
  if (z === null) return;
  try {
    const r = await api('/api/trend/' + encodeURIComponent(S.device) + '?zone=' + z + '&hours=' + S.hours);
    if (r.ok) drawTrend(await r.json());
  } catch (err) { /* kept as it was */ }
}

function drawTrend(tr) {
  const svg = $('trend');
  svg.textContent = '';
  const W = 340, H = 160, L = 34, R = 34, T = 8, B = 22;
  const n = tr.t.length;
  const line = (vals, cls, axisRight) => {
    const ok = vals.filter((x) => x !== null);
    if (!ok.length) return;
    let lo = Math.min(...ok), hi = Math.max(...ok);
    if (hi - lo < (cls === 't' ? 0.5 : 0.2)) { const m = (hi + lo) / 2; lo = m - 0.25; hi = m + 0.25; }
    let d = '';
    vals.forEach((y, i) => {
      if (y === null) return;
      const x = L + (W - L - R) * (n > 1 ? i / (n - 1) : 1);
      const yy = T + (H - T - B) * (1 - (y - lo) / (hi - lo));
      d += (d && vals[i - 1] !== null ? ' L ' : ' M ') + x.toFixed(1) + ' ' + yy.toFixed(1);
    });
    svg.append(sel('path', { d, class: cls }));
    const lab = (y, val) => {
      const t = sel('text', { x: axisRight ? W - R + 4 : 2, y });
      t.textContent = val.toFixed(cls === 't' ? 1 : 2);
      svg.append(t);
    };
    lab(T + 8, hi);
    lab(H - B, lo);
  };
  svg.append(sel('line', { x1: L, y1: H - B, x2: W - R, y2: H - B, class: 'axis' }));
  line(tr.t, 't', false);
  line(tr.p, 'p', true);
  const cap = sel('text', { x: L, y: H - 6 });
  cap.textContent = S.hours + ' h ago';
  const now = sel('text', { x: W - R - 22, y: H - 6 });
  now.textContent = 'now';
  const key = sel('text', { x: W / 2 - 60, y: H - 6 });
  key.textContent = '— °C (red) · kPa (blue)';
  svg.append(cap, now, key);
}

/* ---- the feeding log -------------------------------------------------- */

function dayName(ns) {
  const d = new Date(ns / 1e6), today = new Date();
  const y = new Date(today.getTime() - 86400000);
  if (d.toDateString() === today.toDateString()) return 'Today';
  if (d.toDateString() === y.toDateString()) return 'Yesterday';
  return d.toLocaleDateString();
}

function logText(r) {
  if (r.kind === 'feed') {
    const what = 'Feed, ' + (r.side === 'none' ? 'side not given' : r.side);
    const dur = r.ended ? span(r.duration_s) : 'no end logged yet';
    return [what, dur + (r.gap_s !== null ? ' · ' + span(r.gap_s) + ' after the one before' : '')];
  }
  if (r.kind === 'pump') return ['Pumping', r.ended ? span(r.duration_s) : 'no end logged yet'];
  if (r.kind === 'thermometer') return ['Temperature ' + r.value.toFixed(1) + ' °C', r.value >= 38 ? 'fever' : ''];
  return [KIND_LABELS[r.kind] || r.kind, r.text];
}

function renderLog(rows) {
  const tb = $('log').tBodies[0];
  tb.textContent = '';
  $('log-empty').hidden = rows.length > 0;
  let day = '';
  for (const r of rows.slice().reverse()) {
    const d = dayName(r.clock_ns);
    if (d !== day) {
      day = d;
      const tr = el('tr', { class: 'day' });
      tr.append(el('td', { colspan: '2' }, d));
      tb.append(tr);
    }
    const [main, sub] = logText(r);
    const tr = el('tr', { 'data-kind': r.kind, 'data-seq': String(r.seq) });
    tr.append(el('td', { class: 'when' }, clock(r.clock_ns)));
    const what = el('td', { class: 'what' + (r.kind === 'thermometer' && r.value >= 38 ? ' fever' : '') }, main);
    if (sub) what.append(el('small', {}, sub));
    tr.append(what);
    tb.append(tr);
  }
}

/* ---- notifications while the page is open ----------------------------- */

function notify(a) {
  if (a.state === 'cleared' || a.level === 'L0' || a.rule in SENSOR_WORDS) return;
  const key = a.device + '/' + a.id + '/' + a.level;
  if (S.notified.has(key)) return;
  S.notified.add(key);
  if (!('Notification' in window) || Notification.permission !== 'granted') return;
  try {
    new Notification(RULE_TITLES[a.rule] || 'ductwatch', { body: a.message, tag: key });
  } catch (err) { /* some phones only allow it from a service worker */ }
}

/* ---- wiring ----------------------------------------------------------- */

function onButton(b) {
  const f = (S.st && S.st.feeding) || {};
  if (b.dataset.action === 'temperature') {
    $('temp-error').hidden = true;
    $('temp-value').value = '';
    $('temp-dialog').showModal();
    return;
  }
  const kind = b.dataset.kind;
  let side = b.dataset.side || 'none';
  if (kind === 'feed-end' && f.in_feed && f.last_side) side = f.last_side;
  const events = [{ kind, side }];
  if (b.dataset.also) events.push({ kind: b.dataset.also, side: 'none' });
  tap(b.textContent.trim() + (kind === 'feed-end' && side !== 'none' ? ' (' + side + ')' : ''), events);
}

function onTemperature(e) {
  e.preventDefault();
  if (e.submitter && e.submitter.value === 'cancel') {
    $('temp-dialog').close();
    return;
  }
  const v = parseFloat(String($('temp-value').value).replace(',', '.'));
  if (!(v >= 30 && v <= 45)) {
    $('temp-error').textContent = 'A temperature between 30 and 45 °C, e.g. 37.8';
    $('temp-error').hidden = false;
    return;
  }
  $('temp-dialog').close();
  tap('Temperature ' + v.toFixed(1) + ' °C', [{ kind: 'thermometer', side: 'none', value: Math.round(v * 10) / 10 }]);
}

function setMode(m) {
  S.mode = m;
  $('m-warm').classList.toggle('on', m === 'warm');
  $('m-firm').classList.toggle('on', m === 'firm');
  $('m-warm').setAttribute('aria-pressed', String(m === 'warm'));
  $('m-firm').setAttribute('aria-pressed', String(m === 'firm'));
  renderGarment();
}

function init() {
  loadQueue();
  renderPending();
  for (const b of document.querySelectorAll('.buttons .big')) b.addEventListener('click', () => onButton(b));
  $('temp-form').addEventListener('submit', onTemperature);
  $('undo').addEventListener('click', () => { if (S.toastGroup) undo(S.toastGroup); });
  $('m-warm').addEventListener('click', () => setMode('warm'));
  $('m-firm').addEventListener('click', () => setMode('firm'));
  $('zone-close').addEventListener('click', () => { S.zone = null; $('zone').hidden = true; renderGarment(); });
  for (const b of document.querySelectorAll('#zone .seg-b')) {
    b.addEventListener('click', () => {
      S.hours = Number(b.dataset.hours);
      for (const o of document.querySelectorAll('#zone .seg-b')) o.classList.toggle('on', o === b);
      loadTrend();
    });
  }
  if ('Notification' in window && Notification.permission === 'default') {
    $('notify').hidden = false;
    $('notify').addEventListener('click', () => {
      Notification.requestPermission().then(() => { $('notify').hidden = true; });
    });
  }
  window.addEventListener('online', pump);
  setInterval(() => { renderSummary(); renderProblems(); }, 30000);
  /* values that stopped coming are dimmed within a few seconds of STALE_MS */
  setInterval(renderGarment, 5000);
  setInterval(() => { if (S.zone !== null) loadTrend(); }, 60000);
  connect();
  refreshSessions();
  pump();
}

document.addEventListener('DOMContentLoaded', init);
