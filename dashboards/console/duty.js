// The duty screen: alarms (ack with a note, shelve, the runbook and the
// history of the same alarm), open checklist runs and the steps waiting
// for a second person, the current shift and its handover, the agents,
// and the shift log. Live: each event re-reads what it may have changed.
import * as api from './api.js';
import { h, fill, coalesce, message } from './dom.js';
import * as fmt from './fmt.js';
import { t } from './i18n.js';
import * as alarms from './alarms.js';

export function view(root, ctx) {
  const st = {
    alarms: ctx.alarms || [],
    selected: null, // alarm id
    detail: null, // GET /alarms/{id}
    agents: [],
    log: [],
    shift: null,
    shiftErr: '',
    shiftDetail: null,
    runs: [],
    timers: [],
  };

  // ---- layout ----
  const el = {
    counts: h('span', { class: 'counts', id: 'alarm-counts' }),
    waiting: h('div', { id: 'runs-open', class: 'runs-open' }),
    list: h('ul', { id: 'alarms', class: 'alarm-list' }),
    detail: h('div', { id: 'alarm-detail', class: 'detail', hidden: true }),
    shift: h('div', { id: 'shift' }),
    agents: h('ul', { id: 'agents', class: 'agents' }),
    logForm: h('div'),
    log: h('ol', { id: 'log', class: 'log' }),
  };
  root.append(h('div', { class: 'duty' },
    h('section', { class: 'panel alarms-panel' },
      h('h2', null, t('alarms.title'), ' ', el.counts),
      el.waiting, el.list, el.detail),
    h('div', { class: 'side' },
      h('section', { class: 'panel shift-panel' }, h('h2', null, t('shift.title')), el.shift),
      h('section', { class: 'panel agents-panel' }, h('h2', null, t('agents.title')), el.agents),
      h('section', { class: 'panel log-panel' }, h('h2', null, t('log.title')), el.logForm, el.log))));

  // ---- alarms ----

  function matches(a) {
    if (!ctx.search) return true;
    return [a.host, a.rule, a.series, a.description, a.severity, a.state]
      .some((v) => v && String(v).toLowerCase().includes(ctx.search));
  }

  function renderAlarms() {
    const list = alarms.sorted(st.alarms).filter(matches);
    const counts = {};
    for (const a of st.alarms) counts[a.state] = (counts[a.state] || 0) + 1;
    fill(el.counts, Object.entries(counts).map(([s, n]) => h('span', { class: `count state-${s}` }, `${alarms.stateName(s)} ${n}`)));
    if (list.length === 0) {
      fill(el.list, h('li', { class: 'empty' }, st.alarms.length ? t('alarms.nomatch') : t('alarms.none')));
    } else {
      fill(el.list, list.map((a) => alarms.row(a, {
        selected: String(a.id) === String(st.selected),
        canAck: ctx.can('watchstander'),
        onSelect: () => select(a.id),
        onAck: () => {
          select(a.id, true);
        },
      })));
    }
    if (st.selected && !st.alarms.some((a) => String(a.id) === String(st.selected))) {
      st.selected = null;
      st.detail = null;
    }
    renderDetail();
  }

  async function select(id, focusNote = false) {
    const changed = String(st.selected) !== String(id);
    st.selected = id;
    if (changed) st.detail = null;
    renderAlarms();
    if (focusNote) {
      const n = el.detail.querySelector('#ack-note');
      if (n) n.focus();
    }
    if (changed || !st.detail) loadDetail();
    el.detail.scrollIntoView({ block: 'nearest' });
  }

  async function loadDetail() {
    const id = st.selected;
    if (!id) return;
    try {
      const d = await api.get(`/alarms/${id}`);
      if (String(st.selected) === String(id)) {
        st.detail = d;
        renderDetail();
      }
    } catch (e) {
      /* the list still shows it */
    }
  }

  function renderDetail() {
    const a = st.alarms.find((x) => String(x.id) === String(st.selected));
    if (!a) {
      el.detail.hidden = true;
      el.detail.replaceChildren();
      return;
    }
    // What the person was typing and the last answer survive a redraw
    // (every alarm event redraws).
    const kept = new Map([...el.detail.querySelectorAll('input[id], textarea[id]')].map((i) => [i.id, i.value]));
    const oldMsg = el.detail.querySelector('#ack-msg');
    const focused = document.activeElement && el.detail.contains(document.activeElement) ? document.activeElement.id : '';
    el.detail.hidden = false;
    fill(el.detail, alarms.detail(a, st.detail, ctx, {
      ack: (comment) => ack(a, comment),
      shelve: (minutes, reason) => shelve(a, minutes, reason),
      unshelve: () => unshelve(a),
      procedure: (name) => openProcedure(name),
    }));
    if (String(el.detail.dataset.alarm) === String(a.id)) {
      for (const [id, v] of kept) {
        const i = el.detail.querySelector(`#${id}`);
        if (i) i.value = v;
      }
      const m = el.detail.querySelector('#ack-msg');
      if (oldMsg && m) {
        m.textContent = oldMsg.textContent;
        m.className = oldMsg.className;
      }
      if (focused) {
        const f = el.detail.querySelector(`#${focused}`);
        if (f) f.focus();
      }
    }
    el.detail.dataset.alarm = a.id;
  }

  // The answer goes to the message line on the page now: the detail may
  // have been redrawn while the request was out.
  function msgLine() {
    return el.detail.querySelector('#ack-msg') || h('p');
  }

  async function ack(a, comment) {
    try {
      await api.post(`/alarms/${a.id}/ack`, comment ? { comment } : undefined);
      message(msgLine(), t('alarm.acked'), 'ok');
      await ctx.refreshAlarms();
    } catch (e) {
      message(msgLine(), e.message);
    }
  }

  async function shelve(a, minutes, reason) {
    try {
      await api.post(`/alarms/${a.id}/shelve`, { minutes, reason });
      message(msgLine(), t('alarm.shelved'), 'ok');
      await ctx.refreshAlarms();
    } catch (e) {
      message(msgLine(), e.message);
    }
  }

  async function unshelve(a) {
    try {
      await api.post(`/alarms/${a.id}/unshelve`);
      await ctx.refreshAlarms();
    } catch (e) {
      message(msgLine(), e.message);
    }
  }

  async function openProcedure(name) {
    try {
      const r = await api.post(`/checklists/${encodeURIComponent(name)}/runs`, {});
      location.hash = `#/runs/${r.id}`;
    } catch (e) {
      const m = /open run \((\d+)\)/.exec(e.message);
      if (m) location.hash = `#/runs/${m[1]}`;
      else message(msgLine(), e.message);
    }
  }

  function move(d) {
    const list = alarms.sorted(st.alarms).filter(matches);
    if (list.length === 0) return;
    let i = list.findIndex((a) => String(a.id) === String(st.selected));
    i = i < 0 ? 0 : Math.max(0, Math.min(list.length - 1, i + d));
    select(list[i].id);
  }

  // ---- open runs and the steps waiting for a second person ----

  async function loadRuns() {
    try {
      const open = await api.get('/runs?state=open');
      st.runs = await Promise.all(open.slice(0, 10).map((r) => api.get(`/runs/${r.id}`).catch(() => null)));
      st.runs = st.runs.filter(Boolean);
    } catch (e) {
      st.runs = [];
    }
    renderRuns();
  }

  function renderRuns() {
    if (st.runs.length === 0) {
      el.waiting.replaceChildren();
      return;
    }
    fill(el.waiting, st.runs.map((r) => {
      const done = r.steps.filter((s) => s.state === 'done' || s.state === 'skipped').length;
      const waiting = r.steps.filter((s) => s.state === 'awaiting-confirmation');
      return h('div', { class: 'run-open', dataset: { run: r.id } },
        h('a', { href: `#/runs/${r.id}` }, t('run.summary', { id: r.id, name: r.checklist, done, n: r.steps.length })),
        r.drill ? h('span', { class: 'badge drill' }, t('run.drill')) : null,
        waiting.map((s) => h('p', { class: 'waiting-confirm' },
          s.executed_by === ctx.login
            ? t('step.waiting.mine', { step: s.name })
            : t('step.waiting.other', { step: s.name, who: s.executed_by || '?' }))));
    }));
  }

  // ---- the shift and its handover ----

  async function loadShift() {
    try {
      st.shift = await api.get('/shifts/current');
      st.shiftErr = '';
      st.shiftDetail = st.shift.id ? await api.get(`/shifts/${st.shift.id}`) : null;
    } catch (e) {
      st.shift = null;
      st.shiftErr = e.status === 404 ? t('shift.none') : e.message;
    }
    renderShift();
  }

  function renderShift() {
    const s = st.shift;
    if (!s) {
      fill(el.shift, h('p', { class: 'muted' }, st.shiftErr));
      return;
    }
    const onShift = s.on_duty.includes(ctx.login) || s.lead === ctx.login;
    const hos = (st.shiftDetail && st.shiftDetail.handovers) || [];
    const last = hos[hos.length - 1];
    const parts = [
      h('p', { class: 'shift-line' },
        h('b', { id: 'shift-name' }, s.name), ' ',
        h('span', { class: 'muted' }, `${fmt.hhmm(s.started_at)}–${fmt.hhmm(s.ends_at)}`), ' ',
        h('span', { class: `badge shift-${s.state.replace(' ', '-')}`, id: 'shift-state' }, t(`shift.state.${s.state}`))),
      h('p', null, t('shift.onduty'), ' ', h('span', { id: 'on-duty' }, s.on_duty.join(', ') || '—'),
        s.lead ? [' · ', t('shift.lead'), ' ', h('span', null, s.lead)] : null),
    ];
    if (last) {
      parts.push(h('div', { class: 'handover', id: 'handover' },
        h('p', null, t('handover.by', { who: last.by, at: fmt.time(last.at) })),
        last.notes ? h('blockquote', null, last.notes) : null,
        h('p', { class: 'muted hash' }, `sha256 ${String(last.report_sha256).slice(0, 16)}…`),
        last.accepted_by
          ? h('p', { class: 'ok', id: 'handover-accepted' }, t('handover.accepted', { who: last.accepted_by, at: fmt.time(last.accepted_at) }))
          : null));
    }
    const msg = h('p', { class: 'msg', role: 'status' });
    if (ctx.can('watchstander') && s.id && (!last || last.accepted_by) && onShift && s.state === 'open') {
      const notes = h('textarea', { id: 'handover-notes', rows: 2, placeholder: t('handover.notes') });
      parts.push(h('form', {
        class: 'handover-form',
        on: {
          submit: async (ev) => {
            ev.preventDefault();
            try {
              await api.post('/shifts/handover', { notes: notes.value });
              message(msg, t('handover.signed'), 'ok');
              loadShift();
            } catch (e) {
              message(msg, e.message);
            }
          },
        },
      }, notes, h('button', { type: 'submit', id: 'handover-sign' }, t('handover.sign')), msg));
    }
    if (ctx.can('watchstander') && last && !last.accepted_by && last.by !== ctx.login) {
      const notes = h('input', { id: 'accept-notes', placeholder: t('handover.acceptnotes') });
      parts.push(h('form', {
        class: 'accept-form',
        on: {
          submit: async (ev) => {
            ev.preventDefault();
            try {
              await api.post(`/shifts/${s.id}/accept`, { notes: notes.value });
              loadShift();
            } catch (e) {
              message(msg, e.message);
            }
          },
        },
      }, notes, h('button', { type: 'submit', id: 'handover-accept' }, t('handover.accept')), msg));
    }
    fill(el.shift, parts);
  }

  // ---- agents ----

  async function loadAgents() {
    try {
      st.agents = await api.get('/agents');
    } catch (e) {
      return;
    }
    if (st.agents.length === 0) {
      fill(el.agents, h('li', { class: 'empty' }, t('agents.none')));
      return;
    }
    fill(el.agents, st.agents.map((a) => {
      const silent = a.silent === 't' || a.silent === true;
      return h('li', { class: `agent ${silent ? 'silent' : 'up'}`, dataset: { agent: a.name } },
        h('span', { class: `dot ${silent ? 'silent' : 'up'}` }),
        h('a', { href: `#/hosts/${encodeURIComponent(a.name)}` }, a.name),
        h('span', { class: 'muted' }, a.role),
        h('span', { class: 'agent-state' }, silent ? t('agent.silent', { ago: fmt.duration((Date.now() - fmt.parseTs(a.last_seen)) / 1000) }) : t('agent.up')));
    }));
  }

  // ---- the shift log ----

  function renderLogForm() {
    if (!ctx.can('watchstander')) {
      el.logForm.replaceChildren();
      return;
    }
    const text = h('input', { id: 'note-text', placeholder: t('log.placeholder'), maxlength: 2000 });
    const carry = h('input', { type: 'checkbox', id: 'note-carry' });
    const msg = h('p', { class: 'msg', role: 'status' });
    fill(el.logForm, h('form', {
      class: 'note-form',
      on: {
        submit: async (ev) => {
          ev.preventDefault();
          if (!text.value.trim()) return;
          try {
            await api.post('/log', { text: text.value.trim(), carry: carry.checked });
            text.value = '';
            carry.checked = false;
            message(msg, '');
            loadLog();
          } catch (e) {
            message(msg, e.message);
          }
        },
      },
    }, text, h('label', { class: 'carry' }, carry, t('log.carry')), h('button', { type: 'submit', id: 'note-add' }, t('log.add')), msg));
  }

  async function loadLog() {
    try {
      st.log = await api.get('/log?since=12h');
    } catch (e) {
      return;
    }
    renderLog();
  }

  function renderLog() {
    const rows = st.log.filter((e) => !ctx.search || `${e.kind} ${e.actor} ${e.text}`.toLowerCase().includes(ctx.search)).slice(0, 300);
    if (rows.length === 0) {
      fill(el.log, h('li', { class: 'empty' }, t('log.none')));
      return;
    }
    fill(el.log, rows.map((e) => h('li', { class: `entry kind-${e.kind}`, dataset: { id: e.id } },
      h('time', null, fmt.time(e.ts)),
      h('span', { class: 'kind' }, e.kind),
      h('span', { class: 'actor' }, e.actor),
      h('span', { class: 'text' }, e.text))));
  }

  // ---- live ----

  const soon = {
    runs: coalesce(loadRuns, 300),
    shift: coalesce(loadShift, 300),
    agents: coalesce(loadAgents, 500),
    log: coalesce(loadLog, 300),
  };

  renderAlarms();
  renderLogForm();
  ctx.refreshAlarms();
  loadRuns();
  loadShift();
  loadAgents();
  loadLog();
  st.timers.push(setInterval(() => soon.agents(), 30000));

  return {
    onEvent(kind) {
      soon.log();
      if (kind === '*' || kind === 'checklist') soon.runs();
      if (kind === '*' || kind === 'shift' || kind === 'handover') soon.shift();
      if (kind === '*' || kind === 'agent' || kind === 'alarm') soon.agents();
    },
    onAlarms(list) {
      st.alarms = list;
      renderAlarms();
      if (st.selected) loadDetail();
    },
    onSearch() {
      renderAlarms();
      renderLog();
    },
    onKey(ev) {
      if (ev.key === 'a' && ctx.can('watchstander')) {
        const a = st.alarms.find((x) => String(x.id) === String(st.selected));
        if (a && alarms.ackable(a)) {
          const n = el.detail.querySelector('#ack-note');
          ack(a, n ? n.value.trim() : '');
          return true;
        }
        return false;
      }
      if (ev.key === 'j' || ev.key === 'ArrowDown') {
        move(1);
        return true;
      }
      if (ev.key === 'k' || ev.key === 'ArrowUp') {
        move(-1);
        return true;
      }
      return false;
    },
    unmount() {
      for (const x of st.timers) clearInterval(x);
    },
  };
}
