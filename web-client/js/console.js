// The counsellor's console (/console/{room}): watches the programme, joins and
// leaves the stage by WHIP, shows policy/contract cards, answers questions,
// moderates chat, and shows the room's live figures.

import * as i18n from './i18n.js';
import * as api from './api.js';
import { LiveChannel } from './live.js';
import { Player } from './player.js';
import { $, el, announce, errorText, roomFromPath, clockText, confirmDialog } from './ui.js';
import { staffToken, Devices } from './staff.js';
import { StageSeat } from './stage_seat.js';

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
const player = new Player($('#video'), {
  onStatus: (s) => { $('#player-status').textContent = { reconnecting: t('player.reconnecting'), waiting: t('player.waiting') }[s] || ''; },
  onFallback: () => { $('#low-latency').checked = false; },
});
window.jobcastPlayer = player;
window.jobcastConsole = state;
const devices = new Devices($('#self'), $('#camera'), $('#mic'));

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
  else player.playHls(roomId, { lowLatency: false });
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

// The seat's state is mirrored into `state` for rendering (and tests).
const seat = new StageSeat({
  roomId, slot: 'guest', devices, token: () => state.token,
  onChange: () => {
    Object.assign(state, { stage: seat.state, previewing: seat.previewing, stageLink: seat.link });
    renderStage();
  },
});

function joinStage() {
  return seat.join($('#stage-name').value.trim() || me().name || me().sub);
}

function leaveStage(options) {
  return seat.leave(options);
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

$('#camera-preview').addEventListener('click', () => seat.preview());
$('#stage-join').addEventListener('click', joinStage);
$('#stage-leave').addEventListener('click', () => leaveStage());
// Closing the page ends the session at once (keepalive DELETE) instead of
// leaving the programme on a frozen picture until the node notices.
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
