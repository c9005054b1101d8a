// The employer's studio (/studio/{room}): camera preview, Go live by WHIP,
// job cards (add, pin), applications arriving live with status changes, the
// interview queue, and the WHIP URL + token for OBS.

import * as i18n from './i18n.js';
import * as api from './api.js';
import { LiveChannel } from './live.js';
import { WhipPublisher, whipUrl } from './whip.js';
import { $, el, announce, errorText, jobFacts, roomFromPath, timeText, confirmDialog } from './ui.js';
import { staffToken, Devices, copyButtons } from './staff.js';
import { InterviewCall, bindControls, remembered, statusText } from './call.js';

const t = i18n.t;
const roomId = roomFromPath();
const STATUSES = ['applied', 'viewed', 'contacted', 'interview', 'hired', 'rejected'];

const state = {
  token: '',
  room: null,
  jobs: new Map(),
  pinnedId: null,
  apps: new Map(),     // id -> application
  viewers: null,
  queueLength: null,
  onAir: false,
};
let live = null;
let publisher = null;
const devices = new Devices($('#preview'), $('#camera'), $('#mic'));
window.jobcastStudio = state;

// An APPLICATION (docs/api.md). `profile` is there only in the room's list
// (GET /rooms/{id}/applications), never in the application.created event.
function appOf(a) {
  const p = a.profile || {};
  return {
    id: String(a.id),
    job: a.job_id,
    applicant: a.applicant,
    name: p.name || '',
    phone: p.phone || '',
    cv: p.cv || '',
    keyGroup: p.key_group,
    status: a.status,
    at: a.applied_at,
    jobTitle: a.job_title,
  };
}

function renderHeader() {
  $('#room-title').textContent = state.room ? state.room.title : roomId;
  const badge = $('#on-air');
  // On air: this page publishes, or the node says a publisher (OBS, another tab) is on stage.
  const onAir = state.onAir || state.stage === 'live';
  badge.textContent = onAir ? t('studio.live') : (state.room && state.room.status === 'ended' ? t('room.status.ended') : t('studio.offAir'));
  badge.className = `badge ${onAir ? 'live' : ''}`;
  $('#viewers').textContent = state.viewers != null ? t('room.viewers', { n: state.viewers }) : '';
  $('#queue-length').textContent = state.queueLength ? t('queue.length', { n: state.queueLength }) : t('studio.queueEmpty');
  // End is there whenever the room is live: it may be published from OBS.
  $('#end').disabled = !((state.room && state.room.status === 'live') || publisher);
  $('#whip-url').textContent = whipUrl(roomId);
  $('#whip-token').textContent = state.token;
}

function renderJobs() {
  const list = [...state.jobs.values()];
  $('#jobs').replaceChildren(...(list.length ? list.map((j) => {
    const pinned = String(j.id) === String(state.pinnedId);
    return el('li', { dataset: { job: j.id }, class: pinned ? 'pinned-row' : '' },
      el('div', { class: 'row' }, el('strong', { class: 'grow', text: j.title }),
        j.review === 'pending' ? el('span', { class: 'badge warn review', text: t('review.pending') })
          : pinned ? el('span', { class: 'badge live', text: t('studio.pinned') })
            : el('button', { type: 'button', class: 'small pin', dataset: { job: j.id }, onclick: () => pin(j.id) }, t('studio.pin'))),
      j.review === 'approved' ? el('p', { class: 'muted reviewed', text: t('review.approvedBy', { name: j.reviewedBy }) }) : null,
      jobFacts(j));
  }) : [el('li', { class: 'muted', text: t('job.none') })]));
}

function appItem(a) {
  const job = state.jobs.get(String(a.job));
  const select = el('select', { 'aria-label': `${a.name} ${t('studio.applications')}`, class: 'status', dataset: { app: a.id } },
    ...STATUSES.map((s) => el('option', { value: s }, t(`status.${s}`))));
  select.value = a.status;
  select.addEventListener('change', async () => {
    const prev = a.status;
    try {
      await api.applications.setStatus(a.id, select.value, state.token);
      a.status = select.value;
    } catch (e) {
      select.value = prev;
      announce(errorText(e), { assertive: true });
    }
  });
  return el('li', { dataset: { app: a.id } },
    el('div', { class: 'row' }, el('strong', { class: 'grow app-name', text: a.name }), el('span', { class: 'muted', text: timeText(a.at) })),
    el('div', {}, el('a', { href: `tel:${a.phone}`, class: 'app-phone' }, a.phone), (job || a.jobTitle) ? el('span', { class: 'muted', text: ` · ${job ? job.title : a.jobTitle}` }) : null),
    a.cv ? el('p', { class: 'muted', text: a.cv }) : null,
    a.keyGroup ? el('span', { class: 'badge', text: t(`kg.${a.keyGroup}`) }) : null,
    el('label', { class: 'row' }, select));
}

// ---- the interview call, beside the applicant's applications and profile

let call = null;

function renderCall() {
  const active = !!(call && call.active);
  $('#call').hidden = !active;
  // The interview is private: while it is on, the broadcast's microphone is
  // off (the call has its own copy of the track).
  if (devices.stream) for (const track of devices.stream.getAudioTracks()) track.enabled = !active;
  $('#call-status').textContent = call ? statusText(call, t) : '';
  const sub = call && call.call && call.call.peer.sub;
  const mine = sub ? [...state.apps.values()].filter((a) => a.applicant === sub) : [];
  $('#call-applicant').replaceChildren(...(mine.length ? mine.map(appItem)
    : [el('li', { class: 'muted', text: sub ? t('call.noApplication', { name: call.call.peer.name }) : '' })]));
}

function callEnded(c) {
  const text = t('call.ended', { outcome: t(`call.outcome.${c.outcome || 'completed'}`), n: c.duration_s || 0 });
  const p = $('#call-result');
  p.textContent = text;
  p.hidden = false;
  announce(text, { assertive: true });
}

// The employer joins the call it took (or, after a reload, the one it was in).
let joiningId = null;  // the take-next ack and the offer event both name the call: join once
async function joinCall(id) {
  if (call && call.active && (!id || call.id === id)) return;
  if (joiningId !== null && joiningId === id) return;
  joiningId = id;
  if (call && call.active) await call.hangup();
  $('#call-result').hidden = true;
  call = new InterviewCall(live, {
    local: $('#call-local'),
    remote: $('#call-remote'),
    stream: devices.stream,
    onChange: (c) => { renderCall(); if (c && c.state === 'ended') callEnded(c); },
  });
  window.jobcastCall = call;  // for tests and diagnostics
  try {
    await call.join(id);
    $('#call').hidden = false;
    $('#call').scrollIntoView({ block: 'start' });
  } catch (e) {
    if (id) announce(t('call.error', { message: errorText(e) }), { assertive: true });
  }
  joiningId = null;
  renderCall();
}

bindControls({
  get muted() { return call ? call.muted : false; },
  get cameraOff() { return call ? call.cameraOff : false; },
  get audioOnly() { return call ? call.audioOnly : false; },
  setMuted: (v) => call && call.setMuted(v),
  setCameraOff: (v) => call && call.setCameraOff(v),
  setAudioOnly: (v) => call && call.setAudioOnly(v),
  hangup: () => (call ? call.hangup() : null),
}, $('#call'), t);

function renderApps() {
  const list = [...state.apps.values()].sort((x, y) => (Number(y.at) || 0) - (Number(x.at) || 0));
  $('#applications').replaceChildren(...(list.length ? list.map(appItem) : [el('li', { class: 'muted', text: t('studio.noApplications') })]));
  $('#app-count').textContent = list.length ? String(list.length) : '';
  if (call && call.active) renderCall();
}

function takeRoom(data) {
  const r = api.roomOf(data);
  state.room = { ...(state.room || {}), ...r };
  for (const j of r.jobs) state.jobs.set(String(j.id), j);
  if (r.pinnedJob) state.jobs.set(String(r.pinnedJob.id), r.pinnedJob);
  if (r.pinnedId != null) state.pinnedId = String(r.pinnedId);
}

function onEvent(kind, d) {
  switch (kind) {
    case 'viewers.changed': state.viewers = d.count; renderHeader(); break;
    case 'application.created': {
      // The event carries the application but no personal data: it is shown at
      // once, and its profile comes with a read of just the new applications.
      const a = appOf(d.application);
      if (!state.apps.has(a.id)) { state.apps.set(a.id, a); renderApps(); }
      readNewApplications();
      break;
    }
    case 'application.status': {
      const old = state.apps.get(String(d.id));
      if (old) { old.status = d.status; renderApps(); }
      break;
    }
    case 'job.added': case 'job.approved': { const j = api.jobOf(d.job); state.jobs.set(String(j.id), j); renderJobs(); break; }
    case 'job.pinned': {
      const j = api.jobOf(d.job);
      state.jobs.set(String(j.id), j);
      state.pinnedId = String(j.id);
      renderJobs();
      break;
    }
    case 'queue.changed': state.queueLength = d.length; renderHeader(); break;
    case 'room.status': state.room.status = d.status; if (d.status === 'ended') state.onAir = false; renderHeader(); break;
    case 'queue.list': state.queueLength = d.length; renderHeader(); break;
    case 'media.stage': state.stage = d.state; renderHeader(); break;
    case 'interview.offer':
      $('#offer').textContent = t('studio.offer', { call: `${d.call_id} · ${d.jobseeker.name}` });
      joinCall(d.call_id);
      break;
    case 'call.state': if (call) call.onState(d); break;
    case 'call.signal': if (call) call.onSignal(d); break;
    default: break;
  }
}

async function pin(jobId) {
  try {
    await api.jobs.pin(roomId, jobId, state.token);
    state.pinnedId = String(jobId);
    renderJobs();
  } catch (e) { announce(errorText(e), { assertive: true }); }
}

async function goLive() {
  const btn = $('#go-live');
  btn.disabled = true;
  $('#publish-status').textContent = t('studio.publishing');
  try {
    if (!devices.stream) await devices.open();
    if (state.room && state.room.status === 'scheduled') {
      try { takeRoom(await api.rooms.start(roomId, state.token)); } catch (e) { if (e.status !== 409) throw e; }
      state.room.status = 'live';
    }
    publisher = new WhipPublisher(roomId, state.token);
    publisher.onState = (s) => {
      if (s === 'connected') { state.onAir = true; $('#publish-status').textContent = ''; }
      else if (s === 'failed' || s === 'disconnected') {
        state.onAir = false;
        $('#publish-status').textContent = t('player.reconnecting');
        if (s === 'failed') setTimeout(() => { if (publisher) publisher.start(devices.stream).catch(() => {}); }, 2000);
      }
      renderHeader();
    };
    await publisher.start(devices.stream);
    $('#end').disabled = false;
  } catch (e) {
    publisher = null;
    btn.disabled = false;
    $('#publish-status').textContent = errorText(e);
  }
  renderHeader();
}

async function end() {
  if (!(await confirmDialog(t('studio.endConfirm'), t('studio.endYes')))) return;
  $('#end').disabled = true;
  if (publisher) { const p = publisher; publisher = null; await p.stop(); }
  state.onAir = false;
  try { takeRoom(await api.rooms.end(roomId, state.token)); } catch (e) { if (e.status !== 409) announce(errorText(e), { assertive: true }); }
  state.room.status = 'ended';
  $('#publish-status').textContent = t('studio.ended');
  renderHeader();
}

$('#job-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const f = new FormData(e.target);
  const job = {};
  for (const [k, v] of f.entries()) {
    if (v === '') continue;
    job[k] = ['wage_min', 'wage_max', 'headcount'].includes(k) ? Number(v) : v;
  }
  $('#job-error').textContent = '';
  try {
    const res = await api.jobs.add(roomId, job, state.token);
    const created = api.jobOf(res);
    state.jobs.set(String(created.id), created);
    e.target.reset();
    renderJobs();
  } catch (x) {
    $('#job-error').textContent = errorText(x);
  }
});

$('#go-live').addEventListener('click', goLive);
$('#end').addEventListener('click', end);
$('#take-next').addEventListener('click', async () => {
  try {
    const ack = await live.nextInQueue();
    $('#offer').textContent = t('studio.offer', { call: `${ack.call_id} · ${ack.jobseeker.name}` });
    joinCall(ack.call_id);
  } catch (e) { $('#offer').textContent = e.code === 'queue_empty' ? t('studio.queueEmpty') : errorText(e); }
});
devices.onChange = (track) => publisher && publisher.replaceTrack(track);

// The employer's back office: every applicant across its rooms
// (GET /employers/{id}/applicants), read on demand: each profile read is
// audited, so the page does not read them all unasked.
async function loadAllApplicants() {
  const me = api.claims(state.token) || {};
  const box = $('#all-applicants');
  try {
    const { rooms, items } = await api.employers.applicants(me.employer || me.sub, state.token);
    const titles = new Map(rooms.map((r) => [r.id, r.title]));
    box.replaceChildren(...(items.length ? items.map((a) => el('li', { dataset: { app: a.id } },
      el('div', { class: 'row' },
        el('strong', { class: 'grow', text: a.profile ? a.profile.name : t('studio.profileDeleted') }),
        el('span', { class: 'badge', dataset: { status: a.status }, text: t(`status.${a.status}`) })),
      el('div', { class: 'muted', text: `${a.job_title} · ${titles.get(a.room_id) || a.room_id}` }),
      a.profile && a.profile.key_group ? el('span', { class: 'badge', text: t(`kg.${a.profile.key_group}`) }) : null))
      : [el('li', { class: 'muted', text: t('me.noApplications') })]));
  } catch (e) {
    announce(errorText(e), { assertive: true });
  }
}

async function start() {
  $('#load-all-apps').addEventListener('click', loadAllApplicants);
  $('#lang-slot').replaceWith(i18n.languageMenu());
  i18n.apply();
  i18n.onChange(() => { renderHeader(); renderJobs(); renderApps(); renderCall(); });
  copyButtons();
  renderHeader();
  state.token = await staffToken('studio');
  renderHeader();
  try { takeRoom(await api.rooms.get(roomId, state.token)); } catch (e) {
    const p = $('#studio-error'); p.textContent = e.status === 404 ? t('room.notFound') : errorText(e); p.hidden = false;
  }
  renderHeader(); renderJobs(); renderApps();
  live = new LiveChannel(roomId, {
    token: state.token,
    onWelcome: (w) => {
      const snap = w.snapshot;
      takeRoom(snap);
      state.viewers = snap.viewers;
      state.queueLength = snap.queue.length;
      renderHeader(); renderJobs();
      // After a reload: back into the call this tab was in.
      const kept = remembered();
      if (kept && !call) joinCall(kept.id);
    },
    onEvent,
    onMoved: () => movePublisher(),
  }).connect();
  window.jobcastLive = live;
  readNewApplications();
  devices.open().catch((e) => { $('#publish-status').textContent = errorText(e); });
}

// This node is shutting down (the live channel closed with 1012): publish
// again, through the load balancer to the node that takes the room. The
// draining node answers 503 (Retry-After) until another node is known.
async function movePublisher(tries = 8) {
  if (!publisher || !devices.stream) return;
  try {
    await publisher.start(devices.stream);
  } catch {
    if (tries > 1) setTimeout(() => movePublisher(tries - 1), 2000);
  }
}

// The room lists applications oldest first and only appends, so the page reads
// from where it stopped: each new application costs one read of the new ones
// only (each profile read is decrypted and written to the audit stream), never
// a re-list of all. One read at a time; events during a read ask for one more.
let appsRead = 0;
let reading = null;
let readAgain = false;
function readNewApplications() {
  if (reading) { readAgain = true; return reading; }
  reading = (async () => {
    do {
      readAgain = false;
      await readApplications();
    } while (readAgain);
  })().finally(() => { reading = null; });
  return reading;
}

async function readApplications() {
  const limit = 200;
  try {
    for (let page = 0; page < 50; page++) {
      const { items } = await api.applications.forRoom(roomId, state.token, { offset: appsRead, limit });
      for (const a of items.map(appOf)) state.apps.set(a.id, a);
      appsRead += items.length;
      if (items.length < limit) break;
    }
    renderApps();
  } catch (e) {
    if (e.status !== 404) announce(errorText(e), { assertive: true, toast: false });
  }
}

start();
