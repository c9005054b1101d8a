// What the viewer does: sign in, apply (with the profile dialog), ask, vote,
// chat, queue, play and replay. Each action calls the REST API or the live
// channel, updates viewer/state.js and redraws through viewer/render.js.

import * as i18n from '../i18n.js';
import * as api from '../api.js';
import { $, el, announce, errorText } from '../ui.js';
import { state, roomId, takeQuestion, takeQueue, saveApplied, loadApplied } from './state.js';
import * as render from './render.js';
import * as captions from './captions.js';
import * as controls from './controls.js';
import * as follow from './follow.js';

const t = i18n.t;
let live = null;
let player = null;
let video = null;

// The live channel and the player the actions drive; binds the page's forms.
export function init(deps) {
  ({ live, player, video } = deps);
  render.setHandlers({ apply: applyTo, vote, signIn: demoSignIn, signOut, changed: () => follow.refresh() });
  follow.init({ apply: applyTo, signIn: () => ensureSignedIn() });
  bindForms();
}

export async function demoSignIn() {
  try {
    const r = await api.demo.token('jobseeker');
    state.token = r.token;
    api.setToken('viewer', r.token);
    state.me = api.claims(r.token);
    state.hasProfile = null;
    loadApplied();
    live.setToken(r.token);
    render.renderSignin();
    return true;
  } catch (e) {
    announce(errorText(e), { assertive: true });
    throw e;
  }
}

function signOut() {
  api.setToken('viewer', '');
  state.token = '';
  state.me = null;
  state.applied.clear();
  state.hasProfile = null;
  live.setToken(null);
  render.renderAll();
}

async function ensureSignedIn() {
  if (state.token) return true;
  try { return await demoSignIn(); } catch { announce(t('signin.needed'), { assertive: true }); return false; }
}

async function vote(q) {
  if (!(await ensureSignedIn())) return;
  try {
    await live.vote(q.id);
    q.voted = true;
    render.renderQuestions();
  } catch (e) {
    $('#qa-error').textContent = errorText(e);
  }
}

async function applyTo(jobId, button) {
  if (!(await ensureSignedIn())) return;
  if (state.hasProfile === null) {
    try { await api.profile.get(state.token); state.hasProfile = true; } catch (e) {
      if (e.status === 404) state.hasProfile = false;
      else { announce(errorText(e), { assertive: true }); return; }
    }
  }
  if (!state.hasProfile) { openProfile(jobId); return; }
  // aria-disabled, not disabled: a disabled button drops the keyboard focus.
  if (button) { button.setAttribute('aria-disabled', 'true'); button.dataset.busy = '1'; button.textContent = t('job.applying'); }
  try {
    await api.jobs.apply(roomId, jobId, state.token);
    state.applied.add(String(jobId));
    saveApplied();
    announce(`${t('job.applied')}: ${(state.jobs.get(String(jobId)) || {}).title || ''}`);
  } catch (e) {
    if (e.code === 'profile_required') {
      state.hasProfile = false;
      openProfile(jobId);
    } else {
      announce(errorText(e), { assertive: true });
    }
  }
  render.renderPinned();
  render.renderJobs();
}

function openProfile(jobId) {
  state.pendingApply = jobId;
  $('#profile-error').textContent = '';
  const d = $('#profile-dialog');
  if (!d.open) d.showModal();
  $('#p-name').focus();
}

// ---- playback

export function startPlayback() {
  // The interpreter variant: WHEP ?variant=interpreter, or the HLS master's alternative picture.
  const interpreter = $('#interpreter').checked;
  if ($('#low-latency').checked) player.playWhep(roomId, state.token || null, { interpreter });
  else {
    player.interpreter = interpreter;
    player.playHls(roomId, { lowLatency: false });
  }
}

export function onStatusChanged() {
  const s = state.room.status;
  $('#player-controls').hidden = s === 'ended';
  if (s === 'live') {
    $('#replay').hidden = true;
    startPlayback();
  } else if (s === 'scheduled') {
    player.stop();
    render.renderPlayerStatus('waiting');
  } else if (s === 'ended') {
    player.stop();
    loadReplay();
  }
}

// The snapshot's stage or stage.changed: the interpreter choice is offered
// only while an interpreter is on the stage.
export function takeStage(stage) { controls.takeStage(stage); }

// media.stage: the publisher dropped and the room waits for them: say so;
// when they are back, play now.
export function takeMediaStage(d) {
  if (d.state === 'reconnecting') render.renderPlayerStatus('reconnecting');
  else if (d.state === 'live' && state.room.status === 'live' && player.status !== 'playing') startPlayback();
}

async function loadReplay(attempt = 0) {
  render.renderPinned();
  const box = $('#replay');
  box.hidden = false;
  const ol = $('#chapters');
  try {
    const rec = api.recordingOf(await api.rooms.recordings(roomId, state.token), [...state.jobs.values()]);
    if (!rec.pieces.length) {
      ol.replaceChildren(el('li', { class: 'muted', text: t('player.noRecording') }));
      // A room that just ended is still closing its last piece: look again for a while.
      if (attempt < 10) setTimeout(() => { if (state.room.status === 'ended') loadReplay(attempt + 1); }, 3000);
      return;
    }
    let current = 0;
    const playPiece = async (i, at = 0) => {
      current = i;
      await player.playFile(rec.pieces[i].url, { startAt: at });
      captions.replay(rec.pieces[i].captions);
    };
    // The recording comes in pieces: play them one after the other.
    video.onended = () => { if (current + 1 < rec.pieces.length) playPiece(current + 1); };
    playPiece(0);
    const items = rec.chapters.length ? rec.chapters : [];
    ol.replaceChildren(...items.map((c) => el('li', {},
      el('button', { type: 'button', class: 'chapter', dataset: { at: c.at, piece: c.piece, job: c.jobId },
        onclick: () => { if (c.piece === current) player.seek(c.at); else playPiece(c.piece, c.at); } },
        `${render.fmtOffset(c.at + rec.pieces.slice(0, c.piece).reduce((n, p) => n + p.duration, 0))} · ${c.title}`))));
    if (!items.length) ol.replaceChildren(...[...state.jobs.values()].map((j) => el('li', { text: j.title })));
  } catch (e) {
    ol.replaceChildren(el('li', { class: 'muted', text: e.status === 404 ? t('player.noRecording') : errorText(e) }));
  }
}

// ---- forms and controls

function bindForms() {
  $('#p-keygroup').addEventListener('change', (e) => {
    $('#consent-row').hidden = !e.target.value;
    $('#share-row').hidden = !e.target.value;
    if (!e.target.value) { $('#p-consent').checked = false; $('#p-share').checked = false; }
  });
  $('#profile-cancel').addEventListener('click', () => $('#profile-dialog').close());
  $('#profile-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const err = $('#profile-error');
    const name = $('#p-name').value.trim();
    const phone = $('#p-phone').value.trim();
    const keyGroup = $('#p-keygroup').value;
    const consent = $('#p-consent').checked;
    if (!name) { err.textContent = t('profile.name') + ' ?'; $('#p-name').focus(); return; }
    if (!/^\+?[0-9 -]{6,20}$/.test(phone)) { err.textContent = t('profile.phone') + ' ?'; $('#p-phone').focus(); return; }
    if (keyGroup && !consent) { err.textContent = t('profile.consentNeeded'); $('#p-consent').focus(); return; }
    const body = { name, phone, cv: $('#p-cv').value.trim() };
    if (keyGroup) {
      body.key_group = keyGroup;
      body.key_group_consent = true;
      // A second, separate consent; saving without it withdraws it.
      body.key_group_shared_with_employers = $('#p-share').checked;
    }
    try {
      await api.profile.put(body, state.token);
      state.hasProfile = true;
      $('#profile-dialog').close();
      const job = state.pendingApply;
      state.pendingApply = null;
      if (job != null) await applyTo(job);
    } catch (x) {
      err.textContent = errorText(x);
    }
  });

  $('#qa-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const input = $('#qa-input');
    const text = input.value.trim();
    if (!text || !(await ensureSignedIn())) return;
    $('#qa-error').textContent = '';
    try {
      const ack = await live.ask(text);
      input.value = '';
      takeQuestion({ id: ack.id, text });
      render.renderQuestions();
    } catch (x) {
      $('#qa-error').textContent = errorText(x);
    }
  });

  $('#chat-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const input = $('#chat-input');
    const text = input.value.trim();
    if (!text || !(await ensureSignedIn())) return;
    try {
      await live.chat(text);
      input.value = '';
    } catch (x) {
      // retry_s: when the same message may be sent (slow_mode, rate_limited, muted).
      const retry = x.frame && x.frame.retry_s;
      if (x.code === 'muted') {
        state.muted = { until: Date.now() + retry * 1000 };
        render.renderChatNotice();
      } else if (x.code === 'banned') {
        state.banned = true;
        render.renderChatNotice();
      } else if (x.code === 'slow_mode') {
        if (!state.slowmode) state.slowmode = retry;
        render.renderChatNotice();
      } else {
        const n = $('#chat-notice');
        n.textContent = t('chat.refused', { message: errorText(x) });
        n.hidden = false;
      }
    }
  });

  $('#queue-join').addEventListener('click', async () => {
    if (!(await ensureSignedIn())) return;
    try {
      const ack = await live.joinQueue();
      state.queue.in = true;
      takeQueue(ack);
      render.renderQueue();
    } catch (x) { announce(errorText(x), { assertive: true }); }
  });
  $('#queue-leave').addEventListener('click', async () => {
    try { await live.leaveQueue(); } catch { /* the server drops us anyway */ }
    state.queue.in = false;
    state.queue.position = null;
    render.renderQueue();
  });

  $('#low-latency').addEventListener('change', (e) => {
    try { localStorage.setItem('jobcast.lowLatency', e.target.checked ? '1' : ''); } catch { /* ignore */ }
    if (state.room && state.room.status === 'live') startPlayback();
  });
  $('#interpreter').addEventListener('change', () => {
    if (state.room && state.room.status === 'live') startPlayback();
  });
  $('#quality').addEventListener('change', (e) => {
    if ($('#low-latency').checked) { $('#low-latency').checked = false; }
    player.setQuality(e.target.value);
    if (player.mode !== 'hls') player.playHls(roomId, { lowLatency: false });
  });
  $('#unmute').addEventListener('click', () => {
    video.muted = false;
    video.play().catch(() => {});
    $('#unmute').hidden = true;
  });
}
