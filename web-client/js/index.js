// The front page: live rooms first, then upcoming ones, then replays.

import * as i18n from './i18n.js';
import { rooms, roomOf } from './api.js';
import { $, el, errorText, timeText } from './ui.js';

const t = i18n.t;
let data = [];

function card(r) {
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
