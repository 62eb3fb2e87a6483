// The duty console: login, the top bar (phase, search, language, who),
// the live link, and the views behind the hash routes:
//   #/               the duty screen (alarms, agents, shift, log)
//   #/checklists     checklists and runs;  #/runs/ID  one run
//   #/hosts          the agents;           #/hosts/NAME  its charts
//   #/kpis           the shift and day report
import * as api from './api.js';
import * as alert from './alert.js';
import { $, fill, h, coalesce, message } from './dom.js';
import * as fmt from './fmt.js';
import { t, lang, setLang, translatePage } from './i18n.js';
import { Live } from './live.js';
import * as duty from './duty.js';
import * as checklists from './checklists.js';
import * as hosts from './hosts.js';
import * as kpis from './kpis.js';
import { unackedCritical } from './alarms.js';

const ROLES = ['viewer', 'watchstander', 'lead', 'admin'];

// What every view may read: who is logged in, the last /status, the
// search text; and the calls views make back.
const ctx = {
  login: '',
  role: 'viewer',
  status: null,
  search: '',
  can(role) {
    return ROLES.indexOf(ctx.role) >= ROLES.indexOf(role);
  },
  refreshStatus: null,
  alarms: null,
  refreshAlarms: null,
};

let live = null;
let current = null; // {route, view}
let clock = null;

function routeOf(hash) {
  const p = (hash || '').replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  switch (p[0]) {
    case 'checklists':
      return { name: 'checklists', view: checklists.listView };
    case 'runs':
      return { name: 'checklists', view: checklists.runView, arg: p[1] };
    case 'hosts':
      return p[1] ? { name: 'hosts', view: hosts.hostView, arg: p[1] } : { name: 'hosts', view: hosts.listView };
    case 'kpis':
      return { name: 'kpis', view: kpis.view, arg: p[1] };
    default:
      return { name: 'duty', view: duty.view };
  }
}

function mount() {
  const r = routeOf(location.hash);
  if (current && current.view.unmount) current.view.unmount();
  const el = $('#view');
  el.replaceChildren();
  el.className = `view-${r.name}`;
  for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('active', a.dataset.route === r.name);
  current = { route: r, view: r.view(el, ctx, r.arg) || {} };
}

// ---- the top bar ----

function renderPhase() {
  const s = ctx.status;
  const el = $('#phase');
  if (!s) {
    el.replaceChildren();
    return;
  }
  const parts = [h('span', { class: 'label' }, t('phase')), h('b', { class: 'phase-name', id: 'phase-name' }, s.phase || '—')];
  if (s.next_phase) {
    const at = fmt.parseTs(s.next_phase.at);
    const left = (at - Date.now()) / 1000;
    parts.push(h('span', { class: 'next', id: 'phase-next' },
      t('phase.next', { phase: s.next_phase.phase, at: fmt.hhmm(at), left: fmt.duration(left) })));
  }
  fill(el, parts);
  const db = $('#dbdown');
  db.hidden = !s.stale;
  db.textContent = s.stale ? t('db.down') : '';
}

async function refreshStatus() {
  try {
    const s = await api.get('/status');
    ctx.status = s;
    ctx.role = s.role || ctx.role;
    fmt.setZone(s.timezone);
    renderPhase();
    renderWho();
  } catch (e) {
    /* the link banner says it */
  }
}

function renderWho() {
  fill($('#who'), h('b', null, ctx.login), ' ', h('span', { class: `role role-${ctx.role}`, id: 'role' }, t(`role.${ctx.role}`)));
}

function renderLink(up) {
  const off = $('#offline');
  off.hidden = up;
  off.textContent = up ? '' : t('offline');
  const l = $('#link');
  l.className = `link-state ${up ? 'up' : 'down'}`;
  l.textContent = up ? t('live') : t('link.down');
  document.body.classList.toggle('is-offline', !up);
}

// The open alarms, read on every alarm event whatever the view: a new
// critical sounds and flashes the title until it is acknowledged.
let seenCritical = null;

async function refreshAlarms() {
  let list;
  try {
    list = await api.get('/alarms');
  } catch (e) {
    return;
  }
  ctx.alarms = list;
  const open = unackedCritical(list);
  const ids = new Set(open.map((a) => String(a.id)));
  const fresh = seenCritical ? open.filter((a) => !seenCritical.has(String(a.id))) : [];
  seenCritical = new Set([...(seenCritical || []), ...ids]);
  const first = open[0];
  alert.update(fresh.map((a) => String(a.id)), ids,
    first ? t('alert.title', { n: open.length, rule: first.rule, host: first.host }) : '');
  if (current && current.view.onAlarms) current.view.onAlarms(list);
}

const alarmsSoon = coalesce(refreshAlarms, 200);

function onEvent(kind, data) {
  if (kind === 'alarm' || kind === '*') alarmsSoon();
  if (kind === 'phase' || kind === 'alarm' || kind === 'agent') statusSoon();
  if (current && current.view.onEvent) current.view.onEvent(kind, data);
}

const statusSoon = coalesce(refreshStatus, 300);

// ---- login, logout ----

function showLogin(msg) {
  if (live) live.stop();
  live = null;
  clearInterval(clock);
  alert.stop();
  if (current && current.view.unmount) current.view.unmount();
  current = null;
  ctx.alarms = null;
  seenCritical = null;
  $('#app').hidden = true;
  $('#offline').hidden = true;
  $('#login').hidden = false;
  message($('#login-msg'), msg || '');
  $('#login-password').value = '';
  $('#login-user').focus();
}

async function checkSession() {
  try {
    await api.api('GET', '/status', undefined, { quiet401: true });
    return true;
  } catch (e) {
    if (e.status === 401) {
      api.forget();
      showLogin(t('login.expired'));
      return false;
    }
    return true; // down or loading: keep trying
  }
}

async function startApp(who) {
  ctx.login = who.login || who.user;
  ctx.role = who.role || 'viewer';
  ctx.status = who.phase !== undefined ? who : null;
  if (ctx.status) fmt.setZone(ctx.status.timezone);
  $('#login').hidden = true;
  $('#app').hidden = false;
  document.body.dataset.role = ctx.role;
  renderWho();
  renderPhase();
  renderLink(true);
  live = new Live({
    onEvent,
    onState: (up) => {
      renderLink(up);
      if (up) {
        refreshStatus();
        onEvent('*', null);
      }
    },
    checkSession,
  });
  live.start();
  clock = setInterval(renderPhase, 15000);
  mount();
  if (!ctx.status) refreshStatus();
}

async function onLogin(ev) {
  ev.preventDefault();
  const btn = $('#login-submit');
  btn.disabled = true;
  message($('#login-msg'), '');
  try {
    await api.login($('#login-user').value.trim(), $('#login-password').value);
    const s = await api.get('/status');
    await startApp({ ...s, login: s.user });
  } catch (e) {
    let msg = e.message;
    if (e.status === 401) msg = t('login.wrong');
    else if (e.status === 429) msg = t('login.throttled', { s: (e.body && e.body.retry_after) || '' });
    message($('#login-msg'), msg);
  } finally {
    btn.disabled = false;
  }
}

async function onLogout() {
  try {
    await api.logout();
  } catch (e) {
    /* the session ends here anyway */
  }
  showLogin('');
}

// ---- keyboard: `/` searches, `a` acknowledges (duty.js), Esc leaves a field ----

function typing(el) {
  return el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
}

function onKey(ev) {
  if ($('#app').hidden || ev.ctrlKey || ev.metaKey || ev.altKey) return;
  if (ev.key === 'Escape' && typing(document.activeElement)) {
    document.activeElement.blur();
    return;
  }
  if (typing(document.activeElement)) return;
  if (ev.key === '/') {
    ev.preventDefault();
    $('#search').focus();
    $('#search').select();
    return;
  }
  if (current && current.view.onKey && current.view.onKey(ev)) ev.preventDefault();
}

function onLang() {
  setLang(lang() === 'zh' ? 'en' : 'zh');
  translatePage();
  for (const b of document.querySelectorAll('.lang-switch')) b.textContent = t('lang.switch');
  if (!$('#app').hidden) {
    renderWho();
    renderPhase();
    renderLink(live ? live.up !== false : true);
    mount();
  }
}

async function boot() {
  // /hosts/q1 (the collector answers index.html for such paths) is the
  // route #/hosts/q1.
  if (location.pathname !== '/' && location.pathname !== '/index.html' && !location.hash) {
    history.replaceState(null, '', `/#${location.pathname}${location.search}`);
  }
  translatePage();
  for (const b of document.querySelectorAll('.lang-switch')) {
    b.textContent = t('lang.switch');
    b.addEventListener('click', onLang);
  }
  $('#login-form').addEventListener('submit', onLogin);
  $('#logout').addEventListener('click', onLogout);
  $('#search').addEventListener('input', () => {
    ctx.search = $('#search').value.trim().toLowerCase();
    if (current && current.view.onSearch) current.view.onSearch();
  });
  document.addEventListener('keydown', onKey);
  window.addEventListener('hashchange', () => {
    if (!$('#app').hidden) mount();
  });
  api.onUnauthorized(() => {
    api.forget();
    showLogin(t('login.expired'));
  });
  ctx.refreshStatus = refreshStatus;
  ctx.refreshAlarms = refreshAlarms;
  alert.setBaseTitle('watchstand');
  // A session from before a reload: the cookie answers /status, and the
  // CSRF token is still in localStorage.
  if (api.hasCsrf()) {
    try {
      const s = await api.api('GET', '/status', undefined, { quiet401: true });
      await startApp({ ...s, login: s.user });
      return;
    } catch (e) {
      if (e.status !== 401) {
        showLogin(e.message);
        return;
      }
      api.forget();
    }
  }
  showLogin('');
}

boot();
