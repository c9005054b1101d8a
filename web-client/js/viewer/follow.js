// The room page's reminders and recommendations: follow a scheduled room
// (and add it to a calendar), and, signed in, the jobs recommended to this
// jobseeker (GET /me/recommendations), each with why and an apply button.

import * as api from '../api.js';
import { t } from '../i18n.js';
import { $, el, announce, errorText } from '../ui.js';
import { recommendationItem } from '../recommend.js';
import { state, roomId } from './state.js';

let following = null;  // null: not known yet
let recs = null;
let recsDrawn = null;
let apply = () => {};
let signIn = async () => false;

// deps: {apply(jobId, button) for jobs of this room, signIn() -> bool}
export function init(deps) {
  ({ apply, signIn } = deps);
}

async function toggle(button) {
  if (!state.token && !(await signIn())) return;
  button.disabled = true;
  try {
    if (following) await api.follows.unfollow(roomId, state.token);
    else await api.follows.follow(roomId, state.token);
    following = !following;
    announce(following ? t('follow.done') : t('follow.stopped', { title: state.room.title }));
  } catch (e) {
    announce(errorText(e), { assertive: true });
  }
  button.disabled = false;
  renderFollow();
}

let drawn = '';  // what the follow box shows: redrawn only when it changes (keeps focus)

function renderFollow() {
  const box = $('#follow-box');
  const r = state.room;
  box.hidden = !r || r.status !== 'scheduled';
  if (box.hidden) return;
  const key = `${following}|${t('follow.button')}`;
  if (key === drawn) return;
  drawn = key;
  const button = el('button', { type: 'button', id: 'follow', class: following ? '' : 'primary',
    'aria-pressed': following ? 'true' : 'false', text: t(following ? 'follow.stop' : 'follow.button') });
  button.addEventListener('click', () => toggle(button));
  $('#follow-row').replaceChildren(button,
    el('a', { href: api.follows.calendarUrl(roomId), download: `jobcast-${roomId}.ics`, text: t('follow.calendar') }));
}

async function applyElsewhere(rec, button) {
  if (rec.room.id === roomId) return apply(rec.job.id, button);
  button.disabled = true;
  try {
    await api.jobs.apply(rec.room.id, rec.job.id, state.token);
    button.textContent = t('job.applied');
    button.className = 'applied';
    announce(`${t('job.applied')}: ${rec.job.title}`);
  } catch (e) {
    button.disabled = false;
    announce(errorText(e), { assertive: true });
  }
}

function renderRecs() {
  const box = $('#recs-box');
  box.hidden = !state.token || !recs || !recs.length;
  if (box.hidden) return;
  const key = `${t('job.apply')}|${[...state.applied].join()}`;
  if (recsDrawn && recsDrawn.list === recs && recsDrawn.key === key) return;
  recsDrawn = { list: recs, key };
  $('#recs').replaceChildren(...recs.map((rec) => recommendationItem(rec, {
    applied: rec.room.id === roomId && state.applied.has(String(rec.job.id)),
    onApply: applyElsewhere,
  })));
}

// Called whenever the room or the sign-in changes.
export async function refresh() {
  if (state.token && following === null) {
    following = false;
    try { following = (await api.follows.mine(state.token)).some((r) => r.id === roomId); } catch { /* shown as not following */ }
  }
  if (!state.token) following = null;
  renderFollow();
  if (state.token && recs === null) {
    recs = [];
    try { recs = await api.recommendations.mine(state.token, 5); } catch { recs = []; }
  }
  if (!state.token) recs = null;
  renderRecs();
}
