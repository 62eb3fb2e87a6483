// Building the page from data without innerHTML: every text from the
// server lands in a text node, never in markup (and the CSP forbids
// inline styles and scripts anyway).

// h('div', {class: 'x', on: {click: f}, dataset: {id: 3}}, 'text', child...)
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') el.className = Array.isArray(v) ? v.filter(Boolean).join(' ') : v;
      else if (k === 'on') for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
      else if (k === 'dataset') for (const [dk, dv] of Object.entries(v)) el.dataset[dk] = dv;
      else if (k === 'text') el.textContent = v;
      else if (k in el && typeof v !== 'string') el[k] = v;
      else el.setAttribute(k, v === true ? '' : v);
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

// Replaces the children of el.
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export function $(sel, root = document) {
  return root.querySelector(sel);
}

// A function called at most once per `ms` however often it is asked for:
// a burst of events becomes one request.
export function coalesce(fn, ms = 250) {
  let timer = null;
  let again = false;
  let running = false;
  const run = async () => {
    timer = null;
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      await fn();
    } finally {
      running = false;
      if (again) {
        again = false;
        timer = setTimeout(run, ms);
      }
    }
  };
  return () => {
    if (timer === null) timer = setTimeout(run, ms);
  };
}

// A form's message line: an error in red, or cleared.
export function message(el, text, kind = 'error') {
  el.textContent = text || '';
  el.className = text ? `msg ${kind}` : 'msg';
}
