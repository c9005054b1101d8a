// In-page reminders of followed rooms (docs/pages.md "Reminders"): a page a
// signed-in jobseeker has open asks GET /me/follows every 20 s while it is
// visible (one small read: the user's set of rooms and their hashes) and
// shows a banner the moment a followed room goes live. No connection per
// room is held, so a jobseeker who follows many rooms costs the same; the
// banner comes at most one period late.

import * as api from './api.js';
import { t } from './i18n.js';
import { $, el, announce } from './ui.js';

const PERIOD_MS = 20000;
const known = new Map();  // room id -> last status seen
let timer = null;
let tokenOf = () => '';
let onRooms = () => {};

function banner(room) {
  let box = $('#reminders');
  if (!box) {
    box = el('div', { id: 'reminders', class: 'stack' });
    ($('main') || document.body).prepend(box);
  }
  if (box.querySelector(`[data-room="${CSS.escape(room.id)}"]`)) return;
  const dismiss = el('button', { type: 'button', class: 'small', text: t('reminder.dismiss') });
  const note = el('div', { class: 'notice reminder row', dataset: { room: room.id } },
    el('span', { class: 'badge live', text: t('room.status.live') }),
    el('span', { class: 'grow', text: t('reminder.live', { title: room.title }) }),
    el('a', { href: `/room/${encodeURIComponent(room.id)}`, class: 'button primary', text: t('reminder.watch') }),
    dismiss);
  dismiss.addEventListener('click', () => note.remove());
  box.append(note);
  announce(t('reminder.live', { title: room.title }), { assertive: true, toast: false });
}

async function poll() {
  const token = tokenOf();
  if (!token || document.hidden) return;
  let rooms;
  try { rooms = await api.follows.mine(token); } catch { return; }
  for (const r of rooms) {
    const before = known.get(r.id);
    if (r.status === 'live' && before && before !== 'live') banner(r);
    known.set(r.id, r.status);
  }
  onRooms(rooms);
}

// Starts the reminders of this page. `token` is a function (the page may sign
// in later); `rooms` gets each fresh list of followed rooms.
export function watch(token, rooms = () => {}) {
  tokenOf = token;
  onRooms = rooms;
  if (timer) clearInterval(timer);
  poll();
  timer = setInterval(poll, PERIOD_MS);
  document.addEventListener('visibilitychange', () => { if (!document.hidden) poll(); });
  return { refresh: poll };
}
