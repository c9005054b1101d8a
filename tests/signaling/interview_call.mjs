// The interview call's signalling against a real jobcastd (its own
// redis-server), over the live channel as the pages use it:
// - a third token in the same room (another jobseeker, the room's counsellor)
//   can neither join, read nor inject the call's signalling, while the two
//   parties' offer, answer and candidates reach each other;
// - a party who reconnects within the grace period (live.queue_grace_ms)
//   rejoins the same call; one gone longer ends it as "dropped";
// - an offer the jobseeker declines ends as "declined", one never taken up
//   within live.call_ring_ms as "no_show";
// - each outcome is in the application's history (REST) and the room's figures.
// Short grace and ring times come from the node's config (not a fake clock:
// the sweep runs on the node's presence heartbeat).
//
// node tests/signaling/interview_call.mjs --jobcastd build/server/jobcastd

import WebSocket from 'ws';
import { args, startServer, Report, assert, eq } from '../web/harness.mjs';

const opt = args();
const report = new Report('interview_call');
const GRACE_MS = 3000;
const RING_MS = 4000;
const HEARTBEAT_MS = 500;
let server;

async function rest(method, url, token, body) {
  const res = await fetch(server.base + '/api/v1' + url, {
    method,
    headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${url} -> ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

class Channel {
  static async open(label, room, token) {
    const c = new Channel();
    c.label = label;
    c.frames = [];
    c.waiters = [];
    c.req = 0;
    c.ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws`, 'jobcast.v1');
    c.ws.on('message', (data) => {
      const f = JSON.parse(data.toString());
      // Room events that come together arrive in one batch frame.
      if (f.type === 'batch') c.frames.push(...f.events);
      else c.frames.push(f);
      c.notify();
    });
    await new Promise((resolve, reject) => { c.ws.once('open', resolve); c.ws.once('error', reject); });
    c.ws.send(JSON.stringify({ type: 'hello', room, token }));
    const w = await c.waitFor((f) => f.type === 'welcome' || f.type === 'error', 'welcome');
    if (w.type !== 'welcome') throw new Error(`${label}: hello refused: ${JSON.stringify(w)}`);
    return c;
  }

  notify() {
    for (const w of [...this.waiters]) {
      const hit = this.frames.find(w.pred);
      if (hit) { this.waiters.splice(this.waiters.indexOf(w), 1); clearTimeout(w.timer); w.resolve(hit); }
    }
  }

  waitFor(pred, what, timeoutMs = 15000) {
    const hit = this.frames.find(pred);
    if (hit) return Promise.resolve(hit);
    return new Promise((resolve, reject) => {
      const w = { pred, resolve };
      w.timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(new Error(`${this.label}: no ${what} in ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  event(kind, pred = () => true, timeoutMs) {
    return this.waitFor((f) => f.type === 'event' && f.kind === kind && pred(f.data), `event ${kind}`, timeoutMs);
  }

  act(type, body = {}) {
    const req = ++this.req;
    this.ws.send(JSON.stringify({ type, req, ...body }));
    return this.waitFor((f) => (f.type === 'ack' || f.type === 'error') && f.req === req, `answer to ${type}`);
  }

  async ok(type, body) {
    const f = await this.act(type, body);
    if (f.type !== 'ack') throw new Error(`${this.label}: ${type} refused: ${JSON.stringify(f)}`);
    return f;
  }

  async refused(type, body, code) {
    const f = await this.act(type, body);
    if (f.type !== 'error' || f.code !== code) throw new Error(`${this.label}: ${type}: expected ${code}, got ${JSON.stringify(f)}`);
    return f;
  }

  callEvents() { return this.frames.filter((f) => f.type === 'event' && f.kind.startsWith('call.')); }

  close() { this.ws.close(); return new Promise((r) => this.ws.once('close', r)); }
}

// One queue turn: the jobseeker queues, the employer takes them; the offer's call id.
async function takeTurn(emp, js) {
  await js.ok('queue.join', {});
  const from = js.frames.length;
  await emp.ok('queue.next', {});
  const offer = await js.waitFor((f) => f.type === 'event' && f.kind === 'interview.offer' && js.frames.indexOf(f) >= from, 'interview.offer');
  return offer.data.call_id;
}

const historyOf = async (token, callId) => {
  const mine = await rest('GET', '/me/applications', token);
  for (const app of mine.items) {
    const h = app.history.find((e) => e.interview && e.interview.call_id === callId);
    if (h) return { app, entry: h };
  }
  return null;
};

try {
  await report.must('jobcastd starts with a short grace and ring time', async () => {
    server = await startServer(opt.jobcastd, { config: `live:\n  queue_grace_ms: ${GRACE_MS}\n  call_ring_ms: ${RING_MS}\n  heartbeat_ms: ${HEARTBEAT_MS}\n  viewer_ttl_ms: 2000\n` });
  });
  const admin = server.token('admin', 'ops', { rooms: ['*'], name: 'ops' });
  const emp = await rest('POST', '/employers', admin, { name: 'Acme' });
  await rest('POST', `/employers/${emp.id}/verify`, admin, {});
  const room = (await rest('POST', '/rooms', admin, { title: 'Interviews', employer_id: emp.id, scheduled_at: Math.floor(Date.now() / 1000), counsellors: ['coun-1'] })).id;
  const boss = server.token('employer', emp.id, { rooms: [room], employer: emp.id, name: 'Boss' });
  const coun = server.token('counsellor', 'coun-1', { rooms: [room], name: 'Counsellor' });
  const js1 = server.token('jobseeker', 'js-1', { rooms: [room], name: 'Ama' });
  const js2 = server.token('jobseeker', 'js-2', { rooms: [room], name: 'Bo' });
  const job = await rest('POST', `/rooms/${room}/jobs`, boss, { title: 'Driver', wage_min: 5000, wage_max: 7000, wage_unit: 'month', hours: '8h', location: 'Baotou', headcount: 2 });
  for (const t of [js1, js2]) {
    await rest('PUT', '/me/profile', t, { name: 'Someone', phone: '13800138000' });
    await rest('POST', `/rooms/${room}/jobs/${job.id}/apply`, t);
  }
  await rest('POST', `/rooms/${room}/start`, boss);

  const e = await Channel.open('employer', room, boss);
  let a = await Channel.open('js-1', room, js1);
  const third = await Channel.open('js-2 (third party)', room, js2);
  const staff = await Channel.open('counsellor (third party)', room, coun);

  let callId;
  await report.check('a third token in the room cannot join, read or inject the call\'s signalling', async () => {
    callId = await takeTurn(e, a);
    await e.ok('call.join', { call_id: callId });
    await a.ok('call.join', { call_id: callId });
    for (const x of [third, staff]) {
      await x.refused('call.join', { call_id: callId }, 'call_forbidden');
      await x.refused('call.signal', { call_id: callId, kind: 'offer', pc: 'evil', sdp: 'v=0\r\n' }, 'call_forbidden');
      await x.refused('call.signal', { call_id: callId, kind: 'candidate', candidate: { candidate: 'candidate:9 1 udp 1 203.0.113.9 9 typ host' } }, 'call_forbidden');
      await x.refused('call.signal', { call_id: callId, kind: 'hangup' }, 'call_forbidden');
      // Without an id, call.join finds only the caller's own call.
      await x.refused('call.join', {}, 'call_not_found');
    }
    await e.ok('call.signal', { call_id: callId, kind: 'offer', pc: 'p1', sdp: 'v=0\r\nemployer-offer\r\n' });
    await a.ok('call.signal', { call_id: callId, kind: 'answer', pc: 'p1', sdp: 'v=0\r\njobseeker-answer\r\n' });
    await a.event('call.signal', (d) => d.sdp === 'v=0\r\nemployer-offer\r\n');
    await e.event('call.signal', (d) => d.sdp === 'v=0\r\njobseeker-answer\r\n');
    // A chat message after the signals: once the third parties see it, they
    // have been delivered everything before it that was theirs to see.
    const said = await a.ok('chat.send', { text: 'marker' });
    for (const x of [third, staff]) {
      await x.event('chat.message', (d) => d.id === said.id);
      eq(x.callEvents().length, 0, `${x.label} received call events`);
    }
    // Nothing the third parties sent reached the parties.
    for (const p of [e, a]) {
      assert(!p.callEvents().some((f) => f.kind === 'call.signal' && (f.data.pc === 'evil' || (f.data.candidate && /203\.0\.113\.9/.test(f.data.candidate.candidate)))), `${p.label} got an injected signal`);
    }
    await e.event('call.state', (d) => d.state === 'started');
  });

  await report.check('a jobseeker who reconnects within the grace period rejoins the same call', async () => {
    await a.close();
    await new Promise((r) => setTimeout(r, GRACE_MS / 2));
    const back = await Channel.open('js-1 (reloaded)', room, js1);
    const from = e.frames.length;
    const joined = await back.ok('call.join', {});
    eq(joined.call.call_id, callId, 'the same call');
    eq(joined.call.state, 'started', 'still started');
    await e.waitFor((f) => e.frames.indexOf(f) >= from && f.type === 'event' && f.kind === 'call.state' && f.data.joined === 'jobseeker', 'the jobseeker rejoined');
    // Still held after the grace period has passed since the reload.
    await new Promise((r) => setTimeout(r, GRACE_MS + 1500));
    eq(e.callEvents().filter((f) => f.data.state === 'ended').length, 0, 'the call did not end');
    a = back;
  });

  await report.check('a jobseeker gone longer than the grace period: the call ends as dropped, in the history', async () => {
    const started = Date.now();
    await a.close();
    const ended = await e.event('call.state', (d) => d.call_id === callId && d.state === 'ended', GRACE_MS + 10000);
    eq(ended.data.outcome, 'dropped', 'outcome');
    // Seen last by the heartbeat before the close: at most one heartbeat earlier.
    assert(Date.now() - started >= GRACE_MS - HEARTBEAT_MS, `ended ${Date.now() - started} ms after the close, before the grace period`);
    assert(ended.data.duration_s >= 1, `duration ${ended.data.duration_s}`);
    const h = await historyOf(js1, callId);
    assert(h, 'the call is in the application\'s history');
    eq(h.entry.interview.outcome, 'dropped', 'history outcome');
    eq(h.app.status, 'interview', 'a call that was held moves the application to the interview step');
  });

  await report.check('declined and no-show calls end as such, in the history and the figures', async () => {
    const b = third;
    const declined = await takeTurn(e, b);
    const ack = await b.ok('call.signal', { call_id: declined, kind: 'decline' });
    eq(ack.outcome, 'declined', 'decline');
    await e.event('call.state', (d) => d.call_id === declined && d.outcome === 'declined');
    const hd = await historyOf(js2, declined);
    assert(hd && hd.entry.interview.outcome === 'declined' && hd.app.status === 'applied', `declined in history, status kept: ${JSON.stringify(hd)}`);
    const ignored = await takeTurn(e, b);
    const end = await e.event('call.state', (d) => d.call_id === ignored && d.state === 'ended', RING_MS + 10000);
    eq(end.data.outcome, 'no_show', 'an offer not taken up');
    const figures = await rest('GET', `/rooms/${room}/figures`, boss);
    const n = figures.interviews;
    eq(`${n.total} ${n.completed} ${n.declined} ${n.no_show} ${n.dropped}`, '3 0 1 1 1', 'figures: total completed declined no_show dropped');
    assert(figures.interviews.seconds >= 1, 'seconds counted');
  });

} catch (err) {
  console.log(`stopping: ${err && err.message}`);
  report.failed++;
} finally {
  if (server) await server.stop();
}
process.exit(report.finish());
