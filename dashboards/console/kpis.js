// The KPIs (docs/kpis.md) of a shift or a day as a page to print: the
// figures, the alarms raised per 10 minutes with the floods shaded (more
// than 10 in a bucket), and the ten noisiest rules.
import * as api from './api.js';
import { h, fill, message } from './dom.js';
import * as fmt from './fmt.js';
import { t, has } from './i18n.js';
import { barChart, destroy } from './chart.js';

const FLOOD = 10;

function metricName(m) {
  return has(`kpi.${m}`) ? t(`kpi.${m}`) : m;
}

function kpiValue(m, v) {
  if (v === null || v === undefined) return '—';
  const n = Number(v);
  if (/_share$|ack_within_target/.test(m)) return `${fmt.num((n * 100).toFixed(1))} %`;
  if (/_time_|drill_duration/.test(m)) return fmt.duration(n);
  return fmt.num(Number(n.toFixed(2)));
}

export function view(root, ctx, arg) {
  let chart = null;
  const msg = h('p', { class: 'msg' });
  const pick = h('select', { id: 'kpi-pick' });
  const day = h('input', { type: 'date', id: 'kpi-day', value: fmt.dayOf(new Date()) });
  const out = h('div', { class: 'report', id: 'report' });
  root.append(h('section', { class: 'panel kpis' },
    h('div', { class: 'kpi-controls noprint' },
      h('label', null, t('kpis.shift'), ' ', pick),
      h('label', null, t('kpis.day'), ' ', day),
      h('button', { type: 'button', id: 'kpi-print', on: { click: () => window.print() } }, t('kpis.print')),
      msg),
    out));

  async function loadShifts() {
    let shifts = [];
    try {
      const from = new Date(Date.now() - 7 * 86400 * 1000).toISOString();
      shifts = await api.get(`/shifts${api.qs({ from })}`);
    } catch (e) {
      /* no shifts: the day report only */
    }
    fill(pick, h('option', { value: '' }, t('kpis.pickday')),
      shifts.map((s) => h('option', { value: s.id }, `${s.name} ${fmt.dateTime(s.started_at).slice(0, 16)}${s.ended_at ? '' : ` (${t('kpis.current')})`}`)));
    if (arg && /^\d+$/.test(arg)) pick.value = arg;
    else if (shifts.length && !shifts[0].ended_at && !arg) pick.value = String(shifts[0].id);
    load();
  }

  async function load() {
    message(msg, '');
    let r;
    let title;
    try {
      if (pick.value) {
        r = await api.get(`/shifts/${pick.value}/report`);
        title = t('kpis.title.shift', { name: pick.selectedOptions[0].textContent });
      } else {
        r = await api.get(`/report${api.qs({ day: day.value })}`);
        title = t('kpis.title.day', { day: day.value });
      }
    } catch (e) {
      message(msg, e.message);
      return;
    }
    render(r, title);
  }

  function render(r, title) {
    destroy(chart);
    chart = null;
    const k = r.kpis || [];
    const one = (m, label = null) => {
      const row = k.find((x) => x.metric === m && (x.label ?? null) === label);
      return row ? row.value : null;
    };
    const tiles = ['alarms_raised', 'alarms_per_10min', 'peak_10min', 'floods', 'flood_time_share', 'standing', 'stale', 'chattering']
      .map((m) => h('div', { class: 'tile', dataset: { metric: m } },
        h('span', { class: 'v' }, kpiValue(m, one(m))), h('span', { class: 'l' }, metricName(m))));
    const plot = h('div', { class: 'plot', id: 'kpi-chart' });
    const top = k.filter((x) => x.metric === 'noisiest_rule').sort((a, b) => Number(b.value) - Number(a.value)).slice(0, 10);
    const max = Math.max(1, ...top.map((x) => Number(x.value)));
    const rest = k.filter((x) => !['noisiest_rule', 'noisiest_share'].includes(x.metric));
    fill(out,
      h('h2', null, title),
      h('p', { class: 'muted' }, `${fmt.dateTime(r.from)} – ${fmt.dateTime(r.to)} (${fmt.getZone()})`),
      h('div', { class: 'tiles' }, tiles),
      h('figure', { class: 'chart wide' }, h('figcaption', null, t('kpis.per10'), ' ', h('span', { class: 'flood-key' }, t('kpis.flood', { n: FLOOD }))), plot),
      h('figure', { class: 'top-rules', id: 'top-rules' }, h('figcaption', null, t('kpis.top')),
        top.length === 0 ? h('p', { class: 'muted' }, t('kpis.norules')) : h('ol', null, top.map((x) => {
          const bar = h('span', { class: 'bar' });
          bar.style.width = `${(Number(x.value) / max) * 100}%`;
          return h('li', null, h('span', { class: 'rule' }, x.label), h('span', { class: 'barbox' }, bar), h('span', { class: 'n' }, fmt.num(x.value)));
        }))),
      h('table', { class: 'kpi-table' },
        h('thead', null, h('tr', null, h('th', null, t('kpis.metric')), h('th', null, t('kpis.label')), h('th', null, t('kpis.value')))),
        h('tbody', null, rest.map((x) => h('tr', null, h('td', null, metricName(x.metric)), h('td', null, x.label || ''), h('td', null, kpiValue(x.metric, x.value)))))));
    const buckets = r.per_10min || [];
    if (buckets.length) {
      const xs = buckets.map((b) => fmt.parseTs(b.at).getTime() / 1000 + 300);
      const ys = buckets.map((b) => Number(b.raised));
      chart = barChart(plot, xs, ys, { label: t('kpis.raised'), shade: (i) => ys[i] > FLOOD, height: 220 });
    }
  }

  pick.addEventListener('change', load);
  day.addEventListener('change', () => {
    pick.value = '';
    load();
  });
  loadShifts();
  return {
    onEvent(kind) {
      /* a report is read when asked for; an alarm does not redraw it */
      void kind;
    },
    unmount() {
      destroy(chart);
    },
  };
}
