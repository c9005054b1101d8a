// The captioner's page (/caption/{room}): types captions into the room's live
// channel (caption.send), with quick phrases, and corrects the last caption or
// any caption sent (caption.send with replaces). Viewers get each caption as a
// room event; the node also puts them into the HLS subtitle rendition and the
// recording's WebVTT file (docs/pages.md).

import * as i18n from './i18n.js';
import * as api from './api.js';
import { LiveChannel } from './live.js';
import { $, el, announce, errorText, roomFromPath, clockText } from './ui.js';
import { staffToken } from './staff.js';

const t = i18n.t;
const roomId = roomFromPath();

const state = {
  token: '',
  room: null,
  link: 'connecting',
  captions: new Map(),  // id -> caption, in the order sent
  editing: null,        // the caption id being corrected, or null
};
let live = null;
window.jobcastCaptioner = state;

function renderHeader() {
  const r = state.room;
  $('#room-title').textContent = r ? r.title : roomId;
  const b = $('#room-status');
  b.textContent = r ? t(`room.status.${r.status}`) : '';
  b.className = `badge ${r && r.status === 'live' ? 'live' : ''}`;
  const l = $('#link-state');
  l.textContent = t(state.link === 'open' ? 'live.connected' : 'live.reconnecting');
  l.className = `badge ${state.link === 'open' ? 'live' : 'warn'}`;
  l.dataset.state = state.link;
}

function takeCaption(c) {
  if (!c || !c.id) return;
  state.captions.set(c.id, { ...(state.captions.get(c.id) || {}), ...c });
}

function renderSent() {
  const list = [...state.captions.values()].slice(-100).reverse();
  const lastId = list.length ? list[0].id : null;
  $('#sent').replaceChildren(...list.map((c) => {
    const label = t(c.id === lastId ? 'captioner.editLast' : 'captioner.edit');
    const edit = el('button', { type: 'button', class: 'edit', dataset: { id: c.id }, 'aria-label': `${label}: ${c.text}` }, label);
    edit.addEventListener('click', () => startEdit(c.id));
    return el('li', { class: `caption-item${state.editing === c.id ? ' editing' : ''}`, dataset: { id: c.id } },
      el('time', { class: 'muted' }, clockText(c.at)), ' ',
      el('span', { class: 'text', lang: c.lang && c.lang !== 'und' ? c.lang : null }, c.text),
      c.edited_at ? el('span', { class: 'muted' }, ` (${t('captioner.edited')})`) : '',
      ' ', edit);
  }));
}

function startEdit(id) {
  const c = state.captions.get(id);
  if (!c) return;
  state.editing = id;
  const box = $('#caption-text');
  box.value = c.text;
  $('#caption-cancel').hidden = false;
  $('#caption-send').textContent = t('captioner.saveEdit');
  $('#caption-editing').textContent = t('captioner.editing', { text: c.text });
  renderSent();
  box.focus();
  box.select();
}

function stopEdit() {
  state.editing = null;
  $('#caption-cancel').hidden = true;
  $('#caption-send').textContent = t('captioner.send');
  $('#caption-editing').textContent = '';
  renderSent();
}

async function send(text) {
  text = text.trim();
  if (!text || !live) return false;
  const err = $('#send-error');
  err.hidden = true;
  const replaces = state.editing;
  state.lastSubmitAt = Date.now();  // read by tests to measure the way to viewers
  try {
    const ack = await live.caption(text, { lang: i18n.lang() === 'mn' ? 'mn' : 'zh', replaces: replaces || undefined });
    // The event follows on the channel; the ack already names the caption.
    takeCaption({ id: ack.id, text, lang: 'zh', at: (state.captions.get(ack.id) || {}).at || Date.now(),
      ...(replaces ? { edited_at: Date.now() } : {}) });
    if (replaces) { stopEdit(); announce(t('captioner.corrected'), { toast: false }); } else renderSent();
    return true;
  } catch (e) {
    err.textContent = errorText(e);
    err.hidden = false;
    return false;
  }
}

$('#caption-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const box = $('#caption-text');
  const text = box.value;
  box.value = '';
  if (!(await send(text)) && !box.value) box.value = text;  // nothing typed is lost
  box.focus();
});
$('#caption-text').addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    $('#caption-form').requestSubmit();
  } else if (e.key === 'ArrowUp' && (e.ctrlKey || e.metaKey)) {
    const last = [...state.captions.keys()].pop();
    if (last) { e.preventDefault(); startEdit(last); }
  } else if (e.key === 'Escape' && state.editing) {
    e.preventDefault();
    $('#caption-text').value = '';
    stopEdit();
  }
});
$('#caption-cancel').addEventListener('click', () => { $('#caption-text').value = ''; stopEdit(); $('#caption-text').focus(); });
for (const b of document.querySelectorAll('button.phrase')) {
  b.addEventListener('click', async () => { await send(b.textContent); $('#caption-text').focus(); });
}

function renderPhrases() {
  for (const b of document.querySelectorAll('button.phrase')) b.textContent = t(b.dataset.phrase);
}

function takeRoom(data) {
  if (!data) return;
  const r = api.roomOf(data);
  state.room = { ...(state.room || {}), id: r.id, title: r.title, status: r.status };
}

async function start() {
  $('#lang-slot').replaceWith(i18n.languageMenu());
  i18n.apply();
  i18n.onChange(() => { renderHeader(); renderPhrases(); renderSent(); });
  renderHeader();
  renderPhrases();
  state.token = await staffToken('caption');
  try { takeRoom(await api.rooms.get(roomId, state.token)); } catch (e) {
    const p = $('#caption-error'); p.textContent = e.status === 404 ? t('room.notFound') : errorText(e); p.hidden = false;
  }
  renderHeader();
  live = new LiveChannel(roomId, {
    token: state.token,
    onState: (s) => { state.link = s; renderHeader(); },
    onWelcome: (w) => {
      takeRoom(w.snapshot);
      for (const c of w.snapshot.captions || []) takeCaption(c);
      renderHeader();
      renderSent();
    },
    onEvent: (kind, d) => {
      if (kind === 'caption') { takeCaption(d); renderSent(); }
      if (kind === 'room.status' && state.room) { state.room.status = d.status; renderHeader(); }
    },
  }).connect();
  window.jobcastLive = live;
}

start();
