// The live link: /api/v1/events (Server-Sent Events, every shift log
// entry as it is written). The browser's EventSource reconnects by itself
// after a dropped connection; when it gives up (the collector answered
// with an error, or restarted into 503 while it loads its sessions) we
// start a new one, backing off up to 15 s. Whoever listens is told when
// the link is down and when it is back (then everything is read afresh:
// entries written meanwhile were not streamed to us).

const KINDS = ['alarm', 'note', 'phase', 'agent', 'shift', 'handover', 'checklist',
  'report', 'notify', 'system', 'event'];

export class Live {
  constructor({ onEvent, onState, checkSession }) {
    this.onEvent = onEvent;
    this.onState = onState;
    this.checkSession = checkSession;
    this.es = null;
    this.up = null;
    this.retry = 1000;
    this.timer = null;
    this.stopped = true;
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.es) this.es.close();
    this.es = null;
  }

  setUp(up) {
    if (this.up === up) return;
    this.up = up;
    this.onState(up);
  }

  connect() {
    if (this.stopped) return;
    const es = new EventSource('/api/v1/events', { withCredentials: true });
    this.es = es;
    es.onopen = () => {
      this.retry = 1000;
      this.setUp(true);
    };
    es.onerror = () => {
      if (this.es !== es) return;
      this.setUp(false);
      if (es.readyState === EventSource.CLOSED) this.later();
    };
    const handler = (ev) => {
      let data = null;
      try {
        data = JSON.parse(ev.data);
      } catch (e) {
        return;
      }
      this.onEvent(ev.type, data);
    };
    for (const k of KINDS) es.addEventListener(k, handler);
    es.onmessage = handler;
  }

  async later() {
    if (this.es) this.es.close();
    this.es = null;
    if (this.stopped) return;
    // A session that ended (logout elsewhere, expiry) shows the login
    // instead of retrying for ever.
    if (this.checkSession && !(await this.checkSession())) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), this.retry);
    this.retry = Math.min(this.retry * 2, 15000);
  }
}
