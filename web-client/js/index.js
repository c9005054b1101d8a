// The front page: live rooms first, then upcoming ones, then replays. A
// signed-in jobseeker (the room pages' token) follows upcoming rooms from
// here and is reminded in the page when one goes live (js/reminders.js).

import * as i18n from './i18n.js';
import { rooms, roomOf, follows, getToken } from './api.js';
import { $, el, announce, errorText, timeText } from './ui.js';
import * as reminders from './reminders.js';

const t = i18n.t;
let data = [];
const token = () => getToken('viewer');
let followed = new Set();

function followButton(r) {
  const on = followed.has(r.id);
  const b = el('button', { type: 'button', class: on ? '' : 'primary', 'aria-pressed': on ? 'true' : 'false',
    dataset: { follow: r.id }, text: t(on ? 'follow.stop' : 'follow.button') });
  b.addEventListener('click', async () => {
    b.disabled = true;
    try {
      if (on) { await follows.unfollow(r.id, token()); followed.delete(r.id); announce(t('follow.stopped', { title: r.title })); }
      else { await follows.follow(r.id, token()); followed.add(r.id); announce(t('follow.done')); }
    } catch (e) { announce(errorText(e), { assertive: true }); }
    render();
  });
  return el('div', { class: 'row' }, b,
    el('a', { href: follows.calendarUrl(r.id), download: `jobcast-${r.id}.ics`, text: t('follow.calendar') }));
}

function card(r) {
  const link = cardLink(r);
  if (r.status !== 'scheduled' || !token()) return link;
  return el('div', { class: 'stack' }, link, followButton(r));
}

function cardLink(r) {
  const status = r.status;
  return el('a', { href: `/room/${encodeURIComponent(r.id)}`, class: 'card room', dataset: { room: r.id } },
    el('div', { class: 'row' },
      el('span', { class: `badge ${status === 'live' ? 'live' : ''}`, text: t(`room.status.${status}`) })),
    el('h3', { text: r.title }),
    status === 'scheduled' && r.startsAt ? el('div', { class: 'muted', text: t('room.starts', { time: timeText(r.startsAt) }) }) : null,
    el('span', { class: 'sr-only', text: t('home.watch') }));
}

function render() {
  for (const status of ['live', 'scheduled', 'ended']) {
    const box = $(`#rooms-${status}`);
    const list = data.filter((r) => r.status === status);
    box.replaceChildren(...(list.length ? list.map(card) : [el('p', { class: 'muted', text: t('home.none') })]));
  }
}

async function load() {
  const err = $('#load-error');
  try {
    data = (await rooms.list()).map((r) => roomOf(r));
    err.hidden = true;
  } catch (e) {
    err.textContent = t('home.loadError', { message: errorText(e) });
    err.hidden = false;
  }
  render();
}

$('#lang-slot').replaceWith(i18n.languageMenu());
i18n.apply();
i18n.onChange(render);
load();
setInterval(load, 30000);
if (token()) {
  $('#me-link').hidden = false;
  reminders.watch(token, (list) => {
    const now = new Set(list.map((r) => r.id));
    const changed = now.size !== followed.size || [...now].some((id) => !followed.has(id));
    followed = now;
    if (changed) render();
  });
}
