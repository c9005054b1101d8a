// The back office (/admin): signing in by a one-time link or code (staff and
// employers alike) and, signed out, an employer's own registration; then for
// admins the accounts (create, issue a sign-in link, revoke, disable),
// employers' verification, the quarterly report's downloads and the
// webhooks' dead letters; employers and counsellors see their rooms with
// links to the studio or the console. The schedule table lists rooms by
// region, date and status; admins and a room's employer edit, reschedule or
// cancel a scheduled room there and assign its staff.

import * as i18n from './i18n.js';
import * as api from './api.js';
import { $, el, announce, errorText, confirmDialog } from './ui.js';

const t = i18n.t;
const SCOPE = 'admin';
const state = { token: '', me: null, accounts: [], rooms: [], editing: null };

// Keys of the names the server sends, spelled out so every one is in the string table.
const KEYS = {
  role: { admin: 'admin.role.admin', employer: 'admin.role.employer', counsellor: 'admin.role.counsellor', captioner: 'admin.role.captioner', jobseeker: 'admin.role.jobseeker' },
  kind: { admin: 'admin.kind.admin', employer: 'admin.kind.employer', counsellor: 'admin.kind.counsellor', captioner: 'admin.kind.captioner', interpreter: 'admin.kind.interpreter' },
  status: { active: 'admin.status.active', disabled: 'admin.status.disabled' },
  room: { scheduled: 'room.status.scheduled', live: 'room.status.live', ended: 'room.status.ended', cancelled: 'room.status.cancelled' },
  employer: { pending: 'admin.employerStatus.pending', verified: 'admin.employerStatus.verified', rejected: 'admin.employerStatus.rejected', suspended: 'admin.employerStatus.suspended' },
  action: { revoke: 'admin.revoke', disable: 'admin.disable', enable: 'admin.enable' },
  confirm: { revoke: 'admin.confirm.revoke', disable: 'admin.confirm.disable' },
};
const name = (table, value) => (KEYS[table][value] ? t(KEYS[table][value]) : value);

const call = (method, path, body) => api.request(method, path, { body, token: state.token });

// A code in the fragment (#signin=CODE) is redeemed once and removed from the
// address bar; the fragment never reaches a server log.
async function signInFromUrl() {
  const hash = new URLSearchParams(location.hash.slice(1));
  const code = hash.get('signin');
  if (!code) return false;
  hash.delete('signin');
  const rest = hash.toString();
  history.replaceState(null, '', location.pathname + location.search + (rest ? '#' + rest : ''));
  return redeem(code);
}

async function redeem(code) {
  $('#signin-error').textContent = '';
  try {
    const r = await api.request('POST', '/signin', { body: { code } });
    api.setToken(SCOPE, r.token);
    state.token = r.token;
    announce(t('admin.signedIn', { name: r.account.name }));
    await show();
    return true;
  } catch (e) {
    $('#signin-form').hidden = false;
    $('#register-form').hidden = false;
    $('#signin-error').textContent = e.code === 'invalid_signin_code' ? t('admin.codeInvalid') : errorText(e);
    return false;
  }
}

function signOut() {
  api.setToken(SCOPE, '');
  state.token = '';
  state.me = null;
  for (const id of ['#accounts', '#rooms', '#employers', '#reports', '#webhooks', '#my-rooms', '#signout']) $(id).hidden = true;
  $('#who').textContent = '';
  $('#signin-form').hidden = false;
  $('#register-form').hidden = false;
}

async function show() {
  state.me = api.claims(state.token);
  if (!state.me) return signOut();
  $('#signin-form').hidden = true;
  $('#register-form').hidden = true;
  $('#signout').hidden = false;
  $('#who').textContent = `${state.me.name || state.me.sub} · ${name('role', state.me.role)}`;
  const admin = state.me.role === 'admin';
  for (const id of ['#accounts', '#rooms', '#employers', '#reports', '#webhooks']) $(id).hidden = !admin;
  $('#my-rooms').hidden = false;
  try {
    if (admin) await Promise.all([loadAccounts(), loadWebhooks(), loadPendingEmployers()]);
    await loadRooms();
  } catch (e) {
    if (e.status === 401) {
      signOut();
      $('#signin-error').textContent = t('admin.signInAgain');
    } else {
      announce(errorText(e), { assertive: true });
    }
  }
}

// ---- the schedule: rooms of the signed-in user by region, date and status,
// with links into the studio or the console ----
const STAFF_LISTS = [['counsellors', 'counsellor'], ['captioners', 'captioner'], ['interpreters', 'interpreter']];

// "YYYY-MM-DDTHH:MM" in local time, as datetime-local inputs hold it.
function localInput(seconds) {
  const d = new Date(seconds * 1000);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}
const fromInput = (value) => Math.floor(new Date(value).getTime() / 1000);
// Midnight at the start (or the last second) of a local date, in seconds.
const dayBound = (value, end) => fromInput(`${value}T00:00`) + (end ? 86400 - 1 : 0);

function mayManage(r) {
  const me = state.me;
  return me.role === 'admin' || (me.role === 'employer' && r.employer_id === (me.employer || me.sub));
}

function staffName(id) {
  const a = state.accounts.find((x) => x.id === id);
  return a ? a.name : id;
}

async function loadRooms() {
  const q = new URLSearchParams({ limit: '200' });
  const region = $('#filter-region').value.trim();
  if (region) q.set('region', region);
  if ($('#filter-from').value) q.set('from', String(dayBound($('#filter-from').value, false)));
  if ($('#filter-to').value) q.set('to', String(dayBound($('#filter-to').value, true)));
  if ($('#filter-status').value) q.set('status', $('#filter-status').value);
  const { items } = await call('GET', `/rooms?${q}`);
  items.sort((a, b) => a.scheduled_at - b.scheduled_at);
  const me = state.me;
  state.rooms = items.filter((r) => mayManage(r) ||
    [...(r.counsellors || []), ...(r.captioners || []), ...(r.interpreters || [])].includes(me.sub));
  renderRooms();
}

function renderRooms() {
  const page = state.me.role === 'counsellor' || state.me.role === 'captioner' ? 'console' : 'studio';
  const rows = state.rooms.map((r) => {
    const act = (label, fn, cls) => el('button', { type: 'button', class: cls, onclick: fn, 'aria-label': `${t(label)}: ${r.title}` }, t(label));
    const editable = r.status === 'scheduled' && mayManage(r);
    const staff = STAFF_LISTS.flatMap(([list]) => r[list] || []).map(staffName);
    const when = new Date(r.scheduled_at * 1000).toLocaleString();
    const until = r.ends_at ? ` – ${new Date(r.ends_at * 1000).toLocaleTimeString()}` : '';
    return el('tr', { dataset: { id: r.id, status: r.status } },
      el('td', {}, when + until),
      el('td', {}, el('a', { href: `/${page}/${encodeURIComponent(r.id)}#token=${encodeURIComponent(state.token)}` }, r.title),
        r.status === 'cancelled' && r.cancel_reason ? el('div', { class: 'muted' }, t('room.cancelledBecause', { reason: r.cancel_reason })) : null),
      el('td', {}, r.region_name || r.region_code || ''),
      el('td', {}, staff.join(', ')),
      el('td', {}, el('span', { class: `badge ${r.status === 'live' ? 'live' : r.status === 'cancelled' ? 'warn' : ''}` }, name('room', r.status))),
      el('td', {}, editable ? el('div', { class: 'controls' },
        act('admin.edit', () => openEdit(r), 'primary'),
        act('admin.cancelRoom', () => openCancel(r), 'danger')) : null));
  });
  $('#my-room-list').replaceChildren(...(rows.length ? rows : [el('tr', {}, el('td', { colspan: '6', class: 'muted' }, t('home.none')))]));
}

// ---- edit, reschedule, staff ----
function renderEditStaff() {
  const r = state.editing;
  $('#edit-staff').replaceChildren(...STAFF_LISTS.flatMap(([list, kind]) => (r[list] || []).map((id) => el('li', { class: 'row', dataset: { id } },
    el('span', { class: 'grow' }, `${staffName(id)} · ${name('kind', kind)}`),
    el('button', { type: 'button', 'aria-label': `${t('admin.removeStaff')}: ${staffName(id)}`, onclick: () => setStaff(id, false) }, t('admin.removeStaff'))))));
  const staff = state.accounts.filter((a) => a.status === 'active' && ['counsellor', 'captioner', 'interpreter'].includes(a.kind));
  $('#staff-accounts').replaceChildren(...staff.map((a) => el('option', { value: a.id }, `${a.name} · ${name('kind', a.kind)}`)));
}

function openEdit(r) {
  state.editing = r;
  $('#edit-error').textContent = '';
  $('#edit-title').value = r.title;
  $('#edit-description').value = r.description || '';
  $('#edit-start').value = localInput(r.scheduled_at);
  $('#edit-end').value = r.ends_at ? localInput(r.ends_at) : '';
  $('#edit-region').value = r.region_code || '';
  $('#edit-review').checked = !!r.require_review;
  $('#edit-staff-account').value = '';
  renderEditStaff();
  $('#edit-dialog').showModal();
  $('#edit-title').focus();
}

async function setStaff(account, on) {
  $('#edit-error').textContent = '';
  try {
    state.editing = await call(on ? 'PUT' : 'DELETE', `/rooms/${encodeURIComponent(state.editing.id)}/staff/${encodeURIComponent(account)}`);
    $('#edit-staff-account').value = '';
    renderEditStaff();
    announce(t('done'));
    await loadRooms();
  } catch (x) { $('#edit-error').textContent = errorText(x); }
}

$('#edit-staff-add').addEventListener('click', () => {
  const account = $('#edit-staff-account').value.trim();
  if (account) setStaff(account, true);
});
$('#edit-close').addEventListener('click', () => $('#edit-dialog').close());
$('#edit-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  $('#edit-error').textContent = '';
  const r = state.editing;
  const body = {};
  const title = $('#edit-title').value.trim();
  if (title !== r.title) body.title = title;
  const description = $('#edit-description').value.trim();
  if (description !== (r.description || '')) body.description = description;
  const starts = fromInput($('#edit-start').value);
  if (Math.floor(starts / 60) !== Math.floor(r.scheduled_at / 60)) body.scheduled_at = starts;
  const ends = $('#edit-end').value ? fromInput($('#edit-end').value) : 0;
  if (Math.floor(ends / 60) !== Math.floor((r.ends_at || 0) / 60)) body.ends_at = ends;
  const region = $('#edit-region').value.trim();
  if (region !== (r.region_code || '')) body.region_code = region;
  if ($('#edit-review').checked !== !!r.require_review) body.require_review = $('#edit-review').checked;
  try {
    if (Object.keys(body).length) await call('PATCH', `/rooms/${encodeURIComponent(r.id)}`, body);
    $('#edit-dialog').close();
    announce(t('admin.saved', { title: title }));
    await loadRooms();
  } catch (x) { $('#edit-error').textContent = errorText(x); }
});

// ---- cancel, with a reason ----
function openCancel(r) {
  state.editing = r;
  $('#cancel-error').textContent = '';
  $('#cancel-title').textContent = r.title;
  $('#cancel-reason').value = '';
  $('#cancel-dialog').showModal();
  $('#cancel-reason').focus();
}

$('#cancel-close').addEventListener('click', () => $('#cancel-dialog').close());
$('#cancel-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const r = state.editing;
  const reason = $('#cancel-reason').value.trim();
  if (!reason) { $('#cancel-error').textContent = t('admin.reasonNeeded'); return; }
  try {
    await call('POST', `/rooms/${encodeURIComponent(r.id)}/cancel`, { reason });
    $('#cancel-dialog').close();
    announce(t('admin.cancelled', { title: r.title }));
    await loadRooms();
  } catch (x) { $('#cancel-error').textContent = errorText(x); }
});

// ---- scheduling a room, with its staff chosen from the accounts ----
function renderStaffChoices() {
  const staff = state.accounts.filter((a) => a.status === 'active' && ['counsellor', 'captioner', 'interpreter'].includes(a.kind));
  $('#room-staff').replaceChildren(...(staff.length ? staff.map((a) => el('label', { class: 'row' },
    el('input', { type: 'checkbox', value: a.id, dataset: { kind: a.kind } }), `${a.name} · ${name('kind', a.kind)}`))
    : [el('p', { class: 'muted' }, t('home.none'))]));
}

$('#room-filter').addEventListener('submit', (e) => {
  e.preventDefault();
  $('#schedule-error').textContent = '';
  loadRooms().catch((x) => { $('#schedule-error').textContent = errorText(x); });
});
$('#room-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  $('#room-error').textContent = '';
  const picked = [...document.querySelectorAll('#room-staff input:checked')];
  const of = (kind) => picked.filter((i) => i.dataset.kind === kind).map((i) => i.value);
  const body = { title: $('#room-title').value.trim(), employer_id: $('#room-employer').value.trim(),
    scheduled_at: Math.floor(new Date($('#room-time').value).getTime() / 1000),
    counsellors: of('counsellor'), captioners: of('captioner'), interpreters: of('interpreter'),
    require_review: $('#room-review').checked };
  if ($('#room-region').value.trim()) body.region_code = $('#room-region').value.trim();
  try {
    const room = await call('POST', '/rooms', body);
    e.target.reset();
    announce(t('admin.scheduled', { title: room.title }));
    await loadRooms();
  } catch (x) { $('#room-error').textContent = errorText(x); }
});

// ---- accounts ----
async function loadAccounts() {
  state.accounts = (await call('GET', '/admin/accounts')).items;
  renderAccounts();
  renderStaffChoices();
}

function renderAccounts() {
  $('#account-list').replaceChildren(...state.accounts.map((a) => {
    const act = (label, fn, cls) => el('button', { type: 'button', class: cls, onclick: fn, 'aria-label': `${t(label)}: ${a.name}` }, t(label));
    const disabled = a.status === 'disabled';
    return el('tr', { dataset: { id: a.id } },
      el('td', {}, a.name, el('br'), el('span', { class: 'muted' }, a.id)),
      el('td', {}, name('kind', a.kind), a.employer_id ? ` · ${a.employer_id}` : ''),
      el('td', {}, el('span', { class: disabled ? 'badge warn' : 'badge ok' }, name('status', a.status))),
      el('td', {}, el('div', { class: 'controls' },
        disabled ? act('admin.enable', () => gate(a, 'enable')) : act('admin.issueLink', () => issueLink(a), 'primary'),
        act('admin.revoke', () => gate(a, 'revoke')),
        disabled ? null : act('admin.disable', () => gate(a, 'disable'), 'danger'))));
  }));
}

async function issueLink(a) {
  try {
    const link = await call('POST', `/admin/accounts/${encodeURIComponent(a.id)}/links`, {});
    const url = location.origin + link.path;
    $('#link-name').textContent = a.name;
    $('#link-url').textContent = url;
    $('#link-url').href = url;
    $('#link-code').textContent = link.code;
    $('#link-box').hidden = false;
    announce(t('admin.linkIssued', { name: a.name }));
  } catch (e) { announce(errorText(e), { assertive: true }); }
}

async function gate(a, action) {
  if (action !== 'enable' && !(await confirmDialog(t(KEYS.confirm[action], { name: a.name }), t(KEYS.action[action])))) return;
  try {
    await call('POST', `/admin/accounts/${encodeURIComponent(a.id)}/${action}`);
    announce(t('done'));
    await loadAccounts();
  } catch (e) { announce(errorText(e), { assertive: true }); }
}

$('#account-kind').addEventListener('change', () => { $('#account-employer').required = $('#account-kind').value === 'employer'; });
$('#account-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  $('#account-error').textContent = '';
  const body = { kind: $('#account-kind').value, name: $('#account-name').value.trim() };
  if (body.kind === 'employer') body.employer_id = $('#account-employer').value.trim();
  try {
    const a = await call('POST', '/admin/accounts', body);
    e.target.reset();
    await loadAccounts();
    await issueLink(a);
  } catch (x) { $('#account-error').textContent = errorText(x); }
});

// ---- employers ----
// Those awaiting a decision, oldest registration first: verify at once, or
// pick one into the form to reject it with a reason.
async function loadPendingEmployers() {
  const pending = (await call('GET', '/employers?status=pending')).items;
  $('#employer-pending').hidden = pending.length === 0;
  $('#employer-list').replaceChildren(...pending.map((emp) => {
    const act = (label, fn, cls) => el('button', { type: 'button', class: cls, onclick: fn, 'aria-label': `${t(label)}: ${emp.name}` }, t(label));
    return el('tr', { dataset: { id: emp.id } },
      el('td', {}, emp.name, emp.credit_code ? el('br') : null, emp.credit_code ? el('span', { class: 'muted' }, emp.credit_code) : null),
      el('td', {}, emp.id),
      el('td', {}, el('div', { class: 'controls' },
        act('admin.verify', () => decide(emp.id, 'verify', ''), 'primary'),
        act('admin.reject', () => { $('#employer-id').value = emp.id; $('#employer-reason').focus(); }))));
  }));
}

async function decide(id, action, reason) {
  $('#employer-error').textContent = '';
  $('#employer-result').textContent = '';
  try {
    const emp = await call('POST', `/employers/${encodeURIComponent(id)}/${action}`, action === 'verify' ? {} : { reason });
    $('#employer-result').textContent = t('admin.employerNow', { name: emp.name, status: name('employer', emp.status || 'verified') });
    await loadPendingEmployers();
  } catch (x) { $('#employer-error').textContent = errorText(x); }
}

$('#employer-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const action = e.submitter ? e.submitter.value : 'verify';
  const reason = $('#employer-reason').value.trim();
  if (action !== 'verify' && !reason) { $('#employer-error').textContent = t('admin.reasonNeeded'); return; }
  await decide($('#employer-id').value.trim(), action, reason);
});

// ---- reports: fetched with the token, saved as a file ----
$('#report-year').value = new Date().getFullYear();
$('#report-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const format = e.submitter ? e.submitter.value : 'xlsx';
  const q = new URLSearchParams({ year: $('#report-year').value, format });
  const quarter = $('#report-quarter').value;
  if (quarter) q.set('quarter', quarter);
  if ($('#report-region').value) q.set('region', $('#report-region').value);
  $('#report-error').textContent = '';
  try {
    const res = await fetch(`/api/v1/reports/${quarter ? 'quarterly' : 'yearly'}?${q}`, { headers: { Authorization: `Bearer ${state.token}` } });
    if (!res.ok) throw new api.ApiError(res.status, `http_${res.status}`);
    const blob = await res.blob();
    const a = el('a', { href: URL.createObjectURL(blob), download: `jobcast-${q.get('year')}${quarter ? 'Q' + quarter : ''}.${format}` });
    document.body.append(a);
    a.click();
    a.remove();
  } catch (x) { $('#report-error').textContent = errorText(x); }
});

// ---- webhooks and dead letters ----
async function loadWebhooks() {
  const [{ webhooks }, { deliveries }] = await Promise.all([call('GET', '/admin/webhooks'), call('GET', '/admin/webhooks/dead')]);
  $('#webhook-list').replaceChildren(...(webhooks.length ? webhooks.map((w) => el('li', {}, el('code', {}, w.url), ' ', el('span', { class: 'muted' }, w.events.join(', '))))
    : [el('li', { class: 'muted' }, t('home.none'))]));
  $('#dead-list').replaceChildren(...(deliveries.length ? deliveries.map((d) => el('li', { class: 'row' },
    el('span', { class: 'grow' }, `${d.type} · ${d.attempts} · ${d.error || ''}`),
    el('button', { type: 'button', 'aria-label': `${t('admin.replay')}: ${d.type} ${d.id}`, onclick: async () => {
      try { await call('POST', `/admin/webhooks/dead/${encodeURIComponent(d.id)}/replay`); announce(t('done')); await loadWebhooks(); } catch (x) { $('#webhook-error').textContent = errorText(x); }
    } }, t('admin.replay')))) : [el('li', { class: 'muted' }, t('home.none'))]));
}

// ---- an employer registers itself (no token): an admin verifies it later ----
const REGISTER_FIELDS = { name: '#reg-name', credit_code: '#reg-code', contact_name: '#reg-contact',
  contact_phone: '#reg-phone', region_code: '#reg-region' };
$('#register-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  $('#register-error').textContent = '';
  $('#register-result').textContent = '';
  const body = { name: $('#reg-name').value.trim(), credit_code: $('#reg-code').value.trim().toUpperCase(),
    contact_name: $('#reg-contact').value.trim(), contact_phone: $('#reg-phone').value.trim(),
    region_code: $('#reg-region').value.trim() };
  for (const input of e.target.querySelectorAll('input')) input.removeAttribute('aria-invalid');
  try {
    const emp = await api.request('POST', '/employers/register', { body });
    e.target.reset();
    $('#register-result').textContent = t('register.done', { name: emp.name, id: emp.id });
  } catch (x) {
    // The field the node refused (e.g. a credit code whose check character is wrong) is marked and focused.
    const input = x.field && $(REGISTER_FIELDS[x.field]);
    $('#register-error').textContent = input ? `${input.closest('label').querySelector('.lbl').textContent}: ${errorText(x)}` : errorText(x);
    if (input) { input.setAttribute('aria-invalid', 'true'); input.focus(); }
  }
});

$('#signout').addEventListener('click', signOut);
$('#signin-form').addEventListener('submit', (e) => { e.preventDefault(); redeem($('#signin-code').value.trim()); });

async function start() {
  $('#lang-slot').replaceWith(i18n.languageMenu());
  i18n.apply();
  i18n.onChange(() => { if (state.me) { renderAccounts(); renderRooms(); show(); } });
  if (await signInFromUrl()) return;
  state.token = api.getToken(SCOPE);
  if (state.token) await show();
  else $('#signin-form').hidden = $('#register-form').hidden = false;
}

start();
