// A new critical alarm: a beep (WebAudio, no sound file) and the tab's
// title flashing, repeated until every critical that started it is
// acknowledged (or gone). Browsers let audio start only after a gesture:
// the context is made on the first click or key press.

let ctx = null;
let flashing = null;
let beeping = null;
let baseTitle = document.title;
let alertTitle = '';
const pending = new Set();

function unlock() {
  if (!ctx) {
    const AC = window.AudioContext || window.webkitAudioContext;
    if (AC) ctx = new AC();
  }
  if (ctx && ctx.state === 'suspended') ctx.resume().catch(() => {});
}
window.addEventListener('pointerdown', unlock, { capture: true });
window.addEventListener('keydown', unlock, { capture: true });

function beep() {
  if (!ctx || ctx.state !== 'running') return;
  const t0 = ctx.currentTime;
  for (let i = 0; i < 3; i++) {
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.type = 'square';
    osc.frequency.value = i === 1 ? 660 : 880;
    gain.gain.setValueAtTime(0.0001, t0 + i * 0.25);
    gain.gain.exponentialRampToValueAtTime(0.2, t0 + i * 0.25 + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, t0 + i * 0.25 + 0.2);
    osc.connect(gain).connect(ctx.destination);
    osc.start(t0 + i * 0.25);
    osc.stop(t0 + i * 0.25 + 0.22);
  }
}

export function setBaseTitle(t) {
  baseTitle = t;
  if (!flashing) document.title = t;
}

// ids: the critical alarms not yet acknowledged that are new since the
// last look; open: every critical alarm still unacknowledged.
export function update(newIds, openIds, title) {
  for (const id of newIds) pending.add(id);
  for (const id of [...pending]) if (!openIds.has(id)) pending.delete(id);
  if (pending.size > 0) {
    alertTitle = title;
    if (newIds.length > 0) beep();
    start();
  } else stop();
}

function start() {
  document.documentElement.dataset.alerting = 'critical';
  if (!flashing) {
    let on = false;
    flashing = setInterval(() => {
      on = !on;
      document.title = on ? alertTitle : baseTitle;
    }, 1000);
    document.title = alertTitle;
  }
  if (!beeping) beeping = setInterval(beep, 15000);
}

export function stop() {
  pending.clear();
  delete document.documentElement.dataset.alerting;
  clearInterval(flashing);
  clearInterval(beeping);
  flashing = beeping = null;
  document.title = baseTitle;
}
