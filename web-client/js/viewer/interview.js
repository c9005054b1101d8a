// The jobseeker's side of the interview call: "your turn" with Join and
// Decline, then the call full screen (mute, camera off, audio only, end).
// A reload during the call joins it again (call.js keeps its id for the tab).

import * as i18n from '../i18n.js';
import { $, announce, errorText } from '../ui.js';
import { InterviewCall, bindControls, decline, remember, remembered, statusText } from '../call.js';
import { state } from './state.js';
import * as render from './render.js';

const t = i18n.t;
let call = null;
let offered = null;  // call id offered and not yet answered

let roomWasMuted = null;

function show() {
  const inCall = !!(call && call.active);
  // The room's stream goes quiet during the call, and comes back after it.
  const room = $('#video');
  if (inCall && roomWasMuted === null) { roomWasMuted = room.muted; room.muted = true; }
  if (!inCall && roomWasMuted !== null) { room.muted = roomWasMuted; roomWasMuted = null; }
  $('#call').hidden = !inCall;
  document.body.classList.toggle('in-call', inCall);
  $('#call-offer').hidden = !offered || inCall;
  $('#call-status').textContent = call ? statusText(call, t) : '';
}

function result(text) {
  const p = $('#call-result');
  p.textContent = text;
  p.hidden = !text;
}

function ended(c) {
  offered = null;
  state.queue.offer = null;
  render.renderQueue();
  if (c && c.state === 'ended') {
    const text = t('call.ended', { outcome: t(`call.outcome.${c.outcome || 'completed'}`), n: c.duration_s || 0 });
    result(text);
    announce(text, { assertive: true });
  }
  show();
}

function newCall(live) {
  call = new InterviewCall(live, {
    local: $('#call-local'),
    remote: $('#call-remote'),
    onChange: (c) => { if (c && c.state === 'ended') ended(c); else show(); },
  });
  window.jobcastCall = call;  // for tests and diagnostics
  return call;
}

async function accept(live, id) {
  offered = null;
  result('');
  try {
    await newCall(live).join(id);
  } catch (e) {
    remember(null);
    result(e.code === 'call_ended' ? t('call.over') : t('call.error', { message: errorText(e) }));
  }
  show();
}

export function init(live) {
  $('#call-accept').addEventListener('click', () => { if (offered) accept(live, offered); });
  $('#call-decline').addEventListener('click', async () => {
    const id = offered;
    offered = null;
    try {
      await decline(live, id);
      ended({ state: 'ended', outcome: 'declined', duration_s: 0 });
    } catch (e) { result(errorText(e)); show(); }
  });
  // The buttons act on whichever call is current.
  const proxy = {
    get muted() { return call ? call.muted : false; },
    get cameraOff() { return call ? call.cameraOff : false; },
    get audioOnly() { return call ? call.audioOnly : false; },
    setMuted: (v) => call && call.setMuted(v),
    setCameraOff: (v) => call && call.setCameraOff(v),
    setAudioOnly: (v) => call && call.setAudioOnly(v),
    hangup: () => (call ? call.hangup() : null),
  };
  bindControls(proxy, $('#call'), t);
}

// After the first welcome: a call this tab had joined is joined again; an
// offer it had not answered is offered again.
let resumed = false;
export function onWelcome(live) {
  if (resumed || !state.token) return;
  resumed = true;
  const kept = remembered();
  if (!kept) return;
  if (kept.accepted) accept(live, kept.id);
  else {
    offered = kept.id;
    if ($('#panel-queue').hidden) $('#tab-queue').click();
    show();
  }
}

export function onEvent(live, kind, d) {
  switch (kind) {
    case 'interview.offer':
      offered = d.call_id;
      remember({ id: d.call_id, accepted: false });
      // Join and Decline are on the queue's tab: bring it forward, clear of the toast.
      if ($('#panel-queue').hidden) $('#tab-queue').click();
      show();
      $('#call-offer').scrollIntoView({ block: 'center' });
      break;
    case 'call.state':
      if (call) call.onState(d);
      else if (d.state === 'ended' && d.call_id === offered) ended(d);
      break;
    case 'call.signal':
      if (call) call.onSignal(d);
      break;
    default: break;
  }
}

export function refresh() { show(); }
