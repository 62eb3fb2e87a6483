// Checklists and their runs (docs/checklists.md): open a run, follow its
// steps in order with each one's state, execute, confirm, skip. A refusal
// (409: predecessors not done, the executor confirming) is shown next to
// the button that was refused; a step waiting for a second person says
// so to everyone who looks.
import * as api from './api.js';
import { h, fill, coalesce, message } from './dom.js';
import * as fmt from './fmt.js';
import { t, has } from './i18n.js';

let defsCache = null;

async function definitions() {
  if (!defsCache) defsCache = await api.get('/checklists');
  return defsCache;
}

function stepState(s) {
  return has(`step.${s}`) ? t(`step.${s}`) : s;
}

function runState(s) {
  return has(`runstate.${s}`) ? t(`runstate.${s}`) : s;
}

// ---- #/checklists ----

export function listView(root, ctx) {
  const defsEl = h('ul', { class: 'checklists', id: 'checklists' });
  const runsEl = h('table', { class: 'runs', id: 'runs' });
  root.append(h('div', { class: 'cols' },
    h('section', { class: 'panel' }, h('h2', null, t('checklists.title')), defsEl),
    h('section', { class: 'panel' }, h('h2', null, t('runs.title')), runsEl)));

  async function loadDefs() {
    let defs;
    try {
      defs = await definitions();
    } catch (e) {
      fill(defsEl, h('li', { class: 'msg error' }, e.message));
      return;
    }
    if (defs.length === 0) {
      fill(defsEl, h('li', { class: 'empty' }, t('checklists.none')));
      return;
    }
    fill(defsEl, defs.map((c) => {
      const msg = h('span', { class: 'msg' });
      const drill = h('input', { type: 'checkbox', class: 'drill' });
      return h('li', { class: 'checklist', dataset: { checklist: c.name } },
        h('b', null, c.name), ' ', h('span', { class: 'badge' }, c.kind), ' ',
        h('span', { class: 'muted' }, t('checklist.steps', { n: c.steps.length })),
        c.description ? h('p', { class: 'muted' }, c.description) : null,
        ctx.can('watchstander')
          ? h('div', { class: 'open-run' },
            h('label', null, drill, t('run.drill')),
            h('button', {
              type: 'button',
              class: 'open',
              on: {
                click: async () => {
                  try {
                    const r = await api.post(`/checklists/${encodeURIComponent(c.name)}/runs`, { drill: drill.checked });
                    location.hash = `#/runs/${r.id}`;
                  } catch (e) {
                    message(msg, e.message);
                  }
                },
              },
            }, t('run.open')), msg)
          : null);
    }));
  }

  async function loadRuns() {
    let runs;
    try {
      runs = await api.get('/runs');
    } catch (e) {
      return;
    }
    fill(runsEl,
      h('thead', null, h('tr', null, ['#', t('runs.checklist'), t('runs.state'), t('runs.opened'), t('runs.started'), t('runs.duration')].map((c) => h('th', null, c)))),
      h('tbody', null, runs.slice(0, 100).map((r) => h('tr', { class: `run state-${r.state}`, dataset: { run: r.id } },
        h('td', null, h('a', { href: `#/runs/${r.id}` }, r.id)),
        h('td', null, r.checklist, r.drill === 't' ? h('span', { class: 'badge drill' }, t('run.drill')) : null),
        h('td', null, h('span', { class: `badge runstate-${r.state}` }, runState(r.state))),
        h('td', null, r.opened_by || ''),
        h('td', null, fmt.time(r.started_at)),
        h('td', null, fmt.duration(Number(r.duration_s)))))));
  }

  loadDefs();
  loadRuns();
  const soon = coalesce(loadRuns, 300);
  return {
    onEvent(kind) {
      if (kind === 'checklist' || kind === '*') soon();
    },
  };
}

// ---- #/runs/ID ----

export function runView(root, ctx, id) {
  const head = h('div', { class: 'run-head', id: 'run-head' });
  const steps = h('ol', { class: 'steps', id: 'steps' });
  root.append(h('section', { class: 'panel run' }, h('p', null, h('a', { href: '#/checklists' }, `← ${t('checklists.title')}`)), head, steps));
  let run = null;
  let defs = [];
  // Refusals stay next to their button until the step changes.
  const refusals = new Map();
  let timer = null;

  async function load() {
    try {
      [run, defs] = await Promise.all([api.get(`/runs/${id}`), definitions().catch(() => [])]);
    } catch (e) {
      fill(head, h('p', { class: 'msg error' }, e.message));
      return;
    }
    render();
    // Steps that are running or verifying change without a person: look
    // again soon, besides the live events.
    clearTimeout(timer);
    if (run.state === 'open' && run.steps.some((s) => s.state === 'running' || s.state === 'verifying')) timer = setTimeout(load, 2000);
  }

  async function act(step, op, body, msgEl) {
    refusals.delete(step.name);
    try {
      await api.post(`/runs/${id}/steps/${encodeURIComponent(step.name)}/${op}`, body);
      await load();
    } catch (e) {
      refusals.set(step.name, { state: step.state, text: e.message });
      message(msgEl, e.message);
      msgEl.classList.add('refusal');
    }
  }

  function render() {
    const def = defs.find((d) => d.name === run.checklist);
    const done = run.steps.filter((s) => s.state === 'done' || s.state === 'skipped').length;
    fill(head,
      h('h2', null, t('run.title', { id: run.id, name: run.checklist }), ' ',
        h('span', { class: `badge runstate-${run.state}`, id: 'run-state' }, runState(run.state)),
        run.drill ? h('span', { class: 'badge drill' }, t('run.drill')) : null),
      h('p', { class: 'muted' }, t('run.meta', {
        kind: run.kind, who: run.opened_by || '—', at: fmt.dateTime(run.started_at), done, n: run.steps.length,
      })),
      def && def.description ? h('p', null, def.description) : null,
      run.report ? h('pre', { class: 'report' }, run.report) : null);
    fill(steps, run.steps.map((s, i) => renderStep(s, i, def)));
  }

  function renderStep(s, i, def) {
    const sd = def ? def.steps.find((x) => x.name === s.name) : null;
    const msg = h('span', { class: 'msg', role: 'status' });
    const ref = refusals.get(s.name);
    if (ref && ref.state === s.state) {
      message(msg, ref.text);
      msg.classList.add('refusal');
    } else refusals.delete(s.name);

    const buttons = [];
    const open = run.state === 'open' || run.state === 'failed';
    if (open && ctx.can('watchstander')) {
      if (s.state === 'pending' || s.state === 'failed') {
        buttons.push(h('button', { type: 'button', class: 'execute', on: { click: () => act(s, 'execute', undefined, msg) } },
          s.manual ? t('step.markdone') : t('step.execute')));
      }
      if (s.state === 'awaiting-confirmation') {
        buttons.push(h('button', { type: 'button', class: 'confirm', on: { click: () => act(s, 'confirm', undefined, msg) } }, t('step.confirm')));
      }
      if (ctx.can('lead') && ['pending', 'running', 'failed', 'verifying', 'awaiting-confirmation'].includes(s.state)) {
        const reason = h('input', { class: 'skip-reason', placeholder: t('step.skip.reason') });
        buttons.push(h('span', { class: 'skip' }, reason, h('button', {
          type: 'button',
          class: 'skip',
          on: { click: () => act(s, 'skip', { reason: reason.value.trim() }, msg) },
        }, t('step.skip'))));
      }
    }

    const after = sd && sd.after && sd.after.length ? t('step.after', { names: sd.after.join(', ') }) : '';
    const facts = [];
    if (s.executed_by) facts.push(t('step.executedby', { who: s.executed_by, at: fmt.time(s.executed_at) }));
    if (s.confirmed_by) facts.push(t('step.confirmedby', { who: s.confirmed_by, at: fmt.time(s.confirmed_at) }));
    if (s.skipped_by) facts.push(t('step.skippedby', { who: s.skipped_by, reason: s.skip_reason || '' }));
    if (s.value !== null && s.value !== undefined) facts.push(t('step.value', { v: fmt.num(s.value), at: fmt.time(s.value_at) }));

    let waiting = null;
    if (s.state === 'awaiting-confirmation') {
      waiting = h('p', { class: 'waiting-confirm' }, s.executed_by === ctx.login
        ? t('step.waiting.mine', { step: s.name })
        : t('step.waiting.other', { step: s.name, who: s.executed_by || '?' }));
    }

    return h('li', { class: `step state-${s.state}`, dataset: { step: s.name, state: s.state } },
      h('div', { class: 'step-head' },
        h('span', { class: 'ord' }, String(i + 1)),
        h('b', { class: 'name' }, s.name),
        h('span', { class: `badge step-${s.state}` }, stepState(s.state)),
        (sd && sd.two_person) ? h('span', { class: 'badge two' }, t('step.twoperson')) : null),
      h('p', { class: 'what' },
        s.manual ? s.manual : [s.host ? `${s.host}` : '', s.action ? ` · ${s.action}` : ''],
        sd && sd.verify ? h('span', { class: 'muted' }, ` · ${t('step.verify', { series: sd.verify })}`) : null,
        after ? h('span', { class: 'muted' }, ` · ${after}`) : null),
      facts.length ? h('p', { class: 'facts muted' }, facts.join(' · ')) : null,
      s.error ? h('p', { class: 'msg error step-error' }, s.error) : null,
      waiting,
      buttons.length || msg.textContent ? h('div', { class: 'actions' }, buttons, msg) : null);
  }

  load();
  const soon = coalesce(load, 250);
  return {
    onEvent(kind) {
      if (kind === 'checklist' || kind === '*') soon();
    },
    unmount() {
      clearTimeout(timer);
    },
  };
}
