// The live room channel (GET /ws, subprotocol jobcast.v1, docs/websocket.md).
// One LiveChannel per page: it says hello with the last event id it saw, so a
// reconnect resumes exactly where it stopped; actions are promises answered by
// ack or error frames.

export class LiveError extends Error {
  constructor(code, message, frame) {
    super(message || code);
    this.name = 'LiveError';
    this.code = code;
    this.frame = frame || {};
  }
}

// Failures after which a write may be sent again with the same client_id:
// the server applies it at most once (docs/websocket.md).
const RETRIABLE = new Set(['outcome_unknown', 'redis_unavailable', 'timeout']);

// A client_id: 1-64 of [A-Za-z0-9_-].
function newClientId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export class LiveChannel {
  // room: id; token: JWT or null (anonymous viewer).
  constructor(room, { token = null, url, onWelcome, onEvent, onState, onFrame, onMoved } = {}) {
    this.room = room;
    this.token = token;
    this.url = url || `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
    this.onWelcome = onWelcome || (() => {});
    this.onEvent = onEvent || (() => {});
    this.onState = onState || (() => {});
    this.onFrame = onFrame || (() => {});
    // The node is draining (close 1012, node_draining): the channel joins
    // again at once, elsewhere through the load balancer; the page moves its
    // media too (player, publisher).
    this.onMoved = onMoved || (() => {});
    this.lastId = null;
    this.state = 'idle';
    this.req = 0;
    this.pending = new Map();
    this.queue = [];
    this.attempt = 0;
    this.closed = false;
    this.ws = null;
    this.pingTimer = null;
    // The browser knows before the socket does: a socket whose network is gone
    // may take a minute to report its close (the closing handshake cannot
    // complete), and a returning network should not wait for the backoff.
    this._offline = () => this._networkLost();
    this._online = () => this._networkBack();
  }

  connect() {
    this.closed = false;
    window.addEventListener('offline', this._offline);
    window.addEventListener('online', this._online);
    this._open();
    return this;
  }

  close() {
    this.closed = true;
    window.removeEventListener('offline', this._offline);
    window.removeEventListener('online', this._online);
    clearTimeout(this.retryTimer);
    clearInterval(this.pingTimer);
    if (this.ws) this.ws.close(1000);
    this._setState('closed');
  }

  setToken(token) {
    this.token = token;
    if (this.ws) this.ws.close(4000);  // reconnects with the new identity
    // Before connect() (a page signing in while it loads) the token is only
    // kept: connect() opens the one socket; opening here too made two.
    else if (this.state !== 'idle' && !this.closed && this.state !== 'connecting' && this.state !== 'reconnecting') {
      this.attempt = 0;
      this._open();
    }
  }

  // Sends an action; resolves with the ack frame, rejects with LiveError.
  send(type, fields = {}, { timeoutMs = 10000 } = {}) {
    const req = ++this.req;
    const frame = { type, req, ...fields };
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(req);
        reject(new LiveError('timeout', 'no answer from the server'));
      }, timeoutMs);
      this.pending.set(req, { resolve, reject, timer });
      if (this.state === 'open') this.ws.send(JSON.stringify(frame));
      else this.queue.push(frame);
    });
  }

  // Sends a write that takes a client_id. When its outcome is unknown, Redis
  // is away or no answer came, it is sent again with the same client_id, so
  // the server stores it once however often it arrives.
  async sendWithClientId(type, fields = {}, { attempts = 3 } = {}) {
    const frame = { ...fields, client_id: newClientId() };
    for (let left = attempts; ; left--) {
      try {
        return await this.send(type, frame);
      } catch (e) {
        if (left <= 1 || !RETRIABLE.has(e.code)) throw e;
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  }

  // Actions (docs/websocket.md). Field names in one place.
  chat(text) { return this.sendWithClientId('chat.send', { text }); }
  ask(text) { return this.sendWithClientId('question.ask', { text }); }
  vote(id) { return this.sendWithClientId('question.vote', { id }); }
  answer(id, answer) { return this.send('question.answer', { id, answer }); }
  // Apply is idempotent per jobseeker and job: no client_id needed.
  apply(job) { return this.send('apply', { job }); }
  joinQueue() { return this.sendWithClientId('queue.join'); }
  leaveQueue() { return this.sendWithClientId('queue.leave'); }
  nextInQueue() { return this.sendWithClientId('queue.next'); }
  deleteMessage(id) { return this.send('mod.delete', { id }); }
  mute(sub, seconds) { return this.send('mod.mute', { sub, seconds }); }
  ban(sub) { return this.send('mod.ban', { sub }); }
  kick(sub) { return this.send('mod.kick', { sub }); }
  pin(id) { return this.send('chat.pin', { id }); }
  unpin() { return this.send('chat.unpin'); }
  hideCard() { return this.send('card.hide'); }
  slowmode(seconds) { return this.send('mod.slowmode', { seconds }); }
  // kind: "policy" or "contract_template"
  showCard({ kind, title, body, url }) { return this.send('card.show', { card: kind, title, body: body || '', ...(url ? { url } : {}) }); }
  // replaces: a correction of the caption with that id, or of the 'last' one.
  caption(text, { lang, final = true, replaces } = {}) {
    return this.send('caption.send', { text, final, ...(lang ? { lang } : {}), ...(replaces ? { replaces } : {}) });
  }

  _setState(s) {
    if (this.state === s) return;
    this.state = s;
    this.onState(s);
  }

  _open() {
    this._setState(this.attempt ? 'reconnecting' : 'connecting');
    let ws;
    try {
      ws = new WebSocket(this.url, 'jobcast.v1');
    } catch {
      this._retry();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      ws.send(JSON.stringify({ type: 'hello', room: this.room, token: this.token || null, since: this.lastId }));
    };
    ws.onmessage = (m) => {
      let f;
      try { f = JSON.parse(m.data); } catch { return; }
      this._frame(f);
    };
    ws.onclose = (e) => {
      if (this.ws !== ws) return;
      this.ws = null;
      clearInterval(this.pingTimer);
      if (this.closed) return;
      // The server does not want us back as we are: banned (4403), unknown
      // room (4404), bad or expired token (4401), abuse (1008).
      // Kicked (4409): not at once either; a reload joins again.
      const final = { 4401: 'unauthorized', 4403: 'banned', 4404: 'room_not_found', 4409: 'kicked', 1008: 'refused' }[e.code];
      if (final) { this.closeReason = final; this._setState(final); return; }
      // The node is shutting down (1012, node_draining): join again now,
      // through the load balancer to another node. Not a failure: no
      // "reconnecting" for the user, and the backoff does not grow.
      if (e.code === 1012) {
        this.attempt = 0;
        this._setState('connecting');
        clearTimeout(this.retryTimer);
        this.retryTimer = setTimeout(() => this._open(), 100 + Math.random() * 900);
        this.onMoved();
        return;
      }
      // The node is full (1013, node_full): come back, but not straight away.
      if (e.code === 1013) this.attempt = Math.max(this.attempt, 3);
      this._retry();
    };
    ws.onerror = () => { /* onclose follows */ };
  }

  _networkLost() {
    if (this.closed || !this.ws) return;
    const ws = this.ws;
    this.ws = null;  // its close event, whenever it comes, is not ours any more
    clearInterval(this.pingTimer);
    try { ws.close(); } catch { /* closing already */ }
    this._retry();
  }

  _networkBack() {
    if (this.closed || this.ws) return;
    clearTimeout(this.retryTimer);
    this._open();
  }

  _retry() {
    this._setState('reconnecting');
    const delay = Math.min(10000, 500 * 2 ** Math.min(this.attempt, 5)) * (0.75 + Math.random() / 2);
    this.attempt++;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this._open(), delay);
  }

  _frame(f) {
    this.onFrame(f);
    switch (f.type) {
      case 'welcome': {
        this.attempt = 0;
        this.lastId = f.last_id;
        this.you = f.you;
        this._setState('open');
        this.onWelcome(f);
        for (const q of this.queue.splice(0)) this.ws.send(JSON.stringify(q));
        clearInterval(this.pingTimer);
        this.pingTimer = setInterval(() => {
          if (this.state === 'open') this.send('ping').catch(() => {});
        }, 25000);
        break;
      }
      case 'event':
        if (f.id) this.lastId = f.id;
        this.onEvent(f.kind, f.data, f);
        break;
      case 'batch':
        // Events of one tick in one frame: each as if it had come alone.
        for (const e of f.events || []) this._frame(e);
        break;
      case 'ack': case 'error': {
        const p = this.pending.get(f.req);
        if (p) {
          this.pending.delete(f.req);
          clearTimeout(p.timer);
          if (f.type === 'ack') p.resolve(f);
          else p.reject(new LiveError(f.code, f.message, f));
        }
        // Errors without a request (room_not_found, banned, join_failed) come before a close.
        if (f.type === 'error' && f.req == null) this.onEvent('error', f, f);
        break;
      }
      default:
        break;  // the server sends no other frame types (signaling/schema/out/)
    }
  }
}
