// One alarm: its row in the list, its detail (runbook, procedure, ack
// with a note, shelve, history of the same rule on the same host), and
// the order of the list: what needs a person first, then severity.
import { h } from './dom.js';
import * as fmt from './fmt.js';
import { t, has } from './i18n.js';

const STATE_ORDER = ['active-unacknowledged', 'cleared-unacknowledged', 'active-acknowledged',
  'suppressed', 'shelved', 'out-of-service', 'closed'];
const SEVERITY_ORDER = ['critical', 'major', 'minor', 'warning', 'info'];

function rank(list, v) {
  const i = list.indexOf(v);
  return i < 0 ? list.length : i;
}

export function sorted(alarms) {
  return [...alarms].sort((a, b) => rank(STATE_ORDER, a.state) - rank(STATE_ORDER, b.state)
    || rank(SEVERITY_ORDER, a.severity) - rank(SEVERITY_ORDER, b.severity)
    || (fmt.parseTs(b.raised_at) - fmt.parseTs(a.raised_at))
    || Number(b.id) - Number(a.id));
}

export function ackable(a) {
  return a.state === 'active-unacknowledged' || a.state === 'cleared-unacknowledged';
}

export function stateName(s) {
  return has(`state.${s}`) ? t(`state.${s}`) : s;
}

// The severity's name stays as configured (not translated).
function sev(a) {
  return h('span', { class: `sev sev-${a.severity}` }, a.severity);
}

export function row(a, { selected, canAck, onSelect, onAck }) {
  return h('li', {
    class: ['alarm', `sev-${a.severity}`, `state-${a.state}`, selected && 'selected'],
    dataset: { alarmId: a.id, state: a.state },
    tabIndex: 0,
    on: { click: onSelect },
  },
  sev(a),
  h('span', { class: 'state' }, stateName(a.state)),
  h('span', { class: 'host' }, a.host),
  h('span', { class: 'rule' }, a.rule),
  h('span', { class: 'value', title: a.series }, `${a.series} = ${fmt.num(a.value)}`),
  h('time', { class: 'raised', title: fmt.dateTime(a.raised_at) }, fmt.time(a.raised_at)),
  h('span', { class: 'acked' }, a.acked_by ? t('alarm.ackedby', { who: a.acked_by }) : ''),
  canAck && ackable(a)
    ? h('button', {
      type: 'button',
      class: 'ack',
      on: {
        click: (ev) => {
          ev.stopPropagation();
          onAck();
        },
      },
    }, t('alarm.ack'))
    : h('span', { class: 'noack' }));
}

function link(text) {
  // A runbook is often a URL: a link (opened in a new tab, by the person's
  // click only), otherwise the text as written.
  if (/^https?:\/\/\S+$/.test(text)) return h('a', { href: text, target: '_blank', rel: 'noopener noreferrer' }, text);
  return text;
}

export function detail(a, d, ctx, act) {
  const out = [];
  out.push(h('h3', null, sev(a), ' ', `${a.rule} @ ${a.host}`, ' ',
    h('span', { class: `badge state-${a.state}`, id: 'detail-state' }, stateName(a.state))));
  out.push(h('dl', { class: 'facts' },
    h('dt', null, t('alarm.series')), h('dd', null, `${a.series} = ${fmt.num(a.value)}`),
    h('dt', null, t('alarm.raised')), h('dd', null, fmt.dateTime(a.raised_at)),
    a.acked_by ? [h('dt', null, t('alarm.acked.label')), h('dd', null, `${a.acked_by} ${fmt.time(a.acked_at)}`)] : null,
    a.cleared_at ? [h('dt', null, t('alarm.cleared')), h('dd', null, fmt.dateTime(a.cleared_at))] : null,
    a.description ? [h('dt', null, t('alarm.description')), h('dd', null, a.description)] : null,
    h('dt', null, t('alarm.runbook')), h('dd', { class: 'runbook', id: 'runbook' }, a.runbook ? link(a.runbook) : t('alarm.norunbook'))));

  const msg = h('p', { class: 'msg', id: 'ack-msg', role: 'status' });
  if (a.procedure && ctx.can('watchstander')) {
    out.push(h('p', null, h('button', {
      type: 'button',
      class: 'procedure',
      on: { click: () => act.procedure(a.procedure) },
    }, t('alarm.procedure', { name: a.procedure }))));
  }
  if (ctx.can('watchstander')) {
    if (ackable(a)) {
      const note = h('input', { id: 'ack-note', placeholder: t('alarm.note'), maxlength: 500 });
      out.push(h('form', {
        class: 'ack-form',
        on: {
          submit: (ev) => {
            ev.preventDefault();
            act.ack(note.value.trim());
          },
        },
      }, note, h('button', { type: 'submit', class: 'ack', id: 'ack-submit' }, t('alarm.ack.submit'))));
    }
    if (a.state === 'shelved') {
      out.push(h('p', null, h('button', { type: 'button', id: 'unshelve', on: { click: () => act.unshelve() } }, t('alarm.unshelve'))));
    } else {
      const minutes = h('input', { id: 'shelve-minutes', type: 'number', min: 1, step: 1, value: 30, class: 'minutes' });
      const reason = h('input', { id: 'shelve-reason', placeholder: t('alarm.shelve.reason'), maxlength: 500 });
      out.push(h('form', {
        class: 'shelve-form',
        on: {
          submit: (ev) => {
            ev.preventDefault();
            act.shelve(Number(minutes.value), reason.value.trim());
          },
        },
      }, h('label', null, t('alarm.shelve.for'), ' ', minutes, ' ', t('alarm.shelve.minutes')), reason,
      h('button', { type: 'submit', id: 'shelve-submit' }, t('alarm.shelve'))));
    }
  }
  out.push(msg);

  out.push(h('h4', null, t('alarm.history')));
  if (!d) out.push(h('p', { class: 'muted' }, t('loading')));
  else if (!d.history || d.history.length === 0) out.push(h('p', { class: 'muted', id: 'history-none' }, t('alarm.history.none')));
  else {
    out.push(h('ol', { class: 'history', id: 'history' }, d.history.map((p) => h('li', null,
      h('time', null, fmt.dateTime(p.raised_at)), ' ',
      t('alarm.history.active', { d: fmt.duration(p.active_s) }),
      p.acked_by ? [' · ', t('alarm.ackedby', { who: p.acked_by })] : null,
      p.ack_comment ? h('q', null, p.ack_comment) : null,
      (p.notes || []).length ? h('ul', { class: 'notes' }, p.notes.map((n) => h('li', null, `${fmt.time(n.ts)} ${n.actor}: ${n.text}`))) : null))));
  }
  return out;
}

// The critical alarms nobody has acknowledged yet.
export function unackedCritical(list) {
  return list.filter((a) => a.severity === 'critical' && ackable(a));
}
