// The viewer's state and how the server's messages change it: REST replies
// and live frames in, plain data out. Nothing here touches the page; names
// follow signaling/schema/out/ (docs/websocket.md, docs/api.md).

import * as api from '../api.js';
import { roomFromPath } from '../ui.js';

export const roomId = roomFromPath();
export const params = new URLSearchParams(location.search);

export const state = {
  room: null,              // roomOf()
  jobs: new Map(),         // id -> job
  pinnedId: null,
  applied: new Set(),      // job ids
  questions: new Map(),    // id -> {id, text, name, votes, answer, voted}
  viewers: null,
  token: api.takeTokenFromUrl('viewer'),
  me: null,                // token claims
  hasProfile: null,        // unknown until asked
  muted: null,             // {until} (ms)
  banned: false,
  slowmode: 0,
  queue: { in: false, position: null, wait: null, length: null, offer: null },
  pendingApply: null,
  appCounts: new Map(),
};
state.me = state.token ? api.claims(state.token) : null;

export function setJobs(list) {
  for (const j of list) state.jobs.set(String(j.id), j);
}

// GET /rooms/{id} or a welcome's snapshot. Answers whether the status changed.
export function takeRoom(data) {
  const r = api.roomOf(data);
  const prevStatus = state.room && state.room.status;
  state.room = { ...(state.room || {}), ...r };
  setJobs(r.jobs);
  if (r.pinnedJob) setJobs([r.pinnedJob]);
  state.pinnedId = r.pinnedId;
  return prevStatus !== state.room.status;
}

// A snapshot's question, question.asked, question.voted or question.answered.
export function takeQuestion(q) {
  const id = String(q.id);
  const old = state.questions.get(id) || {};
  state.questions.set(id, {
    ...old, id,
    text: q.text ?? old.text ?? '',
    name: q.name ?? old.name,
    votes: q.votes ?? old.votes ?? 0,
    answer: q.answer || old.answer,
    voted: old.voted || !!q.voted,
  });
}

// APPLICATIONs (snapshot, GET /me/applications).
export function takeApplications(list) {
  for (const a of list) state.applied.add(String(a.job_id));
  saveApplied();
}

function appliedKey() { return state.me ? `jobcast.applied.${state.me.sub}` : null; }
export function saveApplied() {
  const k = appliedKey();
  if (k) try { localStorage.setItem(k, JSON.stringify([...state.applied])); } catch { /* ignore */ }
}
export function loadApplied() {
  const k = appliedKey();
  if (!k) return;
  try { for (const id of JSON.parse(localStorage.getItem(k) || '[]')) state.applied.add(String(id)); } catch { /* ignore */ }
}

// The snapshot's queue, queue.position or the queue.join ack: length,
// position, eta_s, each where the message has it.
export function takeQueue(d) {
  const q = state.queue;
  if (d.length != null) q.length = d.length;
  if (d.position != null) {
    q.in = d.position > 0;
    q.position = d.position;
    if (d.eta_s != null) q.wait = d.eta_s;
  }
}

// The welcome's snapshot (ws.welcome.json).
export function takeSnapshot(snap) {
  const changed = takeRoom(snap);
  for (const q of snap.questions) takeQuestion(q);
  state.viewers = snap.viewers;
  state.queue.in = snap.queue.position != null;
  takeQueue(snap.queue);
  takeApplications(snap.applications);
  state.slowmode = snap.slowmode;
  state.muted = snap.muted_s ? { until: Date.now() + 1000 * snap.muted_s } : null;
  return changed;
}

export function isMe(sub) {
  return !!state.me && String(sub) === String(state.me.sub);
}
