// The viewer's captions: the live caption over the video (from the room's
// channel: `caption` events, corrections included), on/off and size (S/M/L,
// remembered), a history panel to scroll back (the snapshot's captions on
// join, then the live ones), and the recording's WebVTT file as a
// <track kind="captions"> in replays.
//
// One path for live captions: the channel. The HLS subtitle rendition is for
// other players (Safari's own menu, TVs, CDNs); the page's hls.js build has no
// subtitle support, and text tracks a native HLS player adds are disabled
// here, so no caption is shown twice.

import { $, el, clockText } from '../ui.js';
import { t } from '../i18n.js';

const SHOW_MS = 7000;
const SIZES = ['s', 'm', 'l'];
const STORE = { on: 'jobcast.captions.on', size: 'jobcast.captions.size' };

const captions = new Map();  // id -> caption, in the order first seen
const prefs = { on: true, size: 'm' };
let video = null;
let replayTrack = null;
let hideTimer = null;
let shownId = null;
// For tests and the page's own figures: when each caption was first shown (ms since the epoch).
const shownAt = {};
window.jobcastCaptions = { captions, shownAt, prefs };

function load() {
  try {
    const on = localStorage.getItem(STORE.on);
    if (on != null) prefs.on = on !== '0';
    const size = localStorage.getItem(STORE.size);
    if (SIZES.includes(size)) prefs.size = size;
  } catch { /* storage refused: defaults */ }
}

function save() {
  try {
    localStorage.setItem(STORE.on, prefs.on ? '1' : '0');
    localStorage.setItem(STORE.size, prefs.size);
  } catch { /* ignore */ }
}

function box() { return $('#captions'); }

function applyPrefs() {
  const b = box();
  b.hidden = !prefs.on;
  for (const s of SIZES) b.classList.toggle(`size-${s}`, prefs.size === s);
  const toggle = $('#captions-toggle');
  if (toggle) toggle.setAttribute('aria-pressed', String(prefs.on));
  for (const s of SIZES) {
    const btn = $(`#captions-size-${s}`);
    if (btn) btn.setAttribute('aria-pressed', String(prefs.size === s));
  }
  if (replayTrack && replayTrack.track) replayTrack.track.mode = prefs.on ? 'showing' : 'hidden';
}

function showLive(c) {
  const b = box();
  b.replaceChildren(el('span', { text: c.text, lang: c.lang && c.lang !== 'und' ? c.lang : null }));
  shownId = c.id;
  if (c.id && !shownAt[c.id]) shownAt[c.id] = Date.now();
  clearTimeout(hideTimer);
  hideTimer = setTimeout(() => { b.replaceChildren(); shownId = null; }, SHOW_MS);
}

function renderHistory() {
  const list = $('#captions-history-list');
  if (!list) return;
  const items = [...captions.values()];
  const atEnd = list.scrollTop + list.clientHeight >= list.scrollHeight - 8;
  list.replaceChildren(...(items.length ? items.map((c) => el('li', { dataset: { id: c.id } },
    el('time', { class: 'muted' }, clockText(c.at)), ' ',
    el('span', { text: c.text, lang: c.lang && c.lang !== 'und' ? c.lang : null })))
    : [el('li', { class: 'muted', text: t('captions.historyEmpty') })]));
  // Follows the newest unless the viewer scrolled back.
  if (atEnd) list.scrollTop = list.scrollHeight;
}

// A caption from the snapshot (live false: history only) or a `caption` event.
export function take(c, { live = true } = {}) {
  if (!c || typeof c.text !== 'string') return;
  const id = c.id || `x${captions.size}`;
  const old = captions.get(id);
  captions.set(id, { ...(old || {}), ...c, id });
  // A correction replaces the text on screen when it is the one shown.
  if (live && (!old || shownId === id)) showLive(captions.get(id));
  renderHistory();
}

// The replay's captions for the piece playing (null: none).
export function replay(url) {
  if (replayTrack) { replayTrack.remove(); replayTrack = null; }
  box().replaceChildren();
  if (!url || !video) return;
  replayTrack = el('track', { kind: 'captions', srclang: 'zh', label: t('captions.label'), src: url, default: '' });
  video.append(replayTrack);
  replayTrack.track.mode = prefs.on ? 'showing' : 'hidden';
}

// Re-renders the texts after a language change.
export function refresh() {
  const sizeLabel = $('#captions-size-label');
  if (sizeLabel) sizeLabel.textContent = t('captions.size');
  for (const s of SIZES) { const b = $(`#captions-size-${s}`); if (b) b.textContent = t(`captions.size.${s}`); }
  const toggle = $('#captions-toggle');
  if (toggle) toggle.textContent = t('captions.toggle');
  const hist = $('#captions-history-btn');
  if (hist) hist.textContent = t('captions.history');
  renderHistory();
}

export function init(videoElement) {
  video = videoElement;
  load();
  const toggle = el('button', { type: 'button', id: 'captions-toggle', class: 'caption-ctl', 'aria-pressed': 'true' }, t('captions.toggle'));
  toggle.addEventListener('click', () => { prefs.on = !prefs.on; save(); applyPrefs(); });
  const sizes = el('span', { class: 'row caption-sizes', role: 'group', 'aria-labelledby': 'captions-size-label' },
    el('span', { id: 'captions-size-label' }, t('captions.size')),
    ...SIZES.map((s) => {
      const b = el('button', { type: 'button', id: `captions-size-${s}`, class: 'caption-ctl', 'aria-pressed': 'false' }, t(`captions.size.${s}`));
      b.addEventListener('click', () => { prefs.size = s; save(); applyPrefs(); });
      return b;
    }));
  const histBtn = el('button', { type: 'button', id: 'captions-history-btn', class: 'caption-ctl', 'aria-expanded': 'false', 'aria-controls': 'captions-history' }, t('captions.history'));
  const panel = el('section', { id: 'captions-history', class: 'card captions-history', hidden: '', 'aria-labelledby': 'captions-history-btn' },
    el('ol', { id: 'captions-history-list', class: 'plain', tabindex: '0', 'aria-label': t('captions.history') }));
  histBtn.addEventListener('click', () => {
    panel.hidden = !panel.hidden;
    histBtn.setAttribute('aria-expanded', String(!panel.hidden));
    if (!panel.hidden) { renderHistory(); const l = $('#captions-history-list'); l.scrollTop = l.scrollHeight; }
  });
  const controls = $('#player-controls');
  controls.append(toggle, sizes, histBtn);
  controls.after(panel);
  // A native HLS player (Safari) may turn on the stream's subtitle rendition:
  // the channel's captions are shown already, so its tracks stay off.
  video.textTracks.addEventListener('addtrack', (e) => {
    if (!replayTrack || e.track !== replayTrack.track) e.track.mode = 'disabled';
  });
  applyPrefs();
  renderHistory();
}
