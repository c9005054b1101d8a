// The viewer page (/room/{id}), phone first: plays the room, shows the pinned
// job with one-tap Apply, all jobs, Q&A, chat, the interview queue, captions,
// and replays with job chapters once the room has ended.

import * as i18n from './i18n.js';
import * as api from './api.js';
import { LiveChannel } from './live.js';
import { Player } from './player.js';
import { $, el, announce, errorText, jobFacts, roomFromPath, tabs, clockText, timeText } from './ui.js';

const t = i18n.t;
const roomId = roomFromPath();
const params = new URLSearchParams(location.search);

const state = {
  room: null,              // roomOf()
  jobs: new Map(),         // id -> job
  pinnedId: null,
  applied: new Set(),      // job ids
  questions: new Map(),    // id -> {id, text, votes, answer, voted}
  viewers: null,
  token: api.takeTokenFromUrl('viewer'),
  me: null,                // token claims
  hasProfile: null,        // unknown until asked
  muted: null,             // {until}
  slowmode: 0,
  queue: { in: false, position: null, wait: null, length: null },
  pendingApply: null,
  appCounts: new Map(),
};
state.me = state.token ? api.claims(state.token) : null;

const video = $('#video');
const player = new Player(video, {
  onStatus: renderPlayerStatus,
  onQualities: renderQualities,
  onFallback: (e) => {
    if (e && e.code === 'variant_unavailable') { $('#interpreter').checked = false; return; }
    $('#low-latency').checked = false;
  },
});
window.jobcastPlayer = player;  // for tests and the page-weight bench

// ---------------------------------------------------------------- rendering
function renderPlayerStatus(s) {
  const text = { reconnecting: t('player.reconnecting'), waiting: t('player.waiting'), loading: '' }[s] || '';
  $('#player-status').textContent = text;
  $('#stage').dataset.status = s;
}

function renderQualities(list) {
  const sel = $('#quality');
  const current = player.quality;
  sel.replaceChildren(...list.map((q) => el('option', { value: q.id }, q.labelKey ? t(q.labelKey) : q.label)));
  sel.value = list.some((q) => q.id === current) ? current : 'auto';
}

function renderHeader() {
  const r = state.room;
  if (!r) return;
  $('#room-title').textContent = r.title;
  document.title = `${r.title} · ${t('app.name')}`;
  const badge = $('#room-status');
  badge.textContent = t(`room.status.${r.status}`);
  badge.className = `badge ${r.status === 'live' ? 'live' : ''}`;
  $('#viewers').textContent = state.viewers != null ? t('room.viewers', { n: state.viewers }) : '';
}

function applyButton(job) {
  const done = state.applied.has(String(job.id));
  const b = el('button', {
    type: 'button', class: done ? 'applied' : 'primary', dataset: { job: job.id },
    'aria-pressed': done ? 'true' : 'false', disabled: done,
    onclick: () => applyTo(job.id, b),
  }, done ? `✓ ${t('job.applied')}` : t('job.apply'));
  b.classList.add('apply');
  return b;
}

function jobBlock(job, { heading = 'h3' } = {}) {
  return el('div', { class: 'job', dataset: { job: job.id } },
    el(heading, { text: job.title }),
    jobFacts(job),
    job.description ? el('p', { class: 'muted', text: job.description }) : null,
    el('div', { class: 'row' },
      applyButton(job),
      job.contract ? el('a', { href: job.contract, target: '_blank', rel: 'noopener' }, t('job.contract')) : null));
}

function renderPinned() {
  const job = state.pinnedId != null ? state.jobs.get(String(state.pinnedId)) : null;
  const box = $('#pinned');
  box.hidden = !job || (state.room && state.room.status === 'ended');
  if (job) $('#pinned-body').replaceChildren(jobBlock(job));
}

function renderJobs() {
  const list = [...state.jobs.values()];
  $('#jobs-list').replaceChildren(...(list.length
    ? list.map((j) => el('li', { class: String(j.id) === String(state.pinnedId) ? 'is-pinned' : '' }, jobBlock(j)))
    : [el('li', { class: 'muted', text: t('job.none') })]));
}

function renderAll() {
  renderHeader();
  renderPinned();
  renderJobs();
  renderQuestions();
  renderQueue();
  renderSignin();
  renderChatNotice();
}

function questionItem(q) {
  const voteBtn = el('button', {
    type: 'button', class: 'small', 'aria-pressed': q.voted ? 'true' : 'false', disabled: q.voted || !!q.answer,
    onclick: async () => {
      if (!(await ensureSignedIn())) return;
      try { await live.vote(q.id); q.voted = true; renderQuestions(); } catch (e) { $('#qa-error').textContent = errorText(e); }
    },
  }, `${t('qa.vote')} · ${q.votes || 0}`);
  return el('li', { dataset: { question: q.id } },
    el('div', { class: 'q-text', text: q.text }),
    el('div', { class: 'row muted' }, q.name ? el('span', { text: q.name }) : null, voteBtn,
      q.answer ? el('span', { class: 'badge ok', text: t('qa.answered') }) : null),
    q.answer ? el('div', { class: 'answer' }, el('strong', { text: `${t('qa.answer')}：` }), el('span', { class: 'answer-text', text: q.answer })) : null);
}

function renderQuestions() {
  const list = [...state.questions.values()].sort((a, b) => (b.votes || 0) - (a.votes || 0));
  $('#qa-list').replaceChildren(...(list.length ? list.map(questionItem) : [el('li', { class: 'muted', text: t('qa.none') })]));
}

function renderQueue() {
  const q = state.queue;
  $('#queue-join').hidden = q.in;
  $('#queue-leave').hidden = !q.in;
  let text = t('queue.notIn');
  if (q.offer) text = t('queue.offer', { call: q.offer });
  else if (q.in && q.position != null) {
    text = t('queue.position', { n: q.position });
    if (q.wait != null) text += ' · ' + t('queue.wait', { n: Math.max(1, Math.round(q.wait / 60)) });
  }
  $('#queue-status').textContent = text;
  $('#queue-length').textContent = q.length != null ? t('queue.length', { n: q.length }) : '';
}

function renderSignin() {
  const box = $('#signin');
  if (state.me) {
    box.replaceChildren(el('span', { class: 'muted grow', text: t('signin.done', { name: state.me.name || state.me.sub }) }),
      el('button', { type: 'button', class: 'small', onclick: signOut }, t('signin.out')));
  } else {
    box.replaceChildren(el('span', { class: 'muted grow', text: t('signin.needed') }),
      el('button', { type: 'button', class: 'small', id: 'demo-signin', onclick: () => demoSignIn().catch(() => {}) }, t('signin.demo')));
  }
}

function renderChatNotice() {
  const n = $('#chat-notice');
  let text = '';
  if (state.banned) text = t('chat.banned');
  else if (state.muted) text = t('chat.muted', { until: state.muted.until ? t('chat.mutedUntil', { time: clockText(state.muted.until) }) : '' });
  else if (state.slowmode) text = t('chat.slow', { n: state.slowmode });
  n.textContent = text;
  n.hidden = !text;
}

function addChat(m) {
  const list = $('#chat-list');
  const li = el('li', { dataset: { message: m.id ?? '' } },
    el('span', { class: 'who', text: `${m.name || m.from || ''}:` }), el('span', { class: 'text', text: m.text }));
  list.append(li);
  while (list.children.length > 200) list.firstElementChild.remove();
  list.scrollTop = list.scrollHeight;
}

let captionTimer = null;
function showCaption(text) {
  const box = $('#captions');
  box.replaceChildren(el('span', { text }));
  clearTimeout(captionTimer);
  captionTimer = setTimeout(() => box.replaceChildren(), 7000);
}

function showCard(c) {
  const box = $('#card-shown');
  if (!c || c.hidden || c.clear) { box.hidden = true; return; }
  const kind = (c.card || c.kind) === 'contract_template' ? t('card.contract') : t('card.policy');
  box.replaceChildren(...[el('div', { class: 'row' }, el('span', { class: 'badge', text: kind }), el('strong', { text: c.title || '' })),
    (c.body || c.text) ? el('p', { text: c.body || c.text }) : null,
    c.url ? el('a', { href: c.url, target: '_blank', rel: 'noopener' }, c.url) : null].filter(Boolean));
  box.hidden = false;
}

// ---------------------------------------------------------------- state in
function setJobs(list) {
  for (const j of list) if (j && j.id != null) state.jobs.set(String(j.id), j);
}

function takeRoom(data) {
  const r = api.roomOf(data);
  const prevStatus = state.room && state.room.status;
  state.room = { ...(state.room || {}), ...r, id: r.id ?? roomId };
  setJobs(r.jobs);
  if (r.pinnedJob) setJobs([r.pinnedJob]);
  if (r.pinnedId != null || r.pinnedJob) state.pinnedId = String(r.pinnedId ?? r.pinnedJob.id);
  if (r.counts && r.counts.viewers != null) state.viewers = r.counts.viewers;
  if (prevStatus !== state.room.status) onStatusChanged();
}

function takeQuestion(q) {
  const id = String(q.id ?? q.question);
  const old = state.questions.get(id) || {};
  const answer = q.answer || undefined;
  state.questions.set(id, {
    ...old, id,
    text: q.text ?? old.text ?? '',
    name: q.name ?? q.user_name ?? old.name,
    votes: q.votes ?? q.score ?? old.votes ?? 0,
    answer: answer ?? old.answer,
    voted: old.voted || !!q.voted,
  });
}

function takeApplications(list) {
  for (const a of list || []) {
    const job = a.job ?? a.job_id ?? (a.job_card && a.job_card.id);
    if (job != null) state.applied.add(String(job));
  }
  saveApplied();
}

function appliedKey() { return state.me ? `jobcast.applied.${state.me.sub}` : null; }
function saveApplied() {
  const k = appliedKey();
  if (k) try { localStorage.setItem(k, JSON.stringify([...state.applied])); } catch { /* ignore */ }
}
function loadApplied() {
  const k = appliedKey();
  if (!k) return;
  try { for (const id of JSON.parse(localStorage.getItem(k) || '[]')) state.applied.add(String(id)); } catch { /* ignore */ }
}

function takeQueue(d) {
  const q = state.queue;
  if (d.length != null || d.size != null) q.length = d.length ?? d.size;
  const mine = d.you || d.me || (d.position != null ? d : null);
  if (mine && (mine.position != null)) {
    q.in = mine.position > 0;
    q.position = mine.position;
    q.wait = mine.wait_s ?? mine.wait_seconds ?? mine.estimated_wait_s ?? mine.eta_s ?? mine.wait ?? null;
  }
  if (d.in_queue === false) { q.in = false; q.position = null; }
}

function onStatusChanged() {
  const s = state.room.status;
  $('#player-controls').hidden = s === 'ended';
  if (s === 'live') {
    $('#replay').hidden = true;
    startPlayback();
  } else if (s === 'scheduled') {
    player.stop();
    renderPlayerStatus('waiting');
  } else if (s === 'ended') {
    player.stop();
    loadReplay();
  }
}

function startPlayback() {
  // The interpreter variant: WHEP ?variant=interpreter, or the HLS master's alternative picture.
  const interpreter = $('#interpreter').checked;
  if ($('#low-latency').checked) player.playWhep(roomId, state.token || null, { interpreter });
  else {
    player.interpreter = interpreter;
    player.playHls(roomId);
  }
}

function takeStage(stage) {
  if (!stage || typeof stage !== 'object' || Array.isArray(stage)) return;
  const has = !!stage.interpreter;
  $('#interpreter-box').hidden = !has;
  if (!has && $('#interpreter').checked) {
    $('#interpreter').checked = false;
    startPlayback();
  }
}

async function loadReplay(attempt = 0) {
  renderPinned();
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
    const playPiece = (i, at = 0) => { current = i; player.playFile(rec.pieces[i].url, { startAt: at }); };
    // The recording comes in pieces: play them one after the other.
    video.onended = () => { if (current + 1 < rec.pieces.length) playPiece(current + 1); };
    playPiece(0);
    const items = rec.chapters.length ? rec.chapters : [];
    ol.replaceChildren(...items.map((c) => el('li', {},
      el('button', { type: 'button', class: 'chapter', dataset: { at: c.at, piece: c.piece, job: c.jobId },
        onclick: () => { if (c.piece === current) player.seek(c.at); else playPiece(c.piece, c.at); } },
        `${fmtOffset(c.at + rec.pieces.slice(0, c.piece).reduce((n, p) => n + p.duration, 0))} · ${c.title}`))));
    if (!items.length) ol.replaceChildren(...[...state.jobs.values()].map((j) => el('li', { text: j.title })));
  } catch (e) {
    ol.replaceChildren(el('li', { class: 'muted', text: e.status === 404 ? t('player.noRecording') : errorText(e) }));
  }
}

function fmtOffset(s) {
  s = Math.round(s);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  return (h ? `${h}:${String(m).padStart(2, '0')}` : `${m}`) + `:${String(sec).padStart(2, '0')}`;
}

// ---------------------------------------------------------------- the channel
const live = new LiveChannel(roomId, {
  token: state.token || null,
  onState: (s) => {
    document.body.dataset.live = s;
    const conn = $('#conn');
    conn.hidden = s !== 'reconnecting';
    conn.textContent = s === 'reconnecting' ? t('live.reconnecting') : '';
  },
  onWelcome: (w) => {
    const snap = w.snapshot || w.room_state || w;
    takeRoom(snap.room ? snap : { room: snap, jobs: snap.jobs, pinned_job: snap.pinned_job ?? snap.pinned, counts: snap.counts });
    for (const q of snap.questions || snap.top_questions || []) takeQuestion(q);
    if (snap.viewers != null) state.viewers = typeof snap.viewers === 'object' ? snap.viewers.count : snap.viewers;
    if (snap.queue) { state.queue.in = snap.queue.position != null; takeQueue(snap.queue); }
    takeApplications(snap.applications || snap.my_applications);
    if (snap.slowmode != null) state.slowmode = Number(snap.slowmode) || 0;
    state.muted = snap.muted_s ? { until: Date.now() + 1000 * snap.muted_s } : null;
    if (snap.card) showCard(snap.card);
    takeStage(snap.stage);
    for (const m of snap.chat || []) addChat(m);
    renderAll();
  },
  onEvent: (kind, d) => onEvent(kind, d),
});

window.jobcastViewerLive = live;

function isMe(d) {
  if (!state.me) return false;
  const u = d.user ?? d.sub ?? d.user_id;
  return d.you === true || (u != null && String(u) === String(state.me.sub));
}

function onEvent(kind, d) {
  switch (kind) {
    // {status, at} from rooms/transition_room.lua: the one event for scheduled -> live -> ended.
    case 'room.status':
      if (d.status && d.status !== state.room.status) { state.room.status = d.status; onStatusChanged(); renderHeader(); }
      break;
    case 'job.added': setJobs([api.jobOf(d.job || d)]); renderJobs(); break;
    case 'job.pinned': {
      const job = d.job && typeof d.job === 'object' ? api.jobOf(d.job) : null;
      if (job) setJobs([job]);
      state.pinnedId = String(job ? job.id : (d.job ?? d.job_id ?? d.id));
      renderPinned(); renderJobs();
      const j = state.jobs.get(state.pinnedId);
      if (j) announce(`${t('job.pinned')}: ${j.title}`, { toast: false });
      break;
    }
    case 'application.count': if (d.job_id != null) state.appCounts.set(String(d.job_id), d.job_count); break;
    case 'application.status': if (d.job_id != null) { state.applied.add(String(d.job_id)); saveApplied(); } break;
    case 'question.asked': {
      takeQuestion(d.question || d);
      renderQuestions();
      announce(t('qa.new', { text: (d.question || d).text }), { toast: false });
      break;
    }
    case 'question.voted': takeQuestion(d.question || d); renderQuestions(); break;
    case 'question.answered': {
      takeQuestion({ ...(d.question || d), answer: d.answer ?? d.text ?? (d.question && d.question.answer) });
      renderQuestions();
      break;
    }
    case 'chat.message': addChat(d.message || d); break;
    case 'chat.deleted': {
      const id = d.id ?? d.message;
      const li = $(`#chat-list [data-message="${CSS.escape(String(id))}"]`);
      if (li) li.replaceChildren(el('span', { class: 'muted', text: t('chat.deleted') }));
      break;
    }
    case 'user.muted':
      if (isMe(d)) {
        // seconds 0: the mute is lifted.
        state.muted = d.seconds === 0 ? null : { until: d.until ?? (d.seconds ? Date.now() + 1000 * d.seconds : null) };
        renderChatNotice();
      }
      break;
    case 'user.banned': if (isMe(d)) { state.banned = true; renderChatNotice(); } break;
    case 'slowmode.changed': state.slowmode = Number(d.seconds ?? d.interval ?? d.slowmode) || 0; renderChatNotice(); break;
    case 'queue.changed': takeQueue({ length: d.length }); renderQueue(); break;
    case 'queue.position': state.queue.in = true; takeQueue(d); renderQueue(); break;
    case 'queue.left': state.queue.in = false; state.queue.position = null; renderQueue(); break;
    case 'interview.offer': state.queue.offer = d.call_id ?? d.call; state.queue.in = false; renderQueue(); announce(t('queue.offer', { call: state.queue.offer }), { assertive: true }); break;
    case 'viewers.changed': state.viewers = d.count ?? d.viewers ?? d.total; renderHeader(); break;
    case 'stage.changed': takeStage(d); // falls through
    case 'media.stage':
      // The publisher dropped and the room waits for them: say so; when they are back, play now.
      if (d.state === 'reconnecting') renderPlayerStatus('reconnecting');
      else if (d.state === 'live' && state.room.status === 'live' && player.status !== 'playing') startPlayback();
      break;
    case 'card.shown': showCard(d); break;
    case 'caption': showCaption(d.text || ''); break;
    case 'error':
      if (d.code === 'banned') { state.banned = true; renderChatNotice(); }
      else if (d.code === 'room_not_found') showError(t('room.notFound'));
      break;
    default: break;
  }
}

// ---------------------------------------------------------------- actions
async function demoSignIn() {
  try {
    const r = await api.demo.token('jobseeker');
    state.token = r.token;
    api.setToken('viewer', r.token);
    state.me = api.claims(r.token);
    state.hasProfile = null;
    loadApplied();
    live.setToken(r.token);
    renderSignin();
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
  renderAll();
}

async function ensureSignedIn() {
  if (state.token) return true;
  try { return await demoSignIn(); } catch { announce(t('signin.needed'), { assertive: true }); return false; }
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
  if (button) { button.disabled = true; button.textContent = t('job.applying'); }
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
  renderPinned();
  renderJobs();
}

function openProfile(jobId) {
  state.pendingApply = jobId;
  $('#profile-error').textContent = '';
  const d = $('#profile-dialog');
  if (!d.open) d.showModal();
  $('#p-name').focus();
}

$('#p-keygroup').addEventListener('change', (e) => {
  $('#consent-row').hidden = !e.target.value;
  if (!e.target.value) $('#p-consent').checked = false;
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
  if (keyGroup) { body.key_group = keyGroup; body.key_group_consent = true; }
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
    const q = ack.id != null ? { id: ack.id, text } : null;
    if (q) { takeQuestion({ text, ...q }); renderQuestions(); }
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
    const code = String(x.code || '');
    const n = $('#chat-notice');
    const seconds = Number((String(x.message).match(/(\d+) s/) || [])[1]);
    if (code === 'muted') {
      state.muted = { until: seconds ? Date.now() + seconds * 1000 : (state.muted && state.muted.until) };
      renderChatNotice();
    } else if (code === 'banned') {
      state.banned = true;
      renderChatNotice();
    } else if (code === 'slow_mode') {
      if (!state.slowmode) state.slowmode = seconds || 1;
      renderChatNotice();
    } else {
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
    renderQueue();
  } catch (x) { announce(errorText(x), { assertive: true }); }
});
$('#queue-leave').addEventListener('click', async () => {
  try { await live.leaveQueue(); } catch { /* the server drops us anyway */ }
  state.queue.in = false;
  state.queue.position = null;
  renderQueue();
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
  if (player.mode !== 'hls') player.playHls(roomId);
});
$('#unmute').addEventListener('click', () => {
  video.muted = false;
  video.play().catch(() => {});
  $('#unmute').hidden = true;
});

// ---------------------------------------------------------------- start
async function start() {
  $('#lang-slot').replaceWith(i18n.languageMenu());
  i18n.apply();
  i18n.onChange(() => { renderAll(); renderQualities(player.qualities()); renderPlayerStatus(player.status); });
  tabs($('#tabs'));
  try { $('#low-latency').checked = params.get('ll') === '1' || localStorage.getItem('jobcast.lowLatency') === '1'; } catch { /* ignore */ }
  if (!state.token && params.get('demo') != null) await demoSignIn().catch(() => {});
  loadApplied();
  renderAll();
  if (!roomId) { showError(t('room.notFound')); return; }
  try {
    takeRoom(await api.rooms.get(roomId, state.token));
    renderAll();
  } catch (e) {
    if (e.status === 404) { showError(t('room.notFound')); return; }
    showError(errorText(e));
  }
  live.connect();
  if (state.token) {
    api.applications.mine(state.token).then((list) => { takeApplications(list); renderPinned(); renderJobs(); }).catch(() => {});
  }
}

function showError(text) {
  const p = $('#room-error');
  p.textContent = text;
  p.hidden = false;
}

start();
