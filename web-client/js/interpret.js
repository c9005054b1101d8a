// The sign-language interpreter's page (/interpret/{room}): watches the
// programme, and puts the interpreter on the stage's interpreter slot
// (PUT /api/v1/rooms/{room}/stage/{own sub}, operation `interpret`, docs/access.md)
// with their camera published by WHIP. The node mixes that picture into the
// interpreter variant (HLS rendition and WHEP ?variant=interpreter,
// docs/stage.md); viewers switch to it with their sign-language toggle.

import * as i18n from './i18n.js';
import * as api from './api.js';
import { LiveChannel } from './live.js';
import { Player } from './player.js';
import { $, announce, errorText, roomFromPath, confirmDialog } from './ui.js';
import { staffToken, Devices } from './staff.js';
import { StageSeat } from './stage_seat.js';

const t = i18n.t;
const roomId = roomFromPath();

const state = {
  token: '',
  room: null,
  stage: null,         // the room's stage as last heard (snapshot, stage.changed)
  // This interpreter on the stage: 'off' | 'joining' | 'on' | 'leaving'.
  mine: 'off',
  previewing: false,
  link: null,          // the WHIP peer connection's state while on
};
const player = new Player($('#video'), {
  onStatus: (s) => { $('#player-status').textContent = { reconnecting: t('player.reconnecting'), waiting: t('player.waiting') }[s] || ''; },
});
window.jobcastPlayer = player;
window.jobcastInterpret = state;
const devices = new Devices($('#self'), $('#camera'), $('#mic'));

function me() { return api.claims(state.token) || {}; }

function other() {
  const i = state.stage && state.stage.interpreter;
  return i && i.sub !== me().sub ? i : null;
}

function render() {
  const r = state.room;
  $('#room-title').textContent = r ? r.title : roomId;
  const b = $('#room-status');
  b.textContent = r ? t(`room.status.${r.status}`) : '';
  b.className = `badge ${r && r.status === 'live' ? 'live' : ''}`;
  const s = state.mine;
  const live = !!(r && r.status === 'live');
  $('#interpret-join').hidden = s === 'on' || s === 'leaving';
  $('#interpret-join').disabled = s !== 'off' || !live;
  $('#interpret-leave').hidden = !(s === 'on' || s === 'leaving');
  $('#interpret-leave').disabled = s === 'leaving';
  $('#camera-preview').hidden = s !== 'off';
  $('#camera-preview').setAttribute('aria-pressed', String(state.previewing));
  $('#stage-name').disabled = s !== 'off';
  const camera = s !== 'off' || state.previewing;
  $('#self-box').hidden = !camera;
  $('#devices').hidden = !camera;
  let text = '';
  if (s === 'on' && state.link === 'failed') text = t('player.reconnecting');
  else if (s === 'joining') text = t('console.joining');
  else if (s === 'on') text = t('interpret.on');
  else if (s === 'leaving') text = t('console.leaving');
  else if (!live && r) text = t('console.stageNotLive');
  else if (other()) text = t('interpret.taken', { name: other().name || other().sub });
  $('#interpret-status').textContent = text;
}

// The seat's state is mirrored into `state` for rendering (and tests).
const seat = new StageSeat({
  roomId, slot: 'interpreter', devices, token: () => state.token,
  onChange: () => {
    Object.assign(state, { mine: seat.state, previewing: seat.previewing, link: seat.link });
    render();
  },
});

async function join() {
  if (state.mine !== 'off') return;
  // Another interpreter on the slot is replaced: ask first.
  const current = other();
  if (current && !await confirmDialog(t('interpret.takeOver', { name: current.name || current.sub }), t('interpret.join'))) return;
  if (await seat.join($('#stage-name').value.trim() || me().name || me().sub)) announce(t('interpret.on'));
}

function leave(options) {
  return seat.leave(options);
}

function takeStage(stage) {
  state.stage = stage || null;
  const sub = me().sub;
  const on = !!(stage && stage.interpreter && stage.interpreter.sub === sub);
  if (!on && state.mine === 'on') {
    leave({ removed: true });
    announce(t('console.removedFromStage'), { assertive: true });
  }
  render();
}

function takeRoom(data) {
  const r = api.roomOf(data);
  const prev = state.room && state.room.status;
  state.room = { ...(state.room || {}), ...r };
  if (prev !== state.room.status) watch();
}

function watch() {
  if (state.room && state.room.status === 'ended') leave({ removed: true });
  if (!state.room || state.room.status !== 'live') { player.stop(); return; }
  player.playHls(roomId);
}

$('#camera-preview').addEventListener('click', () => seat.preview());
$('#interpret-join').addEventListener('click', join);
$('#interpret-leave').addEventListener('click', () => leave());

async function start() {
  $('#lang-slot').replaceWith(i18n.languageMenu());
  i18n.apply();
  i18n.onChange(render);
  render();
  state.token = await staffToken('interpret');
  if (!$('#stage-name').value) $('#stage-name').value = me().name || '';
  try { takeRoom(await api.rooms.get(roomId, state.token)); } catch (e) {
    const p = $('#interpret-error'); p.textContent = e.status === 404 ? t('room.notFound') : errorText(e); p.hidden = false;
  }
  render();
  const live = new LiveChannel(roomId, {
    token: state.token,
    onWelcome: (w) => { takeRoom(w.snapshot); takeStage(w.snapshot.stage); },
    onEvent: (kind, d) => {
      if (kind === 'room.status' && d.status && state.room && d.status !== state.room.status) { state.room.status = d.status; watch(); }
      else if (kind === 'stage.changed') takeStage(d);
      render();
    },
  }).connect();
  window.jobcastLive = live;
}

start();
