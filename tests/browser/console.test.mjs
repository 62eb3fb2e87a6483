// The duty console driven in headless Chromium against the real collector
// that tests/browser/run.sh started. Every wait is for a condition on the
// page or in the database, with a generous bound; nothing is timed.
//
// Fails on: any console error or uncaught exception in a page (apart from
// the 4xx answers a step provokes on purpose, and the refused connections
// while the collector is stopped on purpose), and any request to another
// origin.
import { chromium } from 'playwright-core';
import { execFileSync, spawn } from 'node:child_process';
import { openSync, writeFileSync } from 'node:fs';
import assert from 'node:assert/strict';

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set (run tests/browser/run.sh)`);
  return v;
};
const BASE = env('WS_BASE');
const SHOTS = env('WS_SHOTS');
const WAIT = 20000;
const DESK = { width: 1920, height: 1080 };
const PHONE = { width: 390, height: 844 };

const problems = [];
// Console errors a step provokes on purpose: [regexp, how many are left].
const expected = [];

function expectErrors(re, n = 1) {
  expected.push({ re, n });
}

function psql(sql) {
  return execFileSync('psql', [env('WS_DSN'), '-X', '-At', '-v', 'ON_ERROR_STOP=1', '-c', sql], { encoding: 'utf8' }).trim();
}

async function until(what, fn, ms = WAIT) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function step(name) {
  console.log(`ok: ${name}`);
}

const browser = await chromium.launch({
  executablePath: env('WS_CHROMIUM'),
  args: ['--no-sandbox', '--disable-dev-shm-usage', '--autoplay-policy=no-user-gesture-required'],
});

const pages = new Map();

async function newPage(name, viewport = DESK, locale = 'en-GB', base = BASE) {
  const origin = new URL(base).origin;
  const context = await browser.newContext({ viewport, locale, baseURL: base });
  const page = await context.newPage();
  pages.set(name, page);
  page.setDefaultTimeout(WAIT);
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const text = m.text();
    const e = expected.find((x) => x.n > 0 && x.re.test(text));
    if (e) e.n--;
    else problems.push(`${name}: console error: ${text}`);
  });
  page.on('pageerror', (err) => problems.push(`${name}: uncaught: ${err.message}`));
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (u.protocol !== 'data:' && u.origin !== origin) problems.push(`${name}: request to another origin: ${r.url()}`);
  });
  return page;
}

async function login(page, user) {
  await page.goto('/');
  await page.fill('#login-user', user);
  await page.fill('#login-password', `${user}-password`);
  await page.click('#login-submit');
  await page.waitForSelector('#app:not([hidden])');
  await page.waitForSelector('#role');
}

const shot = (page, name) => page.screenshot({ path: `${SHOTS}/${name}.png` });
const alarmRow = (rule) => `#alarms li.alarm:has(.rule:text-is("${rule}"))`;

try {
  // ---- log in: a wrong password first, then alice (watchstander) ----
  const a = await newPage('alice');
  await a.goto('/');
  await a.waitForSelector('#login-form');
  await shot(a, 'desk-login');
  expectErrors(/status of 401/);
  await a.fill('#login-user', 'alice');
  await a.fill('#login-password', 'not-her-password');
  await a.click('#login-submit');
  await a.waitForSelector('#login-msg.error');
  await login(a, 'alice');
  assert.match(await a.textContent('#who'), /alice/);
  assert.equal(await a.textContent('#phase-name'), 'trading');
  assert.match(await a.textContent('#phase-next'), /closed/);
  await a.waitForSelector('#agents li.agent.up[data-agent="host-b"]');
  await a.waitForSelector('#shift-name:text-is("day")');
  assert.match(await a.textContent('#on-duty'), /alice/);
  await a.waitForSelector('#link.up');
  step('login, phase and next change, agent up, the shift in force');

  // ---- an alarm arrives without a reload: the agent sees the decoy die ----
  const marker = await a.evaluate(() => (window.__loaded = performance.timeOrigin));
  process.kill(Number(env('WS_DECOY_PID')), 'SIGTERM');
  const crit = alarmRow('decoy-down');
  await a.waitForSelector(`${crit}[data-state="active-unacknowledged"]`);
  assert.equal(await a.evaluate(() => window.__loaded), marker, 'the page was reloaded');
  await a.waitForFunction(() => document.documentElement.dataset.alerting === 'critical');
  await a.waitForFunction(() => /CRITICAL/.test(document.title));
  const critId = await a.getAttribute(crit, 'data-alarm-id');
  step(`critical alarm ${critId} arrived live; the title flashes`);
  await shot(a, 'desk-duty-alarm');

  // ---- a viewer sees the alarm but no button to acknowledge it ----
  const v = await newPage('vic', PHONE);
  await login(v, 'vic');
  await v.waitForSelector(crit);
  assert.equal(await v.locator('button.ack').count(), 0, 'a viewer sees an ack button');
  await v.click(crit);
  await v.waitForSelector('#alarm-detail:not([hidden]) #runbook');
  assert.equal(await v.locator('#ack-note, #shelve-reason, #note-text, #handover-sign').count(), 0, 'a viewer sees a write form');
  await shot(v, 'phone-duty-viewer');
  step('a viewer: no ack button, no forms');

  // ---- `/` searches; ack with a note; the database says who ----
  await a.keyboard.press('/');
  assert.equal(await a.evaluate(() => document.activeElement.id), 'search');
  await a.keyboard.type('nothing-matches-this');
  await a.waitForSelector('#alarms li.empty');
  await a.fill('#search', '');
  await a.waitForSelector(crit);
  await a.click(`${crit} button.ack`);
  await a.waitForFunction(() => document.activeElement && document.activeElement.id === 'ack-note');
  await a.keyboard.type('decoy died, restarting it');
  await a.click('#ack-submit');
  await a.waitForSelector(`${crit}[data-state="active-acknowledged"]`);
  assert.equal(psql(`select acked_by from watchstand.alarms where id = ${critId}`), 'alice');
  assert.match(psql(`select text from watchstand.v_shift_log where kind = 'alarm' and actor = 'alice' order by id desc limit 1`), /decoy died, restarting it/);
  await a.waitForFunction(() => !document.documentElement.dataset.alerting && !/CRITICAL/.test(document.title));
  await v.waitForSelector(`${crit}[data-state="active-acknowledged"]`);
  step('ack with a note: acked_by alice in the database, the alert silenced, the viewer sees it live');

  // ---- the history and the procedure its runbook names ----
  await a.waitForSelector('#history-none, #history');
  assert.match(await a.textContent('#runbook'), /decoy-restart/);

  // ---- shelve: refused without a reason (400 shown), then with one ----
  writeFileSync(env('WS_LEVEL_FILE'), '1\n');
  const major = alarmRow('level-high');
  await a.waitForSelector(`${major}[data-state="active-unacknowledged"]`);
  await a.click(major);
  await a.waitForSelector('#alarm-detail #ack-note');
  await a.keyboard.press('a');
  await a.waitForSelector(`${major}[data-state="active-acknowledged"]`);
  assert.equal(psql(`select acked_by from watchstand.alarms where rule = 'level-high' and state <> 'closed'`), 'alice');
  step('`a` acknowledges the selected alarm');
  await a.waitForSelector('#shelve-reason');
  expectErrors(/status of 400/);
  await a.fill('#shelve-minutes', '15');
  await a.click('#shelve-submit');
  await a.waitForSelector('#ack-msg.error:has-text("reason")');
  await a.fill('#shelve-reason', 'vendor is working on the feed');
  await a.click('#shelve-submit');
  await a.waitForSelector(`${major}[data-state="shelved"]`);
  assert.equal(psql(`select state from watchstand.alarms where rule = 'level-high' and state <> 'closed'`), 'shelved');
  assert.match(psql(`select string_agg(text, '|') from watchstand.v_shift_log where actor = 'alice'`), /for 15 min -- vendor is working on the feed/);
  step('shelve: the missing reason refused on the page, then shelved with a reason');

  // ---- the shift log: a note carried over ----
  await a.fill('#note-text', 'call the feed vendor back at 16:00');
  await a.check('#note-carry');
  await a.click('#note-add');
  await a.waitForSelector('#log li.entry:has-text("call the feed vendor back")');
  assert.equal(psql(`select count(*) from watchstand.carry_items where text = 'call the feed vendor back at 16:00' and by_user = 'alice'`), '1');
  step('a note in the shift log, carried over');

  // ---- a checklist: opened from the alarm's procedure; a 409 shown; two people ----
  await a.click(crit);
  await a.click('button.procedure');
  await a.waitForURL(/#\/runs\/\d+$/);
  const runId = a.url().match(/runs\/(\d+)$/)[1];
  await a.waitForSelector('#steps li.step[data-step="link"]');
  expectErrors(/status of 409/, 2);
  await a.click('li.step[data-step="link"] button.execute');
  await a.waitForSelector('li.step[data-step="link"] .refusal:has-text("predecessors not done")');
  await shot(a, 'desk-run-refused');
  await a.click('li.step[data-step="notices"] button.execute');
  await a.waitForSelector('li.step[data-step="notices"][data-state="done"]');
  await a.click('li.step[data-step="link"] button.execute');
  await a.waitForSelector('li.step[data-step="link"][data-state="awaiting-confirmation"]');
  await a.click('li.step[data-step="link"] button.confirm');
  await a.waitForSelector('li.step[data-step="link"] .refusal:has-text("cannot confirm")');
  const b = await newPage('bob');
  await login(b, 'bob');
  await b.waitForSelector(`#runs-open [data-run="${runId}"] .waiting-confirm:has-text("link")`);
  assert.match(await b.textContent(`#runs-open [data-run="${runId}"] .waiting-confirm`), /second person.*alice/);
  await b.click(`#runs-open [data-run="${runId}"] a`);
  await b.click('li.step[data-step="link"] button.confirm');
  await b.waitForSelector('li.step[data-step="link"][data-state="done"]');
  await a.waitForSelector('#run-state:text-is("done")');
  assert.equal(psql(`select confirmed_by from watchstand.checklist_steps where run_id = ${runId} and step = 'link'`), 'bob');
  await shot(a, 'desk-run-done');
  step(`run ${runId}: the 409s shown next to their buttons; bob saw the wait and confirmed`);

  // ---- handover: alice (the day shift) signs, bob (the next) accepts ----
  await a.goto('/#/');
  await a.waitForSelector('#handover-sign');
  await a.fill('#handover-notes', 'decoy restarted; feed vendor to call back');
  await a.click('#handover-sign');
  await a.waitForSelector('#handover:has-text("alice")');
  await b.goto('/#/');
  await b.waitForSelector('#handover-accept');
  await b.fill('#accept-notes', 'got it');
  await b.click('#handover-accept');
  await b.waitForSelector('#handover-accepted');
  await a.waitForSelector('#handover-accepted');
  assert.equal(psql(`select by_user || ' ' || accepted_by from watchstand.handovers order by id desc limit 1`), 'alice bob');
  await shot(a, 'desk-duty-handover');
  step('handover signed by alice and accepted by bob');

  // ---- the host page draws charts ----
  await a.goto('/#/hosts/host-b');
  const size = await until('a drawn chart', () => a.evaluate(() => {
    const c = document.querySelector('#host-charts canvas');
    return c && c.width > 0 && c.height > 0 ? [c.width, c.height] : null;
  }));
  await a.waitForSelector('.lines .chart-note:has-text("40 % of 100 Mbit/s")');
  await a.waitForSelector('.fills .chart-note:has-text("full in")');
  await shot(a, 'desk-host');
  step(`the host page draws a chart (${size.join('×')}), the line against its capacity, when the spool is full`);

  // ---- the KPIs of the shift, with the per-10-minute chart ----
  await a.goto('/#/kpis');
  await a.waitForSelector('#kpi-chart canvas');
  await a.waitForSelector('.tile[data-metric="alarms_raised"]');
  assert.notEqual(await a.textContent('.tile[data-metric="alarms_raised"] .v'), '0');
  await a.waitForSelector('#top-rules li:has-text("decoy-down")');
  await shot(a, 'desk-kpis');
  await a.emulateMedia({ media: 'print' });
  assert.equal(await a.locator('#top').isVisible(), false, 'the top bar prints');
  await shot(a, 'desk-kpis-print');
  await a.emulateMedia({ media: 'screen' });
  step('the KPI report with its charts, printable');

  // ---- a phone: the same screens in 390 px, nothing wider than the screen ----
  const p = await newPage('alice-phone', PHONE);
  await login(p, 'alice');
  await p.waitForSelector(crit);
  const wide = async () => p.evaluate(() => document.documentElement.scrollWidth);
  assert.ok((await wide()) <= PHONE.width + 1, `the duty screen is ${await wide()} px wide on a phone`);
  await shot(p, 'phone-duty');
  await p.goto('/hosts/host-b');
  await p.waitForSelector('#host-charts canvas');
  assert.ok(p.url().endsWith('/#/hosts/host-b'), `a path route: ${p.url()}`);
  assert.ok((await wide()) <= PHONE.width + 1, `the host page is ${await wide()} px wide on a phone`);
  await shot(p, 'phone-host');
  await p.goto(`/#/runs/${runId}`);
  await p.waitForSelector('#run-state');
  await shot(p, 'phone-run');
  step('a phone: duty, host and run screens fit 390 px');

  // ---- Chinese: the browser's language, and the switch ----
  const z = await newPage('zh', DESK, 'zh-CN');
  await z.goto('/');
  await z.waitForSelector('#login-submit:text-is("登录")');
  await login(z, 'lea');
  await z.waitForSelector('#nav a[data-route="duty"]:text-is("值班")');
  assert.equal(await z.textContent('#phase-name'), 'trading', 'a phase name was translated');
  await z.waitForSelector(`${crit} .sev:text-is("critical")`);
  await shot(z, 'desk-duty-zh');
  await z.click('#top .lang-switch');
  await z.waitForSelector('#nav a[data-route="duty"]:text-is("Duty")');
  step('Chinese from the browser language; English by the switch; names as configured');

  // ---- the follower of a pair serves the same console; its writes go to
  // the leader (forwarded), and both consoles see the change live ----
  await a.goto('/#/');
  await a.waitForSelector(`${major}[data-state="shelved"]`);
  const f = await newPage('follower', DESK, 'en-GB', env('WS_FOLLOWER'));
  await login(f, 'alice');
  await f.waitForSelector(`${major}[data-state="shelved"]`);
  await f.click(major);
  await f.click('#unshelve');
  await f.waitForSelector(`${major}:not([data-state="shelved"])`);
  assert.notEqual(psql(`select state from watchstand.alarms where rule = 'level-high' and state <> 'closed'`), 'shelved');
  assert.match(psql(`select actor || ' ' || text from watchstand.v_shift_log where kind = 'alarm' order by id desc limit 1`), /^alice .*UNSHELVE/i);
  await a.waitForSelector(`${major}:not([data-state="shelved"])`);
  await shot(f, 'desk-follower');
  step("the follower's console: logged in there, an unshelve forwarded to the leader, both consoles live");
  process.kill(Number(env('WS_FOLLOWER_PID')), 'SIGTERM');

  // ---- offline: the collector stops; the banner; it comes back by itself ----
  expectErrors(/ERR_CONNECTION_REFUSED|ERR_EMPTY_RESPONSE|ERR_CONNECTION_RESET|ERR_INCOMPLETE_CHUNKED_ENCODING|status of 503/, 1000);
  const old = Number(env('WS_COLLECTOR_PID'));
  process.kill(old, 'SIGTERM');
  await a.goto('/#/');
  await until('the old collector to exit', () => {
    try {
      process.kill(old, 0);
      return false;
    } catch (e) {
      return true;
    }
  });
  await a.waitForSelector('#offline:not([hidden])');
  await shot(a, 'desk-offline');
  const log = openSync(env('WS_COLLECTOR_LOG'), 'a');
  const again = spawn(env('WS_COLLECTOR'), ['-c', env('WS_COLLECTOR_CONF'), 'run'], { stdio: ['ignore', log, log] });
  writeFileSync(env('WS_COLLECTOR_PIDFILE'), String(again.pid));
  await a.waitForSelector('#offline', { state: 'hidden', timeout: 45000 });
  await a.waitForSelector('#link.up');
  await a.waitForSelector(crit);
  step('offline banner while the collector is down; live again after it restarts, still logged in');
  again.kill('SIGTERM');
  await new Promise((r) => again.once('exit', r));
} catch (e) {
  problems.push(`failed: ${e.stack || e.message}`);
  // What each browser showed when it failed.
  for (const [name, page] of pages) await page.screenshot({ path: `${SHOTS}/failed-${name}.png` }).catch(() => {});
} finally {
  await browser.close();
}

if (problems.length) {
  for (const p of problems) console.error(`FAIL: ${p}`);
  process.exit(1);
}
console.log('console.test.mjs: all passed');
