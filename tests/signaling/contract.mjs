// The wire contract, checked against a running node: a real jobcastd (port 0,
// its own redis-server) is driven through a room's day over REST and the live
// channel; every reply and every frame it sends is recorded and validated
// against signaling/schema/out/. A frame type, event kind or reply without a
// schema fails, and so does any field a strict schema does not allow.
//
// node tests/signaling/contract.mjs --jobcastd build/server/jobcastd [--dump FILE]

import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Ajv from 'ajv';
import WebSocket from 'ws';
import { args, startServer } from '../web/harness.mjs';

const opts = args();
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const schemaDir = path.join(root, 'signaling/schema/out');

// ---- schemas ----------------------------------------------------------------

export function loadOutputSchemas(dir = schemaDir) {
  const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false });
  for (const k of ['x-frame', 'x-kind', 'x-action', 'x-reply', 'x-status', 'examples']) {
    if (k !== 'examples') ajv.addKeyword(k);
  }
  const frames = new Map();  // "welcome", "event chat.message", "ack chat.send", "error"
  const replies = new Map(); // "GET /api/v1/rooms/{id} 200", "error"
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
    const doc = JSON.parse(readFileSync(path.join(dir, file), 'utf8'));
    ajv.addSchema(doc, file);
    const keys = [];
    if (doc['x-frame']) {
      if (doc['x-kind']) keys.push(['frame', `event ${doc['x-kind']}`]);
      else if (doc['x-action']) keys.push(['frame', `ack ${doc['x-action']}`]);
      else keys.push(['frame', doc['x-frame']]);
    }
    if (doc['x-reply'] === 'any route') {
      keys.push(['reply', 'error']);
    } else if (doc['x-reply']) {
      for (const status of doc['x-status'] || []) keys.push(['reply', `${doc['x-reply']} ${status}`]);
    }
    for (const [where, key] of keys) {
      const map = where === 'frame' ? frames : replies;
      if (map.has(key)) throw new Error(`${file}: ${key} is described twice`);
      map.set(key, file);
    }
  }
  return { ajv, frames, replies };
}

// ---- recording clients --------------------------------------------------------

const recorded = [];
const waiting = [];  // every channel's open waits, for the report of a hang  // {channel: 'ws'|'rest', key, label, value}

function frameKey(f) {
  if (f.type === 'event') return `event ${f.kind}`;
  if (f.type === 'ack') return `ack ${f.action}`;
  return f.type;
}

let server;

async function rest(method, route, { params = {}, token, body, raw } = {}) {
  let url = route;
  for (const [k, v] of Object.entries(params)) url = url.replace(`{${k}}`, encodeURIComponent(v));
  const headers = {};
  if (token) headers.authorization = `Bearer ${token}`;
  let payload;
  if (raw !== undefined) {
    payload = raw;
    headers['content-type'] = 'application/json';
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    headers['content-type'] = 'application/json';
  }
  const res = await fetch(server.base + url, { method, headers, body: payload });
  const text = await res.text();
  let value = null;
  if (text) {
    if (!(res.headers.get('content-type') || '').includes('application/json'))
      throw new Error(`${method} ${url}: ${res.status} is not JSON: ${text.slice(0, 200)}`);
    value = JSON.parse(text);
  }
  if (value !== null || res.status !== 204) {
    const key = res.status >= 400 ? 'error' : `${method} ${route.split('?')[0]} ${res.status}`;
    recorded.push({ channel: 'rest', key, label: `${method} ${url} → ${res.status}`, value });
  }
  return { status: res.status, body: value };
}

class Channel {
  constructor(label) {
    this.label = label;
    this.frames = [];
    this.waiters = [];
    this.pending = new Map();
    this.req = 0;
    this.closed = null;
  }

  static async open(label, room, token, since) {
    const c = new Channel(label);
    c.ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws`, 'jobcast.v1');
    c.ws.on('message', (data) => c.onFrame(JSON.parse(data.toString())));
    c.ws.on('close', (code) => { c.closed = code; c.notify(); });
    await new Promise((resolve, reject) => { c.ws.once('open', resolve); c.ws.once('error', reject); });
    const hello = { type: 'hello', room, token: token || null };
    if (since) hello.since = since;
    c.ws.send(JSON.stringify(hello));
    c.welcome = await c.waitFor((f) => f.type === 'welcome' || f.type === 'error');
    if (c.welcome.type !== 'welcome') throw new Error(`${label}: hello refused: ${JSON.stringify(c.welcome)}`);
    return c;
  }

  onFrame(f) {
    // The action an ack answers is what names its schema.
    const action = f.type === 'ack' || f.type === 'error' ? this.pending.get(f.req) : undefined;
    const shown = f.type === 'ack' ? { ...f, action } : f;
    recorded.push({ channel: 'ws', key: frameKey(shown), label: `${this.label} ← ${f.type}${f.kind ? ' ' + f.kind : ''}${action ? ' (' + action + ')' : ''}`, value: f });
    if (f.type === 'batch') {
      // Checked whole above, then each event against its own schema.
      for (const e of f.events || []) this.onFrame(e);
      return;
    }
    this.frames.push(f);
    this.notify();
  }

  notify() {
    for (const w of [...this.waiters]) {
      const hit = this.frames.slice(w.from).find(w.pred);
      if (hit || this.closed !== null) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        waiting.splice(waiting.indexOf(w), 1);
        hit ? w.resolve(hit) : w.reject(new Error(`${this.label}: closed (${this.closed}) while waiting for ${w.what}`));
      }
    }
  }

  waitFor(pred, what = 'a frame', from = 0) {
    return new Promise((resolve, reject) => {
      const hit = this.frames.slice(from).find(pred);
      if (hit) return resolve(hit);
      const w = { pred, resolve, reject, from, what, label: this.label };
      this.waiters.push(w);
      waiting.push(w);
      if (this.closed !== null) this.notify();
    });
  }

  event(kind, pred = () => true, from = 0) {
    return this.waitFor((f) => f.type === 'event' && f.kind === kind && pred(f.data), `event ${kind}`, from);
  }

  // Sends an action and resolves with its ack or error frame.
  async act(type, body = {}) {
    const req = ++this.req;
    this.pending.set(req, type);
    this.ws.send(JSON.stringify({ type, req, ...body }));
    return this.waitFor((f) => (f.type === 'ack' || f.type === 'error') && f.req === req, `answer to ${type}`);
  }

  async ok(type, body = {}) {
    const f = await this.act(type, body);
    if (f.type !== 'ack') throw new Error(`${this.label}: ${type} refused: ${JSON.stringify(f)}`);
    return f;
  }

  async refused(type, body, code) {
    const f = await this.act(type, body);
    if (f.type !== 'error' || f.code !== code) throw new Error(`${this.label}: ${type}: expected ${code}, got ${JSON.stringify(f)}`);
    return f;
  }

  sendRaw(text) { this.ws.send(text); }

  close() { this.ws.close(); }
}

function expect(cond, what) {
  if (!cond) throw new Error(what);
}

// ---- the journey ----------------------------------------------------------------

async function journey() {
  const admin = server.token('admin', 'admin-1', { rooms: ['*'], name: 'Admin' });
  const boss = server.token('employer', 'boss-1', { rooms: ['*'], name: '王经理', employer: 'acme' });
  const coun = server.token('counsellor', 'coun-1', { rooms: ['*'], name: '李老师' });
  const capt = server.token('captioner', 'cap-1', { rooms: ['*'], name: 'Cap' });
  const js1 = server.token('jobseeker', 'js-1', { rooms: ['*'], name: '阿玛' });
  const js2 = server.token('jobseeker', 'js-2', { rooms: ['*'], name: 'Bo' });
  const js3 = server.token('jobseeker', 'js-3', { rooms: ['*'], name: 'Cy' });

  // Health and configuration.
  await rest('GET', '/healthz');
  await rest('GET', '/readyz');
  await rest('GET', '/api/v1/config');

  // Employer and room.
  expect((await rest('POST', '/api/v1/employers', { token: admin, body: { name: 'Acme Ltd', id: 'acme' } })).status === 201, 'employer created');
  expect((await rest('POST', '/api/v1/employers/{id}/verify', { params: { id: 'acme' }, token: admin })).status === 200, 'employer verified');
  // An employer registers itself; an admin rejects it, verifies it, suspends it.
  const self = await rest('POST', '/api/v1/employers/register', { body: { name: 'Self Ltd', credit_code: '91350100M000100Y43', contact_name: 'Wang', contact_phone: '13800138000', region_code: '150200' } });
  expect(self.status === 201, 'employer registered');
  expect((await rest('POST', '/api/v1/employers/{id}/reject', { params: { id: self.body.id }, token: admin, body: { reason: 'wrong code' } })).status === 200, 'employer rejected');
  await rest('POST', '/api/v1/employers/{id}/verify', { params: { id: self.body.id }, token: admin });
  expect((await rest('POST', '/api/v1/employers/{id}/suspend', { params: { id: self.body.id }, token: admin, body: { reason: 'complaints' } })).status === 200, 'employer suspended');
  // Webhooks (admin): an endpoint registered, listed, removed; no dead letters yet.
  // Staff accounts: create, a one-time code, its token, revoke, disable, enable.
  const acct = await rest('POST', '/api/v1/admin/accounts', { token: admin, body: { kind: 'employer', name: 'Wang Li', employer_id: 'acme' } });
  expect(acct.status === 201, 'account created');
  await rest('GET', '/api/v1/admin/accounts', { token: admin });
  const link = await rest('POST', '/api/v1/admin/accounts/{id}/links', { params: { id: acct.body.id }, token: admin, body: {} });
  expect(link.status === 201, 'sign-in code issued');
  expect((await rest('POST', '/api/v1/signin', { body: { code: link.body.code } })).status === 200, 'signed in by the code');
  expect((await rest('POST', '/api/v1/signin', { body: { code: link.body.code } })).status === 400, 'a code works once');
  for (const action of ['revoke', 'disable', 'enable']) {
    expect((await rest('POST', `/api/v1/admin/accounts/{id}/${action}`, { params: { id: acct.body.id }, token: admin })).status === 200, `account ${action}`);
  }
  const hook = await rest('POST', '/api/v1/admin/webhooks', { token: admin, body: { url: 'http://127.0.0.1:9/hook', events: ['room.ended'] } });
  expect(hook.status === 201, 'webhook registered');
  await rest('GET', '/api/v1/admin/webhooks', { token: admin });
  await rest('GET', '/api/v1/admin/webhooks/dead', { token: admin });
  expect((await rest('DELETE', '/api/v1/admin/webhooks/{id}', { params: { id: hook.body.id }, token: admin })).status === 200, 'webhook removed');
  const created = await rest('POST', '/api/v1/rooms', {
    token: boss,
    body: { title: 'Spring fair', employer_id: 'acme', region_code: '440600', region_name: 'Foshan', scheduled_at: 1767225600, counsellors: ['coun-1'], captioners: ['cap-1'], interpreters: ['int-1'] },
  });
  expect(created.status === 201, `room created: ${JSON.stringify(created.body)}`);
  const room = created.body.id;
  // Before the job cards: they arrive as events. (room.created is the
  // stream's first entry, before anyone can join: no client ever gets it.)
  const early = await Channel.open('viewer (from the start)', room, null);
  const job = await rest('POST', '/api/v1/rooms/{id}/jobs', {
    params: { id: room }, token: boss,
    body: { title: 'Welder', wage_min: 6000, wage_max: 8000, wage_unit: 'month', hours: '8h/day', location: 'Foshan', housing: 'dormitory', headcount: 3, description: 'MIG welding', contract_template_url: '/contracts/welder.pdf' },
  });
  expect(job.status === 201, 'job added');
  const jobId = job.body.id;
  await rest('POST', '/api/v1/rooms/{id}/jobs/{job}/pin', { params: { id: room, job: jobId }, token: boss });
  await early.event('job.added');
  await early.event('job.pinned');
  early.close();
  await rest('GET', '/api/v1/rooms');
  await rest('GET', '/api/v1/rooms', {});
  await rest('GET', `/api/v1/rooms?status=scheduled&limit=1`);
  await rest('GET', '/api/v1/rooms/{id}', { params: { id: room } });
  await rest('GET', '/api/v1/rooms/{id}', { params: { id: room }, token: boss });
  await rest('GET', '/api/v1/rooms/{id}/media', { params: { id: room } });
  await rest('GET', '/api/v1/rooms/{room}/stage', { params: { room } });

  // Everyone joins the live channel.
  const anon = await Channel.open('viewer', room, null);
  const emp = await Channel.open('employer', room, boss);
  const cons = await Channel.open('counsellor', room, coun);
  const cap = await Channel.open('captioner', room, capt);
  const a = await Channel.open('js-1', room, js1);
  const b = await Channel.open('js-2', room, js2);
  const c = await Channel.open('js-3', room, js3);

  // On air.
  await rest('POST', '/api/v1/rooms/{id}/start', { params: { id: room }, token: boss });
  await anon.event('room.status', (d) => d.status === 'live');
  await anon.event('viewers.changed');

  // Chat, questions, cards, captions.
  await a.ok('ping');
  const said = await a.ok('chat.send', { text: 'hello everyone', client_id: 'c-1' });
  await a.ok('chat.send', { text: 'hello everyone', client_id: 'c-1' });  // a retry: the same ack
  await anon.event('chat.message', (d) => d.id === said.id);
  const asked = await a.ok('question.ask', { text: 'Is there housing?', client_id: 'q-1' });
  await b.ok('question.vote', { id: asked.id });
  await b.refused('question.vote', { id: asked.id }, 'already_voted');
  await emp.ok('question.answer', { id: asked.id, answer: 'Yes, a dormitory' });
  await anon.event('question.answered');
  await cons.ok('card.show', { card: 'policy', title: 'Subsidy', body: '500 yuan for new hires', url: '/policy' });
  await anon.event('card.shown');
  await cap.ok('caption.send', { text: 'Welcome', lang: 'en', final: true });
  await anon.event('caption');
  await cap.ok('caption.send', { text: 'Welcome, everyone', lang: 'en', replaces: 'last' });
  await anon.event('caption');
  await cap.refused('caption.send', { text: 'x', replaces: 'c999' }, 'not_found');
  await anon.refused('chat.send', { text: 'hi' }, 'unauthorized');
  await a.refused('card.show', { card: 'policy', title: 'x' }, 'forbidden');

  // Applying: over the channel and over REST.
  await rest('GET', '/api/v1/me/profile', { token: js1 });
  await rest('PUT', '/api/v1/me/profile', { token: js1, body: { name: 'Ama', phone: '+86 138 0000 0000', cv: 'forklift licence', key_group_consent: false } });
  await rest('GET', '/api/v1/me/profile', { token: js1 });
  await a.ok('apply', { job: jobId });
  await emp.event('application.created');
  await anon.event('application.count');
  await rest('POST', '/api/v1/rooms/{id}/jobs/{job}/apply', { params: { id: room, job: jobId }, token: js2 });
  await rest('PUT', '/api/v1/me/profile', { token: js2, body: { name: 'Bo', phone: '+86 139 0000 0000' } });
  const applied = await rest('POST', '/api/v1/rooms/{id}/jobs/{job}/apply', { params: { id: room, job: jobId }, token: js2 });
  expect(applied.status === 201, 'REST apply');
  await rest('POST', '/api/v1/rooms/{id}/jobs/{job}/apply', { params: { id: room, job: jobId }, token: js2 });
  const listed = await rest('GET', '/api/v1/rooms/{id}/applications', { params: { id: room }, token: boss });
  expect(listed.body.items.length === 2, 'two applications listed');
  await rest('GET', `/api/v1/rooms/{id}/applications?limit=1`, { params: { id: room }, token: boss });
  await rest('PATCH', '/api/v1/applications/{id}', { params: { id: applied.body.id }, token: boss, body: { status: 'viewed' } });
  await rest('GET', '/api/v1/me/applications', { token: js2 });
  const cons2 = await Channel.open('employer (rejoin)', room, boss);  // a snapshot with a card and counts

  // The interview queue.
  await a.ok('queue.join', { client_id: 'j-1' });
  await b.ok('queue.join');
  await b.event('queue.position');
  await emp.event('queue.list', (d) => d.length === 2);
  await anon.event('queue.changed');
  await emp.ok('queue.next', { client_id: 'n-1' });
  const offer = await a.event('interview.offer');
  await a.event('queue.left');

  // The interview call: its two parties join and signal; a third party in
  // the room (another jobseeker, the counsellor) is refused and reads nothing.
  const call_id = offer.data.call_id;
  await b.refused('call.join', { call_id }, 'call_forbidden');
  await cons.refused('call.signal', { call_id, kind: 'offer', sdp: 'v=0' }, 'call_forbidden');
  await a.refused('call.join', { call_id: 'call-none' }, 'call_not_found');
  const ej = await emp.ok('call.join', { call_id });
  expect(ej.call.role === 'employer' && ej.call.peer.sub === 'js-1', `employer's view of the call: ${JSON.stringify(ej.call)}`);
  const aj = await a.ok('call.join', {});  // no id: the caller's open call
  expect(aj.call.call_id === call_id && aj.call.role === 'jobseeker', `jobseeker's view of the call: ${JSON.stringify(aj.call)}`);
  await emp.event('call.state', (d) => d.joined === 'jobseeker');
  const sdp = 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n';
  await emp.ok('call.signal', { call_id, kind: 'offer', pc: 'p1', sdp });
  await a.event('call.signal', (d) => d.kind === 'offer' && d.from === 'employer' && d.sdp === sdp);
  await a.ok('call.signal', { call_id, kind: 'answer', pc: 'p1', sdp });
  await a.ok('call.signal', { call_id, kind: 'candidate', pc: 'p1', candidate: { candidate: 'candidate:1 1 udp 2122260223 192.0.2.1 54400 typ host', sdpMid: '0', sdpMLineIndex: 0 } });
  await emp.event('call.signal', (d) => d.kind === 'candidate');
  await emp.event('call.state', (d) => d.state === 'started');
  await a.ok('call.signal', { call_id, kind: 'media', audio: false, video: true });
  await a.refused('call.signal', { call_id, kind: 'offer' }, 'invalid_field');
  const hung = await emp.ok('call.signal', { call_id, kind: 'hangup' });
  expect(hung.outcome === 'completed', `hangup ends the call: ${JSON.stringify(hung)}`);
  await a.event('call.state', (d) => d.state === 'ended' && d.outcome === 'completed');
  await a.refused('call.signal', { call_id, kind: 'hangup' }, 'call_ended');
  for (const third of [b, cons, anon]) {
    expect(!third.frames.some((f) => f.type === 'event' && f.kind.startsWith('call.')), `${third.label} read the call's signalling`);
  }
  const mine = await rest('GET', '/api/v1/me/applications', { token: js1 });
  const interviewed = mine.body.items.find((x) => x.history.some((h) => h.interview && h.interview.call_id === call_id));
  expect(interviewed && interviewed.status === 'interview', `the call is in the application's history: ${JSON.stringify(mine.body)}`);
  const figures = await rest('GET', '/api/v1/rooms/{id}/figures', { params: { id: room }, token: boss });
  expect(figures.body.interviews.completed === 1, `the room's figures count the interview: ${JSON.stringify(figures.body)}`);
  await b.ok('queue.leave');
  await b.refused('queue.leave', {}, 'not_queued');
  await emp.refused('queue.next', {}, 'queue_empty');

  // Moderation.
  await emp.ok('mod.slowmode', { seconds: 30 });
  await anon.event('slowmode.changed');
  const first = await b.ok('chat.send', { text: 'one' });
  const slow = await b.refused('chat.send', { text: 'two' }, 'slow_mode');
  expect(Number.isInteger(slow.retry_s) && slow.retry_s > 0 && slow.retry_s <= 30, `slow_mode names retry_s: ${JSON.stringify(slow)}`);
  await emp.ok('mod.slowmode', { seconds: 0 });
  await emp.ok('mod.delete', { id: first.id });
  await anon.event('chat.deleted');
  await emp.ok('mod.mute', { sub: 'js-2', seconds: 60 });
  await anon.event('user.muted');
  const muted = await b.refused('chat.send', { text: 'three' }, 'muted');
  expect(Number.isInteger(muted.retry_s) && muted.retry_s > 0 && muted.retry_s <= 60, `muted names retry_s: ${JSON.stringify(muted)}`);
  await emp.ok('mod.ban', { sub: 'js-3' });
  await anon.event('user.banned');
  await c.waitFor(() => false, 'the close').catch(() => {});
  expect(c.closed === 4403, `banned user closed with 4403, got ${c.closed}`);

  // The stage.
  await rest('PUT', '/api/v1/rooms/{room}/stage/{sub}', { params: { room, sub: 'coun-1' }, token: coun, body: { slot: 'guest', name: '李老师' } });
  await anon.event('stage.changed');
  await rest('GET', '/api/v1/rooms/{room}/stage', { params: { room } });
  await rest('DELETE', '/api/v1/rooms/{room}/stage/{sub}', { params: { room, sub: 'coun-1' }, token: coun });
  await rest('PUT', '/api/v1/rooms/{room}/stage/{sub}', { params: { room, sub: 'coun-1' }, body: { slot: 'guest' } });
  await rest('PUT', '/api/v1/rooms/{room}/stage/{sub}', { params: { room, sub: 'coun-1' }, token: coun, body: { slot: 'nowhere' } });

  // Bad frames: answered, the connection stays.
  anon.sendRaw('not json');
  await anon.waitFor((f) => f.type === 'error' && f.code === 'bad_frame', 'bad_frame');
  await anon.refused('no.such', {}, 'unknown_type');
  await a.refused('chat.send', { text: 5 }, 'invalid_field');
  const raw = new WebSocket(`ws://127.0.0.1:${server.port}/ws`, 'jobcast.v1');
  await new Promise((r) => raw.once('open', r));
  const rawAnswer = new Promise((r) => raw.once('message', (d) => r(JSON.parse(d.toString()))));
  raw.send(JSON.stringify({ type: 'ping', req: 1 }));
  const hr = await rawAnswer;
  recorded.push({ channel: 'ws', key: frameKey(hr), label: 'early ← error', value: hr });
  expect(hr.code === 'hello_required', 'hello first');
  raw.close();

  // REST errors.
  await rest('POST', '/api/v1/rooms', { body: { title: 'x', scheduled_at: 1 } });
  await rest('POST', '/api/v1/rooms', { token: boss, raw: '{"title":' });
  await rest('POST', '/api/v1/rooms', { token: boss, body: { title: 5, scheduled_at: 1 } });
  await rest('GET', '/api/v1/rooms/{id}', { params: { id: 'no-such-room' } });
  await rest('GET', '/api/v1/rooms?status=maybe');
  await rest('GET', '/api/v1/rooms/{id}/recordings', { params: { id: room } });

  // Reminders, recommendations, the employer's applicants.
  expect((await rest('PUT', '/api/v1/rooms/{id}/follow', { params: { id: room }, token: js2, body: {} })).status === 200, 'followed');
  expect((await rest('GET', '/api/v1/me/follows', { token: js2 })).body.items.length === 1, 'followed rooms');
  await rest('DELETE', '/api/v1/rooms/{id}/follow', { params: { id: room }, token: js2, body: {} });
  await rest('PUT', '/api/v1/rooms/{id}/follow', { params: { id: 'no-such-room' }, token: js2, body: {} });
  const extra = await rest('POST', '/api/v1/rooms/{id}/jobs', {
    params: { id: room }, token: boss,
    body: { title: 'Fitter', wage_min: 5000, wage_max: 7000, wage_unit: 'month', hours: '8h/day', location: 'Foshan', headcount: 2 },
  });
  expect(extra.status === 201, 'a second job');
  expect((await rest('GET', '/api/v1/me/recommendations', { token: js1 })).status === 200, 'recommendations');
  await rest('GET', '/api/v1/me/recommendations?limit=99', { token: js1 });
  expect((await rest('GET', '/api/v1/employers/{id}/applicants', { params: { id: 'acme' }, token: boss })).body.items.length > 0, "the employer's applicants");

  // A second room edited, given a counsellor and cancelled, seen on its channel.
  const later = Math.floor(Date.now() / 1000) + 86400;
  const second = (await rest('POST', '/api/v1/rooms', { token: boss, body: { title: 'Autumn fair', employer_id: 'acme', region_code: '150200', scheduled_at: later } })).body.id;
  const watcher = await Channel.open('viewer (second room)', second, null);
  expect((await rest('PATCH', '/api/v1/rooms/{id}', { params: { id: second }, token: boss, body: { scheduled_at: later + 3600, ends_at: later + 7200, description: 'Fitters' } })).status === 200, 'room rescheduled');
  await rest('PATCH', '/api/v1/rooms/{id}', { params: { id: second }, token: boss, body: { ends_at: later } });
  const coach = await rest('POST', '/api/v1/admin/accounts', { token: admin, body: { kind: 'counsellor', name: 'Sarnai' } });
  expect((await rest('PUT', '/api/v1/rooms/{id}/staff/{account}', { params: { id: second, account: coach.body.id }, token: admin })).status === 200, 'counsellor assigned');
  expect((await rest('DELETE', '/api/v1/rooms/{id}/staff/{account}', { params: { id: second, account: coach.body.id }, token: admin })).status === 200, 'counsellor unassigned');
  await rest('PUT', '/api/v1/rooms/{id}/staff/{account}', { params: { id: second, account: 'acct_none' }, token: admin });
  await watcher.event('room.updated', (d) => d.room.scheduled_at === later + 3600);
  expect((await rest('GET', `/api/v1/rooms?region=1502&from=${later}&to=${later + 86400}`)).body.items.length === 1, 'the room listed by region and date');
  expect((await rest('POST', '/api/v1/rooms/{id}/cancel', { params: { id: second }, token: boss, body: { reason: 'Hall closed' } })).status === 200, 'room cancelled');
  await rest('POST', '/api/v1/rooms/{id}/cancel', { params: { id: second }, token: boss, body: { reason: 'Again' } });
  await watcher.event('room.status', (d) => d.status === 'cancelled');
  watcher.close();

  // Off air; a resume after a drop.
  const last = anon.frames.filter((f) => f.type === 'event').at(-1).id;
  await rest('POST', '/api/v1/rooms/{id}/end', { params: { id: room }, token: boss });
  expect((await rest('GET', '/api/v1/rooms/{id}/figures', { params: { id: room }, token: boss })).status === 200, 'figures after the end');
  expect((await rest('GET', '/api/v1/reports/quarterly?region=15', { token: admin })).status === 200, 'the quarterly report');
  expect((await rest('GET', '/api/v1/reports/yearly', { token: admin })).status === 200, 'the yearly summary');
  await anon.event('room.status', (d) => d.status === 'ended');
  const back = await Channel.open('viewer (resumed)', room, null, last);
  expect(back.welcome.resume === 'ok', 'resume ok');
  await back.event('room.status', (d) => d.status === 'ended');
  await rest('DELETE', '/api/v1/me/profile', { token: js1 });
  for (const ch of [anon, emp, cons, cap, a, b, cons2, back]) ch.close();
}

// A demo node (--demo): its sign-in, and a room that is on air from the start.
// Resolves when the node logs a line with this msg (its JSON log).
function logged(msg) {
  const seen = () => server.log().split('\n').some((line) => line.includes(`"msg":"${msg}"`));
  return new Promise((resolve) => {
    if (seen()) return resolve();
    const look = () => { if (seen()) { server.child.stdout.off('data', look); server.child.stderr.off('data', look); resolve(); } };
    server.child.stdout.on('data', look);
    server.child.stderr.on('data', look);
  });
}

async function demoJourney() {
  await logged('demo room live');
  const signedIn = await rest('POST', '/api/v1/demo/token', { body: { name: 'Ama' } });
  expect(signedIn.status === 201, `demo token: ${JSON.stringify(signedIn.body)}`);
  const viewer = await Channel.open('demo viewer', 'demo', signedIn.body.token);
  expect(viewer.welcome.snapshot.room.status === 'live', 'the demo room is live');
  await viewer.ok('question.ask', { text: 'Is there a canteen?' });
  await rest('GET', '/api/v1/rooms/{id}', { params: { id: 'demo' } });
  await rest('GET', '/api/v1/rooms/{id}/media', { params: { id: 'demo' } });
  await rest('GET', '/api/v1/rooms/{room}/stage', { params: { room: 'demo' } });
  viewer.close();
}

// ---- main ------------------------------------------------------------------------

async function main() {
  const { ajv, frames, replies } = loadOutputSchemas();
  server = await startServer(opts.jobcastd);
  // Not a timing check: a hang is reported with what it was waiting for
  // rather than killed silently by the test's timeout.
  const watchdog = setTimeout(() => {
    console.error(`FAIL journey stuck; waiting for: ${waiting.map((w) => w.label + ': ' + w.what).join(', ') || 'a REST reply'}; last recorded: ${recorded.at(-1) && recorded.at(-1).label}`);
    server.stop().finally(() => process.exit(1));
  }, 90000);
  watchdog.unref();
  let failures = [];
  try {
    await journey();
  } catch (e) {
    failures.push(`journey: ${e.stack || e}`);
  } finally {
    await server.stop();
  }
  server = await startServer(opts.jobcastd, { extraArgs: ['--demo'] });
  try {
    await demoJourney();
  } catch (e) {
    failures.push(`demo journey: ${e.stack || e}`);
  } finally {
    await server.stop();
  }
  if (opts.dump) writeFileSync(opts.dump, JSON.stringify(recorded, null, 1));
  const used = new Set();
  for (const r of recorded) {
    const map = r.channel === 'ws' ? frames : replies;
    const file = map.get(r.key);
    if (!file) {
      failures.push(`no schema for ${r.channel} ${r.key} (${r.label}): ${JSON.stringify(r.value).slice(0, 300)}`);
      continue;
    }
    used.add(file);
    if (!ajv.validate(file, r.value)) {
      failures.push(`${r.label} does not fit ${file}: ${ajv.errors.map((e) => `${e.instancePath || '/'} ${e.message}${e.params.additionalProperty ? ` (${e.params.additionalProperty})` : ''}`).join('; ')}\n    ${JSON.stringify(r.value).slice(0, 400)}`);
    }
  }
  const unused = [...new Set([...frames.values(), ...replies.values()])].filter((f) => !used.has(f));
  console.log(`contract: ${recorded.length} frames and replies checked against ${used.size} schemas`);
  if (unused.length) console.log(`contract: not produced by this journey: ${unused.join(', ')}`);
  for (const f of failures) console.error(`FAIL ${f}`);
  process.exit(failures.length ? 1 : 0);
}

if (process.argv[1] === new URL(import.meta.url).pathname) main();
