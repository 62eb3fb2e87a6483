// Times and numbers for the desk. Times are shown in the calendar's
// timezone (GET /status says which), so the desk and the CLI agree
// whatever the browser's zone.
import { lang } from './i18n.js';

let zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
const cache = new Map();

export function setZone(tz) {
  if (!tz || tz === zone) return;
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    zone = tz;
    cache.clear();
  } catch (e) {
    /* an unknown zone: keep the browser's */
  }
}

export function getZone() {
  return zone;
}

// PostgreSQL's text ("2026-05-26 08:45:00.123456+08"), ISO with Z or
// an offset: a Date, or null.
export function parseTs(s) {
  if (!s) return null;
  if (s instanceof Date) return s;
  const m = /^(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d(?::\d\d)?)(\.\d+)?\s*(Z|[+-]\d\d(?::?\d\d)?)?$/.exec(s);
  if (!m) {
    const d = new Date(s);
    return Number.isNaN(d.getTime()) ? null : d;
  }
  const frac = m[3] ? m[3].slice(0, 4) : '';
  let tz = m[4] || 'Z';
  if (/^[+-]\d\d$/.test(tz)) tz += ':00';
  else if (/^[+-]\d{4}$/.test(tz)) tz = `${tz.slice(0, 3)}:${tz.slice(3)}`;
  const time = m[2].length === 5 ? `${m[2]}:00` : m[2];
  return new Date(`${m[1]}T${time}${frac}${tz}`);
}

function parts(d) {
  const key = `${lang()}|${zone}`;
  let f = cache.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', {
      timeZone: zone,
      year: 'numeric', month: '2-digit', day: '2-digit',
      hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
    });
    cache.set(key, f);
  }
  const o = {};
  for (const p of f.formatToParts(d)) o[p.type] = p.value;
  return o;
}

// YYYY-MM-DD of a date in the calendar's zone.
export function dayOf(d) {
  const p = parts(d);
  return `${p.year}-${p.month}-${p.day}`;
}

// "14:05:09" today, "05-26 14:05" another day.
export function time(s) {
  const d = parseTs(s);
  if (!d) return '';
  const p = parts(d);
  if (dayOf(d) === dayOf(new Date())) return `${p.hour}:${p.minute}:${p.second}`;
  return `${p.month}-${p.day} ${p.hour}:${p.minute}`;
}

// "2026-05-26 14:05:09"
export function dateTime(s) {
  const d = parseTs(s);
  if (!d) return '';
  const p = parts(d);
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}`;
}

// "14:05:09"
export function hhmmss(s) {
  const d = parseTs(s);
  if (!d) return '';
  const p = parts(d);
  return `${p.hour}:${p.minute}:${p.second}`;
}

// "14:05"
export function hhmm(s) {
  const d = parseTs(s);
  if (!d) return '';
  const p = parts(d);
  return `${p.hour}:${p.minute}`;
}

// A length of time, coarse: "45 s", "12 min", "2 h 5 min", "3 d 4 h".
export function duration(seconds) {
  const zh = lang() === 'zh';
  const u = zh ? { s: '秒', m: '分', h: '小时', d: '天' } : { s: 's', m: 'min', h: 'h', d: 'd' };
  const sp = zh ? '' : ' ';
  let s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}${sp}${u.s}`;
  let m = Math.floor(s / 60);
  if (m < 60) return `${m}${sp}${u.m}`;
  let hrs = Math.floor(m / 60);
  m %= 60;
  if (hrs < 48) return m ? `${hrs}${sp}${u.h} ${m}${sp}${u.m}` : `${hrs}${sp}${u.h}`;
  const d = Math.floor(hrs / 24);
  hrs %= 24;
  return hrs ? `${d}${sp}${u.d} ${hrs}${sp}${u.h}` : `${d}${sp}${u.d}`;
}

// A value as the probe measured it, without float noise.
export function num(v) {
  if (v === null || v === undefined || v === '') return '';
  const n = Number(v);
  if (!Number.isFinite(n)) return String(v);
  if (Number.isInteger(n)) return String(n);
  return String(Number(n.toPrecision(6)));
}

// Bits per second, bytes: with SI or binary prefixes.
export function bps(n) {
  const units = ['bit/s', 'kbit/s', 'Mbit/s', 'Gbit/s', 'Tbit/s'];
  let i = 0;
  while (Math.abs(n) >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return `${num(Number(n.toPrecision(3)))} ${units[i]}`;
}

export function bytes(n) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (Math.abs(n) >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${num(Number(n.toPrecision(3)))} ${units[i]}`;
}

// A series' value in its unit, from the name's suffix.
export function valueFor(series, v) {
  const n = Number(v);
  if (!Number.isFinite(n)) return String(v);
  if (/_bps$/.test(series)) return bps(n);
  if (/_bytes$/.test(series)) return bytes(n);
  if (/_pct$/.test(series)) return `${num(Number(n.toFixed(1)))} %`;
  if (/_s$/.test(series)) return Math.abs(n) < 120 ? `${num(Number(n.toPrecision(3)))} s` : duration(n);
  return num(n);
}
