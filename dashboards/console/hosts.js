// Hosts: the agents, and a host's series as charts over the last hour or
// day. Lines (a probe with util_pct) are drawn against their capacity;
// fill levels with their growth trend and, where they grow, when they
// will be full.
import * as api from './api.js';
import { h, fill } from './dom.js';
import * as fmt from './fmt.js';
import { t } from './i18n.js';
import { timeChart, destroy, COLORS } from './chart.js';

// The last hour as measured; a day as 5-minute averages (a 1 s series
// would be 86 400 points).
const RANGES = { '1h': { secs: 3600, step: undefined }, '1d': { secs: 86400, step: 300 } };
let range = '1h';

// ---- #/hosts ----

export function listView(root, ctx) {
  const list = h('table', { class: 'hosts', id: 'hosts' });
  root.append(h('section', { class: 'panel' }, h('h2', null, t('hosts.title')), list));
  async function load() {
    let agents;
    try {
      agents = await api.get('/agents');
    } catch (e) {
      fill(list, h('tr', null, h('td', { class: 'msg error' }, e.message)));
      return;
    }
    fill(list,
      h('thead', null, h('tr', null, [t('hosts.name'), t('hosts.role'), t('hosts.version'), t('hosts.address'), t('hosts.lastseen'), ''].map((c) => h('th', null, c)))),
      h('tbody', null, agents.map((a) => {
        const silent = a.silent === 't';
        return h('tr', { class: silent ? 'silent' : 'up' },
          h('td', null, h('a', { href: `#/hosts/${encodeURIComponent(a.name)}` }, a.name)),
          h('td', null, a.role), h('td', null, a.version || ''), h('td', null, a.address || ''),
          h('td', null, fmt.time(a.last_seen)),
          h('td', null, h('span', { class: `dot ${silent ? 'silent' : 'up'}` }), silent ? t('agent.silent.short') : t('agent.up')));
      })));
  }
  load();
  return {
    onEvent(kind) {
      if (kind === 'agent' || kind === '*') load();
    },
  };
}

// ---- #/hosts/NAME ----

async function samples(host, series, secs, step) {
  const from = new Date(Date.now() - secs * 1000).toISOString();
  const rows = await api.get(`/samples${api.qs({ host, series, from, step })}`);
  return rows.map((r) => [fmt.parseTs(r.ts).getTime() / 1000, Number(r.value)]);
}

// Least squares over [x seconds, y]: y per day, and y at any x. Less
// than an hour says nothing of a growth by the day (a burst of writes
// would read as "full tonight").
const TREND_SPAN = 3600;

function trend(points) {
  const n = points.length;
  if (n < 3 || points[n - 1][0] - points[0][0] < TREND_SPAN) return null;
  const x0 = points[0][0];
  let sx = 0;
  let sy = 0;
  let sxx = 0;
  let sxy = 0;
  for (const [x, y] of points) {
    const d = (x - x0) / 86400;
    sx += d;
    sy += y;
    sxx += d * d;
    sxy += d * y;
  }
  const den = n * sxx - sx * sx;
  if (den <= 0) return null;
  const slope = (n * sxy - sx * sy) / den;
  const icpt = (sy - slope * sx) / n;
  return { slope, at: (x) => icpt + slope * ((x - x0) / 86400) };
}

// A small queue: a host with many series does not fire every request at once.
function queue(limit) {
  let active = 0;
  const waiting = [];
  const next = () => {
    if (active >= limit || waiting.length === 0) return;
    active++;
    const [fn, ok, ko] = waiting.shift();
    fn().then(ok, ko).finally(() => {
      active--;
      next();
    });
  };
  return (fn) => new Promise((ok, ko) => {
    waiting.push([fn, ok, ko]);
    next();
  });
}

export function hostView(root, ctx, host) {
  const charts = [];
  let gen = 0;
  const head = h('div', { class: 'host-head' });
  const body = h('div', { class: 'host-body', id: 'host-charts' });
  root.append(h('section', { class: 'panel host' }, h('p', null, h('a', { href: '#/hosts' }, `← ${t('hosts.title')}`)), head, body));

  function renderHead() {
    fill(head, h('h2', null, t('host.title', { host })),
      h('div', { class: 'range' }, Object.keys(RANGES).map((r) => h('button', {
        type: 'button',
        class: r === range ? 'active' : '',
        dataset: { range: r },
        on: {
          click: () => {
            range = r;
            renderHead();
            load();
          },
        },
      }, t(`range.${r}`)))));
  }

  function clearCharts() {
    while (charts.length) destroy(charts.pop());
  }

  function box(title, note) {
    const plot = h('div', { class: 'plot' });
    const noteEl = h('p', { class: 'chart-note' }, note || '');
    const card = h('figure', { class: 'chart' }, h('figcaption', null, title), noteEl, plot);
    return { card, plot, noteEl };
  }

  async function load() {
    const my = ++gen;
    clearCharts();
    fill(body, h('p', { class: 'muted' }, t('loading')));
    let series;
    try {
      series = (await api.get(`/series${api.qs({ host })}`)).map((r) => r.series);
    } catch (e) {
      fill(body, h('p', { class: 'msg error' }, e.message));
      return;
    }
    if (my !== gen) return;
    if (series.length === 0) {
      fill(body, h('p', { class: 'muted', id: 'host-empty' }, t('host.noseries')));
      return;
    }
    const { secs, step } = RANGES[range];
    const q = queue(4);
    const set = new Set(series);
    const lines = series.filter((s) => s.endsWith('.util_pct')).map((s) => s.slice(0, -'.util_pct'.length));
    const fills = series.filter((s) => s.endsWith('.fill_pct'));
    const used = new Set();
    const sections = [];

    // Lines: in/out against the capacity (derived from util_pct).
    const lineBoxes = lines.map((p) => {
      const b = box(t('host.line', { name: p }));
      used.add(`${p}.util_pct`);
      if (set.has(`${p}.in_bps`)) used.add(`${p}.in_bps`);
      if (set.has(`${p}.out_bps`)) used.add(`${p}.out_bps`);
      return { p, ...b };
    });
    if (lineBoxes.length) sections.push(h('section', { class: 'charts lines' }, h('h3', null, t('host.lines')), lineBoxes.map((b) => b.card)));

    const fillBoxes = fills.map((s) => {
      used.add(s);
      return { s, ...box(t('host.fill', { name: s.slice(0, -'.fill_pct'.length) })) };
    });
    if (fillBoxes.length) sections.push(h('section', { class: 'charts fills' }, h('h3', null, t('host.fills')), fillBoxes.map((b) => b.card)));

    const rest = series.filter((s) => !used.has(s));
    const groups = new Map();
    for (const s of rest) {
      const g = s.split('.')[0];
      if (!groups.has(g)) groups.set(g, []);
      groups.get(g).push(s);
    }
    const restBoxes = [];
    for (const [g, list] of groups) {
      const boxes = list.map((s) => ({ s, ...box(s) }));
      restBoxes.push(...boxes);
      sections.push(h('section', { class: 'charts small' }, h('h3', null, g), boxes.map((b) => b.card)));
    }
    fill(body, sections);

    const keep = (u) => {
      if (my !== gen) destroy(u);
      else charts.push(u);
    };

    for (const b of lineBoxes) {
      q(async () => {
        const [util, inb, outb] = await Promise.all([
          samples(host, `${b.p}.util_pct`, secs, step),
          set.has(`${b.p}.in_bps`) ? samples(host, `${b.p}.in_bps`, secs, step) : [],
          set.has(`${b.p}.out_bps`) ? samples(host, `${b.p}.out_bps`, secs, step) : [],
        ]);
        if (my !== gen) return;
        drawLine(b, util, inb, outb, keep);
      }).catch((e) => { b.noteEl.textContent = e.message; });
    }
    for (const b of fillBoxes) {
      q(async () => {
        // The trend over the day's 10-minute averages.
        const day = await samples(host, b.s, 86400, 600);
        const pts = range === '1d' ? day : await samples(host, b.s, secs, step);
        if (my !== gen) return;
        drawFill(b, pts, day, keep);
      }).catch((e) => { b.noteEl.textContent = e.message; });
    }
    for (const b of restBoxes) {
      q(async () => {
        const pts = await samples(host, b.s, secs, step);
        if (my !== gen) return;
        if (pts.length === 0) {
          b.noteEl.textContent = t('host.nodata');
          return;
        }
        b.noteEl.textContent = t('host.last', { v: fmt.valueFor(b.s, pts[pts.length - 1][1]) });
        keep(timeChart(b.plot, [pts.map((p) => p[0]), pts.map((p) => p[1])],
          [{ label: b.s.split('.').slice(1).join('.') || b.s }], { height: 140, yFmt: (v) => fmt.valueFor(b.s, v) }));
      }).catch((e) => { b.noteEl.textContent = e.message; });
    }
  }

  function drawLine(b, util, inb, outb, keep) {
    if (util.length === 0) {
      b.noteEl.textContent = t('host.nodata');
      return;
    }
    const byTs = (pts) => new Map(pts.map(([x, y]) => [x, y]));
    const mi = byTs(inb);
    const mo = byTs(outb);
    // util = max(in, out) / capacity: the capacity is what makes them agree.
    const caps = [];
    for (const [x, u] of util) {
      const peak = Math.max(mi.get(x) || 0, mo.get(x) || 0);
      if (u > 0.01 && peak > 0) caps.push((peak * 100) / u);
    }
    caps.sort((a, c) => a - c);
    const cap = caps.length ? caps[Math.floor(caps.length / 2)] : null;
    const last = util[util.length - 1][1];
    const peak = Math.max(...util.map((p) => p[1]));
    b.noteEl.textContent = cap
      ? t('host.line.note', { now: fmt.num(last.toFixed(1)), peak: fmt.num(peak.toFixed(1)), cap: fmt.bps(cap) })
      : t('host.line.noteonly', { now: fmt.num(last.toFixed(1)), peak: fmt.num(peak.toFixed(1)) });
    const xs = util.map((p) => p[0]);
    if (cap && (inb.length || outb.length)) {
      keep(timeChart(b.plot, [xs, xs.map((x) => mi.get(x) ?? null), xs.map((x) => mo.get(x) ?? null), xs.map(() => cap)],
        [{ label: t('host.in') }, { label: t('host.out') }, { label: t('host.capacity'), color: COLORS[3], dash: [6, 4] }],
        { height: 200, yFmt: fmt.bps, yRange: (u, min, max) => [0, Math.max(cap * 1.05, max)] }));
    } else {
      keep(timeChart(b.plot, [xs, util.map((p) => p[1]), xs.map(() => 100)],
        [{ label: 'util %' }, { label: t('host.capacity'), color: COLORS[3], dash: [6, 4] }],
        { height: 200, yFmt: (v) => `${fmt.num(v)} %`, yRange: [0, 105] }));
    }
  }

  function drawFill(b, pts, day, keep) {
    if (pts.length === 0) {
      b.noteEl.textContent = t('host.nodata');
      return;
    }
    const tr = trend(day);
    const last = pts[pts.length - 1][1];
    let note = t('host.fill.now', { v: fmt.num(last.toFixed(1)) });
    if (tr && tr.slope > 0.01 && last < 100) {
      const days = (100 - last) / tr.slope;
      note += ` · ${t('host.fill.grows', { r: fmt.num(tr.slope.toPrecision(2)) })} · `;
      if (days > 365) note += t('host.fill.year');
      else if (days < 2) note += t('host.fill.hours', { h: Math.max(1, Math.round(days * 24)) });
      else note += t('host.fill.full', { d: fmt.num(days < 10 ? days.toFixed(1) : Math.round(days)) });
      b.card.classList.add('growing');
      if (days < 7) b.card.classList.add('soon');
    } else note += ` · ${tr ? t('host.fill.steady') : t('host.fill.young')}`;
    b.noteEl.textContent = note;
    const xs = pts.map((p) => p[0]);
    const series = [{ label: 'fill %' }];
    const data = [xs, pts.map((p) => p[1])];
    if (tr) {
      data.push(xs.map((x) => tr.at(x)));
      series.push({ label: t('host.trend'), color: COLORS[1], dash: [4, 4] });
    }
    data.push(xs.map(() => 100));
    series.push({ label: t('host.full'), color: COLORS[3], dash: [6, 4] });
    keep(timeChart(b.plot, data, series, { height: 200, yFmt: (v) => `${fmt.num(Number(v.toFixed(1)))} %`, yRange: [0, 105] }));
  }

  renderHead();
  load();
  return {
    unmount() {
      gen++;
      clearCharts();
    },
  };
}
