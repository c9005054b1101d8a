// Small DOM helpers shared by the pages: element builder, live-region
// announcements, formatting of wages and times.

import { t, lang, regionName } from './i18n.js';

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

// el('button', {class: 'x', onclick: fn, dataset: {id}}, 'text', child...)
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), v);
    else if (k === 'text') e.textContent = v;
    else if (v === true) e.setAttribute(k, '');
    else e.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c == null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

// Asks before an action that cannot be undone (ban, ending the room): a modal
// dialog with the question and two buttons (#confirm-yes, #confirm-no); Escape
// or "No" answer false. Resolves with the answer.
export function confirmDialog(question, yesLabel) {
  let dialog = document.getElementById('confirm-dialog');
  if (dialog) dialog.remove();
  const yes = el('button', { type: 'button', id: 'confirm-yes', class: 'danger' }, yesLabel);
  const no = el('button', { type: 'button', id: 'confirm-no' }, t('confirm.cancel'));
  dialog = el('dialog', { id: 'confirm-dialog', 'aria-labelledby': 'confirm-text' },
    el('p', { id: 'confirm-text', text: question }), el('div', { class: 'row' }, no, yes));
  document.body.append(dialog);
  return new Promise((resolve) => {
    let answer = false;
    yes.addEventListener('click', () => { answer = true; dialog.close(); });
    no.addEventListener('click', () => dialog.close());
    dialog.addEventListener('close', () => { dialog.remove(); resolve(answer); });
    dialog.showModal();
    no.focus();
  });
}

// Polite announcement for screen readers (and a visible toast).
export function announce(text, { assertive = false, toast = true } = {}) {
  const region = document.getElementById(assertive ? 'sr-alert' : 'sr-status');
  if (region) {
    region.textContent = '';
    setTimeout(() => { region.textContent = text; }, 30);
  }
  if (toast) showToast(text);
}

let toastTimer = null;
export function showToast(text) {
  let box = document.getElementById('toast');
  if (!box) {
    box = el('div', { id: 'toast', class: 'toast', 'aria-hidden': 'true' });
    document.body.append(box);
  }
  box.textContent = text;
  box.classList.add('show');
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => box.classList.remove('show'), 4000);
}

// Server error codes (docs/api.md, docs/websocket.md) and their texts in the
// page's language. The server's own message is English and never shown.
const ERROR_KEYS = {
  network: 'error.network',
  unauthorized: 'error.signin', invalid_token: 'error.signin', token_expired: 'error.signin',
  hello_required: 'error.signin',
  forbidden: 'error.forbidden', room_forbidden: 'error.forbidden', banned: 'error.banned',
  muted: 'error.muted', slow_mode: 'error.slowMode',
  not_found: 'error.notFound', room_not_found: 'error.notFound',
  rate_limited: 'error.rateLimited', rate_limited_frames: 'error.rateLimited',
  too_long: 'error.tooLong', too_large: 'error.tooLong', payload_too_large: 'error.tooLong',
  invalid_json: 'error.invalid', invalid_field: 'error.invalid', invalid_query: 'error.invalid',
  missing_field: 'error.invalid', bad_frame: 'error.invalid',
  conflict: 'error.conflict', illegal_transition: 'error.conflict', already_voted: 'error.conflict',
  already_joined: 'error.conflict',
  room_ended: 'error.roomEnded', employer_unverified: 'error.employerUnverified',
  profile_required: 'error.profileRequired', queue_empty: 'error.queueEmpty',
  redis_unavailable: 'error.unavailable', unavailable: 'error.unavailable', join_failed: 'error.unavailable',
  node_full: 'error.unavailable',
  node_draining: 'error.unavailable',
  untrusted_node: 'error.untrustedNode',
};
const STATUS_KEYS = {
  400: 'error.invalid', 401: 'error.signin', 403: 'error.forbidden', 404: 'error.notFound',
  409: 'error.conflict', 413: 'error.tooLong', 429: 'error.rateLimited', 503: 'error.unavailable',
};

export function errorText(e) {
  if (!e) return '';
  if (e.code === 'network' || e.status === 0) return t('error.network');
  const key = ERROR_KEYS[e.code] || STATUS_KEYS[e.status];
  if (key) return e.field && key === 'error.invalid' ? t('error.field', { field: e.field }) : t(key);
  return t('error.generic');
}

const num = (n) => (n == null || n === '' ? '' : Number(n).toLocaleString(lang() === 'zh' ? 'zh-CN' : 'en'));

export function wageText(job) {
  if (!job || (job.wageMin == null && job.wageMax == null)) return '';
  const unit = t(`wage.${job.wageUnit || 'month'}`);
  const range = job.wageMin != null && job.wageMax != null && job.wageMin !== job.wageMax
    ? `${num(job.wageMin)}–${num(job.wageMax)}`
    : num(job.wageMin ?? job.wageMax);
  return `${range} ${unit}`;
}

export function timeText(ts) {
  if (ts == null || ts === '') return '';
  const d = typeof ts === 'number' ? new Date(ts < 1e12 ? ts * 1000 : ts) : new Date(ts);
  if (Number.isNaN(d.getTime())) return String(ts);
  return d.toLocaleString(lang() === 'zh' ? 'zh-CN' : 'en', { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

export function clockText(ts) {
  const d = typeof ts === 'number' ? new Date(ts < 1e12 ? ts * 1000 : ts) : new Date(ts || Date.now());
  if (Number.isNaN(d.getTime())) return '';
  return d.toLocaleTimeString(lang() === 'zh' ? 'zh-CN' : 'en', { hour: '2-digit', minute: '2-digit' });
}

// The room id from /room/{id}, /studio/{room}, /console/{room} or ?room=.
export function roomFromPath() {
  const q = new URLSearchParams(location.search).get('room');
  if (q) return q;
  const parts = location.pathname.split('/').filter(Boolean);
  return parts.length >= 2 ? decodeURIComponent(parts[1]) : '';
}

// A tab strip: buttons with aria-controls switch panels.
export function tabs(strip) {
  const buttons = $$('[role="tab"]', strip);
  const select = (b) => {
    for (const x of buttons) {
      const on = x === b;
      x.setAttribute('aria-selected', String(on));
      x.tabIndex = on ? 0 : -1;
      document.getElementById(x.getAttribute('aria-controls')).hidden = !on;
    }
  };
  buttons.forEach((b, i) => {
    b.addEventListener('click', () => select(b));
    b.addEventListener('keydown', (e) => {
      const d = e.key === 'ArrowRight' ? 1 : e.key === 'ArrowLeft' ? -1 : 0;
      if (!d) return;
      const n = buttons[(i + d + buttons.length) % buttons.length];
      n.focus();
      select(n);
    });
  });
  select(buttons.find((b) => b.getAttribute('aria-selected') === 'true') || buttons[0]);
  return { select: (id) => select(buttons.find((b) => b.getAttribute('aria-controls') === id)) };
}

// A job card's facts as a <dl>.
export function jobFacts(job) {
  const rows = [
    ['job.wage', wageText(job)],
    ['job.hours', job.hours],
    ['job.place', job.location && regionName(job.location)],
    ['job.housing', typeof job.housing === 'boolean' ? (job.housing ? '✓' : '✗') : job.housing],
    ['job.headcount', job.headcount],
  ].filter(([, v]) => v !== '' && v != null);
  const dl = el('dl', { class: 'facts' });
  // A wage never wraps inside its unit ("元/" | "月").
  for (const [k, v] of rows) dl.append(el('div', {}, el('dt', { text: t(k) }), el('dd', { class: k === 'job.wage' ? 'nowrap' : null, text: String(v) })));
  return dl;
}
