// The viewer's player controls on a phone: what the player is doing (loading,
// buffering, reconnecting, waiting for the room), the sign-language toggle
// and the fallback from low latency to HLS. The toggle is offered only while
// the stage names an interpreter (snapshot, stage.changed); when it is on, the
// player plays the interpreter variant: the HLS master's alternative picture,
// or WHEP ?variant=interpreter (docs/stage.md).

import * as i18n from '../i18n.js';
import { $, announce } from '../ui.js';
import { hlsUrl, interpreterPlaylist } from '../player.js';
import { roomId } from './state.js';

const t = i18n.t;
let player = null;
let video = null;
let replay = () => {};       // starts playback again with the page's choices
let interpreterOnStage = false;
let waitTimer = null;        // polls for the variant while it is being made
let buffering = false;

// deps: {player, video, startPlayback}
export function init(deps) {
  ({ player, video } = deps);
  replay = deps.startPlayback;
  // Buffering: the media element waits for data while the player still
  // plays; the picture is back when frames advance again.
  video.addEventListener('waiting', () => setBuffering(true));
  video.addEventListener('stalled', () => { if (video.readyState < 3) setBuffering(true); });
  for (const ev of ['playing', 'canplay', 'timeupdate']) {
    video.addEventListener(ev, () => { if (buffering && video.readyState >= 3) setBuffering(false); });
  }
  // The player moved to audio-only by itself (a network too weak for
  // video): one tap brings the picture back.
  $('#back-to-video').addEventListener('click', () => player.backToVideo());
  $('#interpreter').addEventListener('change', (e) => {
    announce(t(e.target.checked ? 'player.interpreterOn' : 'player.interpreterOff'), { toast: false });
  });
  // Landscape phones: the layout keys off this (CSS), the bar over the video.
  const landscape = matchMedia('(max-height: 500px) and (orientation: landscape)');
  const onTurn = () => document.body.classList.toggle('landscape', landscape.matches);
  landscape.addEventListener('change', onTurn);
  onTurn();
}

function setBuffering(on) {
  if (buffering === on) return;
  buffering = on && !!player && player.status === 'playing';
  renderStatus(player ? player.status : 'idle');
}

// Shown while the player plays sound only because the network is too weak for
// the lowest video rendition (read out politely: a status region).
// kind: 'audio' (HLS moved to sound only), 'low' (WHEP moved to 360p) or false.
export function renderWeakNetwork(kind) {
  $('#weak-network-text').textContent = kind === 'low' ? t('player.weakNetworkLow') : kind ? t('player.weakNetwork') : '';
  const back = $('#back-to-video');
  back.hidden = !kind;
  back.textContent = t(kind === 'low' ? 'player.backToFull' : 'player.backToVideo');
}

// The player's status, shown over the video (and read out politely).
export function renderStatus(s) {
  if (s !== 'playing') buffering = false;
  const shown = s === 'playing' && buffering ? 'buffering' : s;
  const key = {
    loading: 'player.loading', buffering: 'player.buffering',
    reconnecting: 'player.reconnecting', waiting: 'player.waiting',
  }[shown];
  $('#player-status').textContent = key ? t(key) : '';
  $('#stage').dataset.status = shown;
  $('#stage').classList.toggle('busy', shown === 'loading' || shown === 'buffering' || shown === 'reconnecting');
}

// The player gave up on what was asked: WHEP refused or never connected (HLS
// plays instead), or the interpreter variant is not there.
export function onFallback(e) {
  if (e && e.code === 'variant_unavailable') {
    // Still on the stage: the node is making the variant (the interpreter's
    // camera is not flowing yet). Keep the choice and look again.
    if (interpreterOnStage && $('#interpreter').checked) { waitForVariant(); return; }
    $('#interpreter').checked = false;
    announce(t('player.interpreterGone'));
    return;
  }
  $('#low-latency').checked = false;
  announce(t('player.fellBack'));
}

// The master playlist offers the interpreter variant once it exists; both the
// HLS rendition and the WHEP variant are made together.
function waitForVariant() {
  clearTimeout(waitTimer);
  waitTimer = setTimeout(async () => {
    if (!interpreterOnStage || !$('#interpreter').checked) return;
    try {
      const url = hlsUrl(roomId);
      const res = await fetch(url, { cache: 'no-store' });
      if (res.ok && interpreterPlaylist(await res.text(), url)) { replay(); return; }
    } catch { /* look again */ }
    waitForVariant();
  }, 1500);
}

// The snapshot's stage or stage.changed.
export function takeStage(stage) {
  interpreterOnStage = !!(stage && stage.interpreter);
  $('#interpreter-box').hidden = !interpreterOnStage;
  $('#interpreter').disabled = !interpreterOnStage;
  if (!interpreterOnStage) {
    clearTimeout(waitTimer);
    if ($('#interpreter').checked) {
      $('#interpreter').checked = false;
      announce(t('player.interpreterGone'));
      replay();
    }
  }
}
