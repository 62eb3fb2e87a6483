// Charts over time with uPlot (vendor/, MIT): the axis in the calendar's
// timezone, the width of their box (redrawn when it changes), and bars
// for counts with some buckets shaded (floods).
import uPlot from './vendor/uPlot.esm.js';
import { getZone, hhmm, hhmmss, dayOf } from './fmt.js';

export const COLORS = ['#4da3ff', '#f5b700', '#3ddc84', '#ff6b6b', '#c58cff', '#34d1d1', '#ff9f43'];

function cssVar(name, fallback) {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || fallback;
}

// Time ticks in the calendar's zone, 24-hour: seconds for a few minutes,
// the date at midnight and for several days.
function xValues(u, splits) {
  const span = u.scales.x.max - u.scales.x.min;
  return splits.map((s) => {
    const d = new Date(s * 1000);
    if (span > 3 * 86400) return dayOf(d).slice(5);
    if (span < 300) return hhmmss(d);
    const t = hhmm(d);
    return t === '00:00' ? dayOf(d).slice(5) : t;
  });
}

function axes(yFmt) {
  const grid = { stroke: cssVar('--grid', 'rgba(128,128,128,0.2)'), width: 1 };
  const stroke = cssVar('--muted', '#8a96a3');
  return [
    { stroke, grid, ticks: grid, values: xValues, space: 90 },
    { stroke, grid, ticks: grid, size: 84, values: (u, vals) => vals.map((v) => (yFmt ? yFmt(v) : v)) },
  ];
}

// Keeps a chart as wide as its box.
function follow(u, box, height) {
  const ro = new ResizeObserver(() => {
    const w = Math.max(200, box.clientWidth);
    if (Math.abs(w - u.width) > 2) u.setSize({ width: w, height });
  });
  ro.observe(box);
  return ro;
}

// data: [xs (seconds), ys...]; series: [{label, color, dash, width}]
export function timeChart(box, data, series, { height = 180, yFmt, yRange } = {}) {
  const opts = {
    width: Math.max(200, box.clientWidth || 600),
    height,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), getZone()),
    scales: { x: { time: true }, y: yRange ? { range: yRange } : {} },
    axes: axes(yFmt),
    legend: { show: true, live: true },
    cursor: { drag: { x: true, y: false } },
    series: [{ value: '{YYYY}-{MM}-{DD} {HH}:{mm}:{ss}' }, ...series.map((s, i) => ({
      label: s.label,
      stroke: s.color || COLORS[i % COLORS.length],
      width: s.width || 1.5,
      dash: s.dash,
      fill: s.fill,
      spanGaps: s.spanGaps,
      points: { show: false },
      value: (u, v) => (v === null || v === undefined ? '—' : yFmt ? yFmt(v) : v),
    }))],
  };
  const u = new uPlot(opts, data, box);
  u._ro = follow(u, box, height);
  return u;
}

// Counts per bucket as bars; shade(i) true for a bucket to shade behind.
export function barChart(box, xs, ys, { height = 200, label = '', color = COLORS[0], shade, shadeColor = 'rgba(255,80,80,0.18)' } = {}) {
  const bars = uPlot.paths.bars({ size: [0.8, 40] });
  const opts = {
    width: Math.max(200, box.clientWidth || 600),
    height,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), getZone()),
    scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(12, max * 1.1)] } },
    axes: axes(),
    legend: { show: true },
    series: [{ value: '{MM}-{DD} {HH}:{mm}' }, { label, stroke: color, fill: color, paths: bars, points: { show: false } }],
    hooks: {
      drawClear: [(u) => {
        if (!shade) return;
        const c = u.ctx;
        const step = xs.length > 1 ? xs[1] - xs[0] : 600;
        c.save();
        c.fillStyle = shadeColor;
        for (let i = 0; i < xs.length; i++) {
          if (!shade(i)) continue;
          const x0 = u.valToPos(xs[i] - step / 2, 'x', true);
          const x1 = u.valToPos(xs[i] + step / 2, 'x', true);
          c.fillRect(x0, u.bbox.top, x1 - x0, u.bbox.height);
        }
        c.restore();
      }],
    },
  };
  const u = new uPlot(opts, [xs, ys], box);
  u._ro = follow(u, box, height);
  return u;
}

export function destroy(u) {
  if (!u) return;
  if (u._ro) u._ro.disconnect();
  u.destroy();
}
