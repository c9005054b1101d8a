// The counsellor's console (/console/{room}): watches the programme, joins and
// leaves the stage by WHIP, shows policy/contract cards, answers questions,
// moderates chat, and shows the room's live figures.

import * as i18n from './i18n.js';
import * as api from './api.js';
import { LiveChannel } from './live.js';
import { Player } from './player.js';
import { WhipPublisher } from './whip.js';
import { $, el, announce, errorText, roomFromPath, clockText, confirmDialog } from './ui.js';
import { staffToken, Devices } from './staff.js';

const t = i18n.t;
const roomId = roomFromPath();

const state = {
  token: '',
  room: null,
  jobs: new Map(),
  questions: new Map(),
  figures: { viewers: null, applications: null, questions: null, queue: null },
  // The counsellor's own place on the stage: 'off' | 'joining' | 'on' | 'leaving'.
  stage: 'off',
  previewing: false,
  stageLink: null,     // the WHIP peer connection's state while on stage
};
let live = null;
let publisher = null;
const player = new Player($('#video'), {
  onStatus: (s) => { $('#player-status').textContent = { reconnecting: t('player.reconnecting'), waiting: t('player.waiting') }[s] || ''; },
  onFallback: () => { $('#low-latency').checked = false; },
});
window.jobcastPlayer = player;
window.jobcastConsole = state;
const devices = new Devices($('#self'), $('#camera'), $('#mic'));
devices.onChange = (track) => publisher && publisher.replaceTrack(track);

function renderHeader() {
  const r = state.room;
  $('#room-title').textContent = r ? r.title : roomId;
  const b = $('#room-status');
  b.textContent = r ? t(`room.status.${r.status}`) : '';
  b.className = `badge ${r && r.status === 'live' ? 'live' : ''}`;
  for (const k of Object.keys(state.figures)) {
    const v = state.figures[k];
    $(`#fig-${k}`).textContent = v == null ? '–' : String(v);
  }
  renderStage();
}

function renderStage() {
  const s = state.stage;
  const camera = s !== 'off' || state.previewing;
  $('#stage-join').hidden = s === 'on' || s === 'leaving';
  $('#stage-join').disabled = s !== 'off' || !(state.room && state.room.status === 'live');
  $('#stage-leave').hidden = !(s === 'on' || s === 'leaving');
  $('#stage-leave').disabled = s === 'leaving';
  $('#camera-preview').hidden = s !== 'off';
  $('#camera-preview').setAttribute('aria-pressed', String(state.previewing));
  $('#stage-name').disabled = s !== 'off';
  $('#self-box').hidden = !camera;
  $('#devices').hidden = !camera;
  const text = s === 'on' && state.stageLink === 'failed' ? 'player.reconnecting'
    : { joining: 'console.joining', on: 'console.onStage', leaving: 'console.leaving' }[s];
  $('#stage-status').textContent = text ? t(text) : (state.room && state.room.status !== 'live' ? t('console.stageNotLive') : '');
}

function takeQuestion(q) {
  const id = String(q.id);
  const old = state.questions.get(id) || {};
  state.questions.set(id, { ...old, id, text: q.text ?? old.text ?? '', name: q.name ?? old.name,
    user: q.from ?? old.user, votes: q.votes ?? old.votes ?? 0, answer: q.answer || old.answer });
}

function renderQuestions() {
  const list = [...state.questions.values()].sort((a, b) => (!!a.answer - !!b.answer) || (b.votes || 0) - (a.votes || 0));
  state.figures.questions = Math.max(state.figures.questions || 0, list.length);
  $('#questions').replaceChildren(...(list.length ? list.map((q) => {
    const input = el('input', { class: 'answer-input', maxlength: 1000, autocomplete: 'off', placeholder: t('console.answerPlaceholder'),
      'aria-label': `${t('qa.answer')}: ${q.text}` });
    const form = el('form', { class: 'row answer-form', dataset: { question: q.id } },
      el('div', { class: 'grow' }, input), el('button', { type: 'submit', class: 'primary small' }, t('qa.answer')));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const text = input.value.trim();
      if (!text) return;
      try {
        await live.answer(q.id, text);
        q.answer = text;
        renderQuestions();
      } catch (x) { announce(errorText(x), { assertive: true }); }
    });
    return el('li', { dataset: { question: q.id } },
      el('div', { class: 'row' }, el('span', { class: 'grow q-text', text: q.text }), el('span', { class: 'badge', text: `▲ ${q.votes || 0}` })),
      q.answer ? el('div', { class: 'answer' }, el('span', { class: 'badge ok', text: t('qa.answered') }), ' ', q.answer) : form);
  }) : [el('li', { class: 'muted', text: t('qa.none') })]));
  renderHeader();
}

// One chat line with its moderation buttons. A message already listed (the
// welcome's recent chat overlaps the events that follow a resume) is skipped.
function addChat(m) {
  const id = m.id;
  const user = m.from;
  const list = $('#chat');
  if (list.querySelector(`[data-message="${CSS.escape(String(id))}"]`)) return;
  const name = m.name || user;
  const act = (label, cls, fn) => el('button', { type: 'button', class: `small ${cls}`, dataset: { user, message: id }, onclick: async () => {
    $('#mod-error').textContent = '';
    try { await fn(); } catch (x) { $('#mod-error').textContent = errorText(x); }
  } }, label);
  const li = el('li', { dataset: { message: id, user } },
    el('div', { class: 'chat-line' }, el('span', { class: 'who', text: `${name}:` }), el('span', { class: 'text', text: m.text })),
    el('div', { class: 'row mod-actions' },
      act(t('console.delete'), 'mod-delete', () => live.deleteMessage(id)),
      act(t('console.pin'), 'mod-pin', () => live.pin(id)),
      act(t('console.mute'), 'mod-mute', () => live.mute(user, 60 * (Number($('#mute-minutes').value) || 10))),
      act(t('console.kick'), 'mod-kick', () => live.kick(user)),
      act(t('console.ban'), 'mod-ban', async () => {
        if (await confirmDialog(t('console.banConfirm', { name }), t('console.banYes'))) await live.ban(user);
      })));
  list.append(li);
  while (list.children.length > 300) list.firstElementChild.remove();
  list.scrollTop = list.scrollHeight;
}

// chat.deleted: the text goes, the author's mute/kick/ban buttons stay.
function markDeleted(id) {
  const li = $(`#chat [data-message="${CSS.escape(String(id))}"]`);
  if (!li) return;
  const line = li.querySelector('.chat-line');
  if (line) line.replaceChildren(el('span', { class: 'muted', text: t('chat.deleted') }));
  for (const b of li.querySelectorAll('.mod-delete, .mod-pin')) b.remove();
}

// The pinned message (chat.pinned, the snapshot's pinned_message) or none.
function renderPinnedMessage(p) {
  state.pinned = p || null;
  const box = $('#chat-pinned');
  box.hidden = !p;
  if (!p) { box.replaceChildren(); return; }
  box.replaceChildren(el('span', { class: 'badge', text: t('chat.pinned') }), ' ',
    el('span', { class: 'who', text: `${p.name}:` }), el('span', { class: 'text', text: p.text }), ' ',
    el('button', { type: 'button', class: 'small', id: 'chat-unpin', onclick: async () => {
      $('#mod-error').textContent = '';
      try { await live.unpin(); } catch (x) { $('#mod-error').textContent = errorText(x); }
    } }, t('console.unpin')));
}

function renderCardShown(c) {
  state.card = c || null;
  $('#card-hide').hidden = !c;
  $('#card-current').textContent = c ? c.title : '';
}

// ---- job cards awaiting review (rooms that require it): approve them here ----
function takeJob(job) {
  const j = api.jobOf(job);
  if (j) state.jobs.set(String(j.id), j);
}

function renderReview() {
  const pending = [...state.jobs.values()].filter((j) => j.review === 'pending');
  $('#review').hidden = !state.room || !(state.room.requireReview || pending.length);
  $('#review-list').replaceChildren(...(pending.length ? pending.map((j) => el('li', { class: 'row', dataset: { job: j.id } },
    el('strong', { class: 'grow', text: j.title }),
    el('button', { type: 'button', class: 'primary approve', 'aria-label': `${t('review.approve')}: ${j.title}`, onclick: async () => {
      $('#review-error').textContent = '';
      try { takeJob(await api.jobs.approve(roomId, j.id, state.token)); renderReview(); announce(t('review.approved', { title: j.title })); } catch (e) { $('#review-error').textContent = errorText(e); }
    } }, t('review.approve')))) : [el('li', { class: 'muted', text: t('review.none') })]));
}

function takeRoom(data) {
  const r = api.roomOf(data);
  for (const j of data.jobs || []) takeJob(j);
  const prev = state.room && state.room.status;
  state.room = { ...(state.room || {}), ...r };
  if (r.counts.applications != null) state.figures.applications = r.counts.applications;
  if (prev !== state.room.status) watch();
}

function watch() {
  if (state.room && state.room.status === 'ended') leaveStage({ removed: true });
  if (!state.room || state.room.status !== 'live') { player.stop(); return; }
  if ($('#low-latency').checked) player.playWhep(roomId, state.token);
  else player.playHls(roomId);
}

function onEvent(kind, d) {
  switch (kind) {
    case 'room.status': if (d.status && d.status !== state.room.status) { state.room.status = d.status; watch(); } break;
    case 'viewers.changed': state.figures.viewers = d.count; break;
    case 'application.count': state.figures.applications = d.total; break;
    case 'question.asked': takeQuestion(d); renderQuestions(); announce(t('qa.new', { text: d.text }), { toast: false }); break;
    case 'question.voted': takeQuestion(d); renderQuestions(); break;
    case 'question.answered': takeQuestion(d); renderQuestions(); break;
    case 'queue.changed': case 'queue.list': state.figures.queue = d.length; break;
    case 'chat.message': addChat(d); break;
    case 'chat.deleted': markDeleted(d.id); break;
    case 'chat.pinned': renderPinnedMessage(d); break;
    case 'chat.unpinned': renderPinnedMessage(null); break;
    case 'job.added': case 'job.approved': takeJob(d.job); renderReview(); break;
    case 'card.shown': renderCardShown(d); break;
    case 'card.hidden': renderCardShown(null); break;
    case 'user.kicked': announce(t('console.kicked', { name: d.sub })); break;
    case 'user.muted': announce(`${t('console.mute')}: ${d.sub}${d.until ? ' → ' + clockText(d.until) : ''}`); break;
    case 'user.banned': announce(`${t('console.ban')}: ${d.sub}`); break;
    case 'slowmode.changed': $('#slowmode').value = d.seconds; break;
    case 'stage.changed': onStageChanged(d); break;
    default: break;
  }
  renderHeader();
}

// ---- the counsellor on the stage: membership by REST (docs/stage.md), then
// the camera by WHIP; the node composes the programme with them as a guest.

function me() {
  return api.claims(state.token) || {};
}

function stageError(e) {
  const box = $('#stage-error');
  box.hidden = !e;
  if (!e) { box.textContent = ''; return; }
  let key = 'console.stageFailed';
  if (e.name === 'NotAllowedError' || e.name === 'NotFoundError' || e.name === 'NotReadableError') key = 'console.cameraFailed';
  else if (e.code === 'network' || e.status === 0) key = 'error.network';
  else if (e.status === 401 || e.status === 403) key = 'console.stageForbidden';
  else if (e.status === 409) key = 'console.stageBusy';
  // The explanation, then what went wrong in the page's language (the browser's
  // camera error by name; never the server's English message).
  const camera = key === 'console.cameraFailed';
  box.textContent = t(key, { message: camera ? e.name : errorText(e) });
  announce(box.textContent, { assertive: true, toast: false });
}

async function previewCamera() {
  stageError(null);
  if (state.previewing) {
    state.previewing = false;
    if (state.stage === 'off') devices.stop();
  } else {
    try {
      await devices.open();
      state.previewing = true;
    } catch (e) { stageError(e); }
  }
  renderStage();
}

async function joinStage() {
  if (state.stage !== 'off') return;
  const sub = me().sub;
  const name = $('#stage-name').value.trim() || me().name || sub;
  state.stage = 'joining';
  state.stageLink = null;
  stageError(null);
  renderStage();
  let member = false;
  try {
    const stream = devices.stream || await devices.open();
    await api.stage.put(roomId, sub, { slot: 'guest', name }, state.token);
    member = true;
    publisher = new WhipPublisher(roomId, state.token);
    publisher.onState = onPublisherState;
    await publisher.start(stream);
    state.stage = 'on';
    state.previewing = false;  // the preview is now the on-stage picture: leaving stops it
  } catch (e) {
    // Leave nothing half done: no session, no place on the stage, no camera.
    if (publisher) { const p = publisher; publisher = null; await p.stop(); }
    if (member) await api.stage.remove(roomId, sub, state.token).catch(() => {});
    if (!state.previewing) devices.stop();
    state.stage = 'off';
    stageError(e);
  }
  renderStage();
}

function onPublisherState(s) {
  state.stageLink = s;
  renderStage();
  if (s === 'failed' && publisher && state.stage === 'on') {
    // The network dropped the camera: publish again on a new session.
    const p = publisher;
    setTimeout(async () => {
      if (publisher !== p || state.stage !== 'on') return;
      try { await p.start(devices.stream); } catch (e) { stageError(e); }
    }, 2000);
  }
}

async function leaveStage({ removed = false } = {}) {
  if (state.stage !== 'on') return;
  state.stage = 'leaving';
  stageError(null);
  renderStage();
  // The WHIP session first, so the programme goes back to the employer at
  // once; then the place on the stage.
  if (publisher) { const p = publisher; publisher = null; await p.stop(); }
  if (!removed) {
    try { await api.stage.remove(roomId, me().sub, state.token); } catch (e) {
      if (e.code !== 'not_on_stage') stageError(e);
    }
  }
  devices.stop();
  state.stage = 'off';
  renderStage();
}

// stage.changed: somebody else (an administrator, the employer) may take the
// counsellor off the stage; then the camera stops here too.
function onStageChanged(stage) {
  const sub = me().sub;
  const on = [...stage.guests, stage.interpreter, stage.main].some((m) => m && m.sub === sub);
  if (!on && state.stage === 'on') {
    leaveStage({ removed: true });
    announce(t('console.removedFromStage'), { assertive: true });
  }
}

$('#camera-preview').addEventListener('click', previewCamera);
$('#stage-join').addEventListener('click', joinStage);
$('#stage-leave').addEventListener('click', () => leaveStage());
// Closing the page ends the session at once (keepalive DELETE) instead of
// leaving the programme on a frozen picture until the node notices.
window.addEventListener('pagehide', () => { if (publisher) publisher.stop(); });
$('#low-latency').addEventListener('change', watch);
$('#card-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const f = Object.fromEntries(new FormData(e.target).entries());
  $('#card-error').textContent = '';
  try { await live.showCard({ kind: f.kind, title: f.title, body: f.body, url: f.url || undefined }); announce(t('done')); } catch (x) { $('#card-error').textContent = errorText(x); }
});
$('#card-hide').addEventListener('click', async () => {
  $('#card-error').textContent = '';
  try { await live.hideCard(); announce(t('done')); } catch (x) { $('#card-error').textContent = errorText(x); }
});
$('#slowmode-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  $('#mod-error').textContent = '';
  try { await live.slowmode(Number($('#slowmode').value) || 0); announce(t('done')); } catch (x) { $('#mod-error').textContent = errorText(x); }
});

async function start() {
  $('#lang-slot').replaceWith(i18n.languageMenu());
  i18n.apply();
  i18n.onChange(() => { renderHeader(); renderQuestions(); });
  renderHeader();
  renderQuestions();
  state.token = await staffToken('console');
  if (!$('#stage-name').value) $('#stage-name').value = me().name || '';
  try { takeRoom(await api.rooms.get(roomId, state.token)); } catch (e) {
    const p = $('#console-error'); p.textContent = e.status === 404 ? t('room.notFound') : errorText(e); p.hidden = false;
  }
  renderHeader();
  live = new LiveChannel(roomId, {
    token: state.token,
    onWelcome: (w) => {
      const snap = w.snapshot;
      takeRoom(snap);
      for (const q of snap.questions) takeQuestion(q);
      state.figures.viewers = snap.viewers;
      state.figures.queue = snap.queue.length;
      for (const m of snap.chat || []) addChat(m);
      renderPinnedMessage(snap.pinned_message);
      renderCardShown(snap.card);
      renderQuestions();
      renderReview();
    },
    onEvent,
  }).connect();
  window.jobcastLive = live;
}

start();
