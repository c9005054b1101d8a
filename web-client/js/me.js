// The jobseeker's own page (/me.html): every application with its live
// status, recommended jobs, followed rooms with their calendar files, and
// their data (withdraw consents, delete the profile). Phone first.
//
// Status changes are pushed: the page joins the live channel of each room it
// has an open application in (the channel sends the applicant their own
// application.status events) and, for rooms that ended, reads
// GET /me/applications again every 30 s.

import * as i18n from './i18n.js';
import * as api from './api.js';
import { LiveChannel } from './live.js';
import { $, el, announce, confirmDialog, errorText, timeText } from './ui.js';
import * as reminders from './reminders.js';
import { recommendationItem } from './recommend.js';

const t = i18n.t;
const SCOPE = 'viewer';  // the same jobseeker as on the room pages
const MAX_CHANNELS = 5;
const STEPS = ['applied', 'viewed', 'contacted', 'interview', 'hired'];

let token = api.takeTokenFromUrl(SCOPE);
let apps = [];
let recs = [];
let follows = [];
let profile = null;
const channels = new Map();  // room id -> LiveChannel

function statusBadge(status) {
  const cls = status === 'hired' ? 'ok' : status === 'rejected' ? 'warn' : '';
  return el('span', { class: `badge ${cls}`, dataset: { status }, text: t(`status.${status}`) });
}

function renderApps() {
  const box = $('#apps');
  if (!apps.length) {
    box.replaceChildren(el('li', { class: 'muted', text: t('me.noApplications') }));
    return;
  }
  box.replaceChildren(...apps.map((a) => {
    const reached = STEPS.indexOf(a.status);
    const steps = el('ol', { class: 'steps', 'aria-label': t('me.progress') },
      ...STEPS.map((s, i) => el('li', { class: i <= reached ? 'done' : '', text: t(`status.${s}`) })));
    return el('li', { class: 'application', dataset: { app: a.id } },
      el('div', { class: 'row' },
        el('span', { class: 'grow' }, el('strong', { text: a.job_title })),
        statusBadge(a.status)),
      el('div', { class: 'muted', text: t('me.appliedAt', { time: timeText(a.applied_at) }) }),
      a.status === 'rejected' ? null : steps,
      el('a', { href: `/room/${encodeURIComponent(a.room_id)}`, text: t('me.openRoom') }));
  }));
}

async function applyTo(rec, button) {
  button.disabled = true;
  button.textContent = t('job.applying');
  try {
    await api.jobs.apply(rec.room.id, rec.job.id, token);
    announce(`${t('job.applied')}: ${rec.job.title}`);
    await loadApps();
    button.textContent = t('job.applied');
    button.classList.add('applied');
  } catch (e) {
    button.disabled = false;
    button.textContent = t('job.apply');
    announce(errorText(e), { assertive: true });
  }
}

const isApplied = (rec) => apps.some((a) => a.room_id === rec.room.id && a.job_id === rec.job.id);

function renderRecs() {
  const box = $('#recs');
  if (!profile) {
    box.replaceChildren(el('li', { class: 'muted', text: t('me.recsNeedProfile') }));
    return;
  }
  box.replaceChildren(...(recs.length ? recs.map((r) => recommendationItem(r, { applied: isApplied(r), onApply: applyTo }))
    : [el('li', { class: 'muted', text: t('me.noRecs') })]));
}

function renderFollows() {
  const box = $('#follows');
  if (!follows.length) {
    box.replaceChildren(el('li', { class: 'muted', text: t('me.noFollows') }));
    return;
  }
  box.replaceChildren(...follows.map((r) => {
    const stop = el('button', { type: 'button', text: t('follow.stop') });
    stop.addEventListener('click', async () => {
      try {
        await api.follows.unfollow(r.id, token);
        follows = follows.filter((f) => f.id !== r.id);
        renderFollows();
        announce(t('follow.stopped', { title: r.title }));
      } catch (e) { announce(errorText(e), { assertive: true }); }
    });
    return el('li', { dataset: { room: r.id } },
      el('div', { class: 'row' },
        el('a', { class: 'grow', href: `/room/${encodeURIComponent(r.id)}`, text: r.title }),
        el('span', { class: `badge ${r.status === 'live' ? 'live' : ''}`, text: t(`room.status.${r.status}`) })),
      r.status === 'scheduled' ? el('div', { class: 'muted', text: t('room.starts', { time: timeText(r.scheduled_at) }) }) : null,
      r.status === 'cancelled' ? el('div', { class: 'muted', text: t('room.cancelledBecause', { reason: r.cancel_reason || '' }) }) : null,
      el('div', { class: 'row' },
        el('a', { href: r.calendar_url, download: `jobcast-${r.id}.ics`, text: t('follow.calendar') }),
        stop));
  }));
}

function renderData() {
  const state = $('#data-state');
  if (!profile) {
    state.textContent = t('me.noProfile');
  } else {
    const group = profile.key_group ? t(`kg.${profile.key_group}`) : t('me.noGroup');
    state.textContent = t('me.groupState', { group }) +
      (profile.key_group_shared_with_employers ? ` ${t('me.shared')}` : '');
  }
  $('#withdraw-share').hidden = !(profile && profile.key_group_shared_with_employers);
  $('#withdraw-group').hidden = !(profile && profile.key_group_consent);
  $('#delete-profile').hidden = !profile;
}

function renderAll() {
  renderApps();
  renderRecs();
  renderFollows();
  renderData();
}

// A status change pushed on a room's live channel, or found by a poll.
function statusChanged(id, status) {
  const a = apps.find((x) => x.id === id);
  if (!a || a.status === status) return;
  a.status = status;
  renderApps();
  announce(t('me.statusNow', { job: a.job_title, status: t(`status.${status}`) }));
}

function joinRooms() {
  const open = [...new Set(apps.map((a) => a.room_id))].slice(0, MAX_CHANNELS);
  for (const room of open) {
    if (channels.has(room)) continue;
    const ch = new LiveChannel(room, {
      token,
      // A change made before the channel joined is read once joined.
      onWelcome: () => { refreshStatuses(); },
      onEvent: (kind, d) => {
        if (kind === 'application.status' && d) statusChanged(d.id, d.status);
      },
    });
    channels.set(room, ch.connect());
  }
}

async function refreshStatuses() {
  try {
    const fresh = await api.applications.mine(token);
    for (const a of fresh) statusChanged(a.id, a.status);
    if (fresh.length !== apps.length) { apps = fresh; renderApps(); joinRooms(); }
  } catch { /* the next poll tries again */ }
}

async function loadApps() {
  apps = await api.applications.mine(token);
  renderApps();
  joinRooms();
}

async function loadProfile() {
  try { profile = await api.profile.get(token); } catch (e) {
    if (e.status === 404) profile = null; else throw e;
  }
}

async function loadRecs() {
  if (!profile) { recs = []; return; }
  try { recs = await api.recommendations.mine(token, 5); } catch { recs = []; }
}

async function load() {
  const err = $('#load-error');
  try {
    await loadProfile();
    await Promise.all([loadApps(), loadRecs()]);
    err.hidden = true;
  } catch (e) {
    err.textContent = errorText(e);
    err.hidden = false;
  }
  renderAll();
}

async function saveProfile(change) {
  try {
    const p = { ...profile, ...change };
    delete p.updated_at;
    profile = await api.profile.put(p, token);
    renderData();
    announce(t('me.saved'));
  } catch (e) { announce(errorText(e), { assertive: true }); }
}

function bind() {
  $('#withdraw-share').addEventListener('click', () => saveProfile({ key_group_shared_with_employers: false }));
  $('#withdraw-group').addEventListener('click', () => saveProfile({
    key_group_consent: false, key_group: null, key_group_shared_with_employers: false }));
  $('#delete-profile').addEventListener('click', async () => {
    if (!(await confirmDialog(t('me.deleteConfirm'), t('me.delete')))) return;
    try {
      await api.profile.remove(token);
      profile = null;
      recs = [];
      renderAll();
      announce(t('me.deleted'));
    } catch (e) { announce(errorText(e), { assertive: true }); }
  });
  $('#signin-button').addEventListener('click', async () => {
    try {
      const r = await api.demo.token('jobseeker');
      token = r.token;
      api.setToken(SCOPE, token);
      start();
    } catch (e) { announce(errorText(e), { assertive: true }); }
  });
}

function start() {
  $('#signin').hidden = Boolean(token);
  if (!token) { renderAll(); return; }
  load();
  reminders.watch(() => token, (rooms) => { follows = rooms; renderFollows(); });
  setInterval(() => { if (!document.hidden) refreshStatuses(); }, 30000);
}

$('#lang-slot').replaceWith(i18n.languageMenu());
i18n.apply();
i18n.onChange(renderAll);
bind();
start();
