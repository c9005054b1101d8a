// The counsellor's console (/console/{room}): watches the programme, joins and
// leaves the stage by WHIP, shows policy/contract cards, answers questions,
// moderates chat, and shows the room's live figures.

import * as i18n from './i18n.js';
import * as api from './api.js';
import { LiveChannel } from './live.js';
import { Player } from './player.js';
import { WhipPublisher } from './whip.js';
import { $, el, announce, errorText, roomFromPath, clockText } from './ui.js';
import { staffToken, Devices } from './staff.js';

const t = i18n.t;
const roomId = roomFromPath();

const state = {
  token: '',
  room: null,
  questions: new Map(),
  figures: { viewers: null, applications: null, questions: null, queue: null },
  onStage: false,
};
let live = null;
let publisher = null;
const player = new Player($('#video'), {
  onStatus: (s) => { $('#player-status').textContent = { reconnecting: t('player.reconnecting'), waiting: t('player.waiting') }[s] || ''; },
  onFallback: () => { $('#low-latency').checked = false; },
});
window.jobcastPlayer = player;
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
  $('#stage-join').hidden = state.onStage;
  $('#stage-leave').hidden = !state.onStage;
  $('#self-box').hidden = !state.onStage;
  $('#devices').hidden = !state.onStage;
}

function takeQuestion(q) {
  const id = String(q.id ?? q.question);
  const old = state.questions.get(id) || {};
  const answer = q.answer || undefined;
  state.questions.set(id, { ...old, id, text: q.text ?? old.text ?? '', name: q.name ?? q.user_name ?? old.name,
    user: q.user ?? q.sub ?? old.user, votes: q.votes ?? q.score ?? old.votes ?? 0, answer: answer ?? old.answer });
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

function addChat(m) {
  const id = m.id ?? '';
  const user = m.from ?? m.sub ?? '';
  const act = (label, cls, fn) => el('button', { type: 'button', class: `small ${cls}`, dataset: { user, message: id }, onclick: async () => {
    $('#mod-error').textContent = '';
    try { await fn(); } catch (x) { $('#mod-error').textContent = errorText(x); }
  } }, label);
  const li = el('li', { dataset: { message: id, user } },
    el('div', {}, el('span', { class: 'who', text: `${m.name || user}:` }), el('span', { class: 'text', text: m.text })),
    el('div', { class: 'row' },
      act(t('console.delete'), 'mod-delete', () => live.deleteMessage(id)),
      act(t('console.mute'), 'mod-mute', () => live.mute(user, 60 * (Number($('#mute-minutes').value) || 10))),
      act(t('console.ban'), 'mod-ban', () => live.ban(user))));
  const list = $('#chat');
  list.append(li);
  while (list.children.length > 300) list.firstElementChild.remove();
  list.scrollTop = list.scrollHeight;
}

function takeRoom(data) {
  const r = api.roomOf(data);
  const prev = state.room && state.room.status;
  state.room = { ...(state.room || {}), ...r };
  const c = r.counts || {};
  if (c.viewers != null) state.figures.viewers = c.viewers;
  if (c.applications != null) state.figures.applications = c.applications;
  if (c.questions != null) state.figures.questions = c.questions;
  if (c.queue != null) state.figures.queue = c.queue;
  if (prev !== state.room.status) watch();
}

function watch() {
  if (!state.room || state.room.status !== 'live') { player.stop(); return; }
  if ($('#low-latency').checked) player.playWhep(roomId, state.token);
  else player.playHls(roomId);
}

function onEvent(kind, d) {
  switch (kind) {
    case 'room.status': if (d.status && d.status !== state.room.status) { state.room.status = d.status; watch(); } break;
    case 'room.started': state.room.status = 'live'; watch(); break;
    case 'room.ended': state.room.status = 'ended'; watch(); break;
    case 'viewers.changed': state.figures.viewers = d.count ?? d.viewers ?? d.total; break;
    case 'application.count': state.figures.applications = d.total; break;
    case 'question.asked': takeQuestion(d.question || d); renderQuestions(); announce(t('qa.new', { text: (d.question || d).text }), { toast: false }); break;
    case 'question.voted': takeQuestion(d.question || d); renderQuestions(); break;
    case 'question.answered': takeQuestion({ ...(d.question || d), answer: d.answer ?? d.text }); renderQuestions(); break;
    case 'queue.changed': case 'queue.list': state.figures.queue = d.length; break;
    case 'chat.message': addChat(d.message || d); break;
    case 'chat.deleted': {
      const li = $(`#chat [data-message="${CSS.escape(String(d.id ?? d.message))}"]`);
      if (li) li.replaceChildren(el('span', { class: 'muted', text: t('chat.deleted') }));
      break;
    }
    case 'user.muted': announce(`${t('console.mute')}: ${d.sub}${d.until ? ' → ' + clockText(d.until) : ''}`); break;
    case 'user.banned': announce(`${t('console.ban')}: ${d.sub}`); break;
    case 'slowmode.changed': $('#slowmode').value = d.seconds ?? 0; break;
    default: break;
  }
  renderHeader();
}

async function joinStage() {
  $('#stage-join').disabled = true;
  $('#stage-status').textContent = t('studio.publishing');
  try {
    const stream = await devices.open();
    publisher = new WhipPublisher(roomId, state.token);
    publisher.onState = (s) => { if (s === 'failed') $('#stage-status').textContent = t('player.reconnecting'); };
    await publisher.start(stream);
    state.onStage = true;
    $('#stage-status').textContent = t('console.onStage');
  } catch (e) {
    publisher = null;
    devices.stop();
    $('#stage-status').textContent = errorText(e);
  }
  $('#stage-join').disabled = false;
  renderHeader();
}

async function leaveStage() {
  if (publisher) { const p = publisher; publisher = null; await p.stop(); }
  devices.stop();
  state.onStage = false;
  $('#stage-status').textContent = '';
  renderHeader();
}

$('#stage-join').addEventListener('click', joinStage);
$('#stage-leave').addEventListener('click', leaveStage);
$('#low-latency').addEventListener('change', watch);
$('#card-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const f = Object.fromEntries(new FormData(e.target).entries());
  $('#card-error').textContent = '';
  try { await live.showCard({ kind: f.kind, title: f.title, body: f.body, url: f.url || undefined }); announce(t('done')); } catch (x) { $('#card-error').textContent = errorText(x); }
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
  try { takeRoom(await api.rooms.get(roomId, state.token)); } catch (e) {
    const p = $('#console-error'); p.textContent = e.status === 404 ? t('room.notFound') : errorText(e); p.hidden = false;
  }
  renderHeader();
  live = new LiveChannel(roomId, {
    token: state.token,
    onWelcome: (w) => {
      const snap = w.snapshot || w.room_state || w;
      takeRoom(snap.room ? snap : { room: snap, counts: snap.counts });
      for (const q of snap.questions || snap.top_questions || []) takeQuestion(q);
      if (snap.viewers != null) state.figures.viewers = typeof snap.viewers === 'object' ? snap.viewers.count : snap.viewers;
      if (snap.queue) state.figures.queue = snap.queue.length ?? null;
      for (const m of snap.chat || []) addChat(m);
      renderQuestions();
    },
    onEvent,
  }).connect();
  window.jobcastLive = live;
}

start();
