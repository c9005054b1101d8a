// The viewer's rendering: the page drawn from viewer/state.js. Buttons call
// the handlers the page entry hands over (setHandlers), so rendering never
// reaches into the network itself.

import * as i18n from '../i18n.js';
import { $, el, jobFacts, clockText } from '../ui.js';
import { state } from './state.js';
import * as controls from './controls.js';

const t = i18n.t;

// {apply(jobId, button), vote(question), signIn(), signOut(), changed()}
let on = {};
export function setHandlers(handlers) { on = handlers; }

// Loading, buffering, reconnecting, waiting: viewer/controls.js.
export function renderPlayerStatus(s) { controls.renderStatus(s); }

export function renderQualities(list, current) {
  const sel = $('#quality');
  sel.replaceChildren(...list.map((q) => el('option', { value: q.id }, q.labelKey ? t(q.labelKey) : q.label)));
  sel.value = list.some((q) => q.id === current) ? current : 'auto';
}

export function renderHeader() {
  const r = state.room;
  if (!r) return;
  $('#room-title').textContent = r.title;
  document.title = `${r.title} · ${t('app.name')}`;
  const badge = $('#room-status');
  badge.textContent = t(`room.status.${r.status}`);
  badge.className = `badge ${r.status === 'live' ? 'live' : ''}`;
  $('#viewers').textContent = state.viewers != null ? t('room.viewers', { n: state.viewers }) : '';
  if (on.changed) on.changed();
}

function applyButton(job) {
  const done = state.applied.has(String(job.id));
  // Applied: aria-disabled rather than disabled, so a keyboard user's focus
  // stays on it (a disabled button drops focus to the page).
  const b = el('button', {
    type: 'button', class: done ? 'applied' : 'primary', dataset: { job: job.id },
    'aria-pressed': done ? 'true' : 'false', 'aria-disabled': done ? 'true' : 'false',
    onclick: () => { if (b.getAttribute('aria-disabled') !== 'true') on.apply(job.id, b); },
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

// Redraws `box` with `fill()`; a focused apply button inside it gets the
// focus back on its new self (keyboard users stay where they were).
function keepFocus(box, fill) {
  const a = document.activeElement;
  const job = a && box.contains(a) && a.dataset ? a.dataset.job : null;
  fill();
  if (job != null) {
    const again = box.querySelector(`button.apply[data-job="${CSS.escape(String(job))}"]`);
    if (again) again.focus({ preventScroll: true });
  }
}

export function renderPinned() {
  const job = state.pinnedId != null ? state.jobs.get(String(state.pinnedId)) : null;
  const box = $('#pinned');
  box.hidden = !job || (state.room && state.room.status === 'ended');
  if (job) keepFocus(box, () => $('#pinned-body').replaceChildren(jobBlock(job, { heading: 'h2' })));
}

export function renderJobs() {
  const list = [...state.jobs.values()];
  keepFocus($('#jobs-list'), () => $('#jobs-list').replaceChildren(...(list.length
    ? list.map((j) => el('li', { class: String(j.id) === String(state.pinnedId) ? 'is-pinned' : '' }, jobBlock(j)))
    : [el('li', { class: 'muted', text: t('job.none') })])));
}

function questionItem(q) {
  const voteBtn = el('button', {
    type: 'button', class: 'small', 'aria-pressed': q.voted ? 'true' : 'false', disabled: q.voted || !!q.answer,
    onclick: () => on.vote(q),
  }, `${t('qa.vote')} · ${q.votes || 0}`);
  return el('li', { dataset: { question: q.id } },
    el('div', { class: 'q-text', text: q.text }),
    el('div', { class: 'row muted' }, q.name ? el('span', { text: q.name }) : null, voteBtn,
      q.answer ? el('span', { class: 'badge ok', text: t('qa.answered') }) : null),
    q.answer ? el('div', { class: 'answer' }, el('strong', { text: `${t('qa.answer')}：` }), el('span', { class: 'answer-text', text: q.answer })) : null);
}

export function renderQuestions() {
  const list = [...state.questions.values()].sort((a, b) => (b.votes || 0) - (a.votes || 0));
  $('#qa-list').replaceChildren(...(list.length ? list.map(questionItem) : [el('li', { class: 'muted', text: t('qa.none') })]));
}

export function renderQueue() {
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

export function renderSignin() {
  if (on.changed) on.changed();
  const box = $('#signin');
  if (state.me) {
    box.replaceChildren(el('span', { class: 'muted grow', text: t('signin.done', { name: state.me.name || state.me.sub }) }),
      el('button', { type: 'button', class: 'small', onclick: () => on.signOut() }, t('signin.out')));
  } else {
    box.replaceChildren(el('span', { class: 'muted grow', text: t('signin.needed') }),
      el('button', { type: 'button', class: 'small', id: 'demo-signin', onclick: () => on.signIn().catch(() => {}) }, t('signin.demo')));
  }
}

export function renderChatNotice() {
  const n = $('#chat-notice');
  let text = '';
  if (state.banned) text = t('chat.banned');
  else if (state.muted) text = t('chat.muted', { until: state.muted.until ? t('chat.mutedUntil', { time: clockText(state.muted.until) }) : '' });
  else if (state.slowmode) text = t('chat.slow', { n: state.slowmode });
  n.textContent = text;
  n.hidden = !text;
}

export function renderAll() {
  renderHeader();
  renderPinned();
  renderJobs();
  renderQuestions();
  renderQueue();
  renderSignin();
  renderChatNotice();
}

// chat.message, or a line of the snapshot's recent chat (skipped when listed:
// after a resume the events repeat what the snapshot holds).
export function addChat(m) {
  const list = $('#chat-list');
  if (list.querySelector(`[data-message="${CSS.escape(String(m.id))}"]`)) return;
  const li = el('li', { dataset: { message: m.id } },
    el('span', { class: 'who', text: `${m.name}:` }), el('span', { class: 'text', text: m.text }));
  list.append(li);
  while (list.children.length > 200) list.firstElementChild.remove();
  list.scrollTop = list.scrollHeight;
}

// chat.deleted
export function markChatDeleted(id) {
  const li = $(`#chat-list [data-message="${CSS.escape(String(id))}"]`);
  if (li) li.replaceChildren(el('span', { class: 'muted', text: t('chat.deleted') }));
}

// chat.pinned, chat.unpinned, or the snapshot's pinned_message.
export function showPinnedMessage(p) {
  const box = $('#chat-pinned');
  box.hidden = !p;
  box.replaceChildren(...(p ? [el('span', { class: 'badge', text: t('chat.pinned') }), ' ',
    el('span', { class: 'who', text: `${p.name}:` }), el('span', { class: 'text', text: p.text })] : []));
}

// card.hidden, or a snapshot without a card.
export function hideCard() {
  const box = $('#card-shown');
  box.replaceChildren();
  box.hidden = true;
}

// card.shown, or the snapshot's card.
export function showCard(c) {
  const box = $('#card-shown');
  const kind = c.card === 'contract_template' ? t('card.contract') : t('card.policy');
  box.replaceChildren(...[el('div', { class: 'row' }, el('span', { class: 'badge', text: kind }), el('strong', { text: c.title })),
    c.body ? el('p', { text: c.body }) : null,
    c.url ? el('a', { href: c.url, target: '_blank', rel: 'noopener' }, c.url) : null].filter(Boolean));
  box.hidden = false;
}

export function showError(text) {
  const p = $('#room-error');
  p.textContent = text;
  p.hidden = false;
}

export function fmtOffset(s) {
  s = Math.round(s);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  return (h ? `${h}:${String(m).padStart(2, '0')}` : `${m}`) + `:${String(sec).padStart(2, '0')}`;
}
