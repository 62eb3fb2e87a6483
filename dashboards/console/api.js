// The collector's API (docs/api.md): the session cookie goes by itself;
// every write carries the CSRF token the login answered with, which is
// kept in localStorage so a reload or a second tab can still write.

const CSRF_KEY = 'ws.csrf';

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

const hooks = { unauthorized: null, offline: null };

export function onUnauthorized(fn) {
  hooks.unauthorized = fn;
}

export function onOffline(fn) {
  hooks.offline = fn;
}

export function hasCsrf() {
  return !!localStorage.getItem(CSRF_KEY);
}

export async function api(method, path, body, { quiet401 = false } = {}) {
  const opts = { method, headers: {}, credentials: 'same-origin', cache: 'no-store' };
  if (method !== 'GET') opts.headers['X-CSRF-Token'] = localStorage.getItem(CSRF_KEY) || '';
  if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  let r;
  try {
    r = await fetch(`/api/v1${path}`, opts);
  } catch (e) {
    if (hooks.offline) hooks.offline();
    throw new ApiError(0, 'the collector cannot be reached');
  }
  const text = await r.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch (e) {
    data = null;
  }
  if (!r.ok) {
    if (r.status === 401 && !quiet401 && hooks.unauthorized) hooks.unauthorized();
    const msg = (data && data.error) || `${r.status} ${r.statusText}`;
    throw new ApiError(r.status, msg, data);
  }
  return data;
}

export const get = (path) => api('GET', path);
export const post = (path, body) => api('POST', path, body);

export async function login(user, password) {
  const a = await api('POST', '/login', { login: user, password }, { quiet401: true });
  localStorage.setItem(CSRF_KEY, a.csrf);
  return a;
}

export async function logout() {
  try {
    await api('POST', '/logout', undefined, { quiet401: true });
  } finally {
    localStorage.removeItem(CSRF_KEY);
  }
}

export function forget() {
  localStorage.removeItem(CSRF_KEY);
}

// A query string from an object, leaving out empty values.
export function qs(o) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(o)) if (v !== undefined && v !== null && v !== '') p.set(k, v);
  const s = p.toString();
  return s ? `?${s}` : '';
}
