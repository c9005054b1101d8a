// The viewer page (/room/{id}), phone first: plays the room, shows the pinned
// job with one-tap Apply, all jobs, Q&A, chat, the interview queue, captions,
// and replays with job chapters once the room has ended.
//
// viewer/state.js holds what the page knows, viewer/render.js draws it,
// viewer/actions.js does what the user asks; this file wires the player and
// the live channel to them and starts the page.

import * as i18n from './i18n.js';
import * as api from './api.js';
import { LiveChannel } from './live.js';
import { Player } from './player.js';
import { $, announce, errorText, tabs } from './ui.js';
import {
  state, roomId, params, setJobs, takeRoom, takeQuestion, takeApplications, takeQueue, takeSnapshot,
  saveApplied, loadApplied, isMe,
} from './viewer/state.js';
import * as render from './viewer/render.js';
import * as captions from './viewer/captions.js';
import * as actions from './viewer/actions.js';
import * as interview from './viewer/interview.js';
import * as controls from './viewer/controls.js';

const t = i18n.t;

const video = $('#video');
const player = new Player(video, {
  onStatus: render.renderPlayerStatus,
  onQualities: (list) => render.renderQualities(list, player.quality),
  onFallback: (e) => controls.onFallback(e),
  onWeakNetwork: (on) => controls.renderWeakNetwork(on),
});
window.jobcastPlayer = player;  // for tests and the page-weight bench

// One case per event kind of docs/websocket.md (signaling/schema/out/ws.event.*).
function onEvent(kind, d) {
  switch (kind) {
    case 'room.status':
      if (d.status !== state.room.status) { state.room.status = d.status; actions.onStatusChanged(); render.renderHeader(); }
      break;
    case 'room.updated':  // edited or rescheduled before it starts
      if (d.room) {
        for (const k of ['title', 'description', 'scheduled_at', 'ends_at', 'region_name']) if (k in d.room) state.room[k] = d.room[k];
        render.renderHeader();
      }
      break;
    case 'job.added': case 'job.approved': setJobs([api.jobOf(d.job)]); render.renderJobs(); break;
    case 'job.pinned': {
      const job = api.jobOf(d.job);
      setJobs([job]);
      state.pinnedId = String(job.id);
      render.renderPinned(); render.renderJobs();
      announce(`${t('job.pinned')}: ${job.title}`, { toast: false });
      break;
    }
    case 'application.count': state.appCounts.set(String(d.job_id), d.job_count); break;
    case 'application.status': state.applied.add(String(d.job_id)); saveApplied(); break;
    case 'question.asked':
      takeQuestion(d);
      render.renderQuestions();
      announce(t('qa.new', { text: d.text }), { toast: false });
      break;
    case 'question.voted': takeQuestion(d); render.renderQuestions(); break;
    case 'question.answered': takeQuestion(d); render.renderQuestions(); break;
    case 'chat.message': render.addChat(d); break;
    case 'chat.deleted': render.markChatDeleted(d.id); break;
    case 'chat.pinned': render.showPinnedMessage(d); break;
    case 'chat.unpinned': render.showPinnedMessage(null); break;
    case 'card.hidden': render.hideCard(); break;
    case 'user.kicked': break;  // our own connection closes with 4409 (onState)
    case 'user.muted':
      if (isMe(d.sub)) {
        // seconds 0: the mute is lifted.
        state.muted = d.seconds === 0 ? null : { until: d.until };
        render.renderChatNotice();
      }
      break;
    case 'user.banned': if (isMe(d.sub)) { state.banned = true; render.renderChatNotice(); } break;
    case 'slowmode.changed': state.slowmode = d.seconds; render.renderChatNotice(); break;
    case 'queue.changed': takeQueue({ length: d.length }); render.renderQueue(); break;
    case 'queue.position': state.queue.in = true; takeQueue(d); render.renderQueue(); break;
    case 'queue.left': state.queue.in = false; state.queue.position = null; render.renderQueue(); break;
    case 'interview.offer':
      state.queue.offer = d.call_id;
      state.queue.in = false;
      render.renderQueue();
      announce(t('queue.offer', { call: d.call_id }), { assertive: true });
      interview.onEvent(live, kind, d);
      break;
    case 'call.state':
    case 'call.signal':
      interview.onEvent(live, kind, d);
      break;
    case 'viewers.changed': state.viewers = d.count; render.renderHeader(); break;
    case 'stage.changed': actions.takeStage(d); break;
    case 'media.stage': actions.takeMediaStage(d); break;
    case 'card.shown': render.showCard(d); break;
    case 'caption': captions.take(d); break;
    // An error frame without a request comes before the server closes.
    case 'error':
      if (d.code === 'banned') { state.banned = true; render.renderChatNotice(); }
      else if (d.code === 'room_not_found') render.showError(t('room.notFound'));
      break;
    default: break;
  }
}

const live = new LiveChannel(roomId, {
  token: state.token || null,
  onState: (s) => {
    document.body.dataset.live = s;
    const conn = $('#conn');
    conn.hidden = s !== 'reconnecting' && s !== 'kicked';
    conn.textContent = { reconnecting: t('live.reconnecting'), kicked: t('live.kicked') }[s] || '';
  },
  onWelcome: (w) => {
    const snap = w.snapshot;
    if (takeSnapshot(snap)) actions.onStatusChanged();
    if (snap.card) render.showCard(snap.card);
    else render.hideCard();
    for (const m of snap.chat || []) render.addChat(m);
    for (const c of snap.captions || []) captions.take(c, { live: false });
    render.showPinnedMessage(snap.pinned_message);
    actions.takeStage(snap.stage);
    render.renderAll();
    interview.onWelcome(live);
  },
  onEvent,
  onMoved: () => player.move(),
});
window.jobcastViewerLive = live;

captions.init(video);
actions.init({ live, player, video });
controls.init({ player, video, startPlayback: actions.startPlayback });
interview.init(live);

async function start() {
  $('#lang-slot').replaceWith(i18n.languageMenu());
  i18n.apply();
  i18n.onChange(() => { captions.refresh(); interview.refresh(); render.renderAll(); render.renderQualities(player.qualities(), player.quality); render.renderPlayerStatus(player.status); controls.renderWeakNetwork(player.weakKind()); });
  const tabStrip = tabs($('#tabs'));
  // On a phone held upright, the chat button over the video opens chat as a
  // sheet over the lower part of the screen: the video stays in view above it.
  // (The tabs below the video stay where they are, for those who scroll.)
  // Sideways, it opens as a panel on the right (viewer/controls.js, CSS).
  const phone = matchMedia('(max-width: 600px) and (orientation: portrait), (max-height: 500px) and (orientation: landscape)');
  const openSheet = (panel) => {
    if (panel) tabStrip.select(panel);
    if (!phone.matches) { $('#room-panel').scrollIntoView({ block: 'start' }); return; }
    document.body.classList.add('sheet');
    window.scrollTo(0, 0);
  };
  $('#open-chat').addEventListener('click', () => { openSheet('panel-chat'); $('#chat-input').focus({ preventScroll: true }); });
  // Closing (the button or Escape) hands focus back to the chat button.
  const closeSheet = () => {
    if (!document.body.classList.contains('sheet')) return;
    document.body.classList.remove('sheet');
    $('#open-chat').focus({ preventScroll: true });
  };
  $('#sheet-close').addEventListener('click', closeSheet);
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && !e.defaultPrevented && !document.querySelector('dialog[open]')) closeSheet();
  });
  try { $('#low-latency').checked = params.get('ll') === '1' || localStorage.getItem('jobcast.lowLatency') === '1'; } catch { /* ignore */ }
  if (!state.token && params.get('demo') != null) await actions.demoSignIn().catch(() => {});
  loadApplied();
  render.renderAll();
  if (!roomId) { render.showError(t('room.notFound')); return; }
  try {
    if (takeRoom(await api.rooms.get(roomId, state.token))) actions.onStatusChanged();
    render.renderAll();
  } catch (e) {
    if (e.status === 404) { render.showError(t('room.notFound')); return; }
    render.showError(errorText(e));
  }
  live.connect();
  if (state.token) {
    api.applications.mine(state.token).then((list) => { takeApplications(list); render.renderPinned(); render.renderJobs(); }).catch(() => {});
  }
}

start();
