// A recommended job as the my page and the room page show it: the job, its
// room, why it was picked (GET /me/recommendations reasons, worded here) and
// an apply button.

import { t } from './i18n.js';
import { el, timeText, wageText } from './ui.js';

// GET /me/recommendations reason codes (docs/api.md) -> their wording.
const REASONS = {
  same_county: () => t('why.sameCounty'),
  same_city: () => t('why.sameCity'),
  same_province: () => t('why.sameProvince'),
  wage_at_least: (r) => t('why.wageAtLeast', { wage: r.value }),
  wage_up_to: (r) => t('why.wageUpTo', { wage: r.value }),
  cv_words: (r) => t('why.cvWords', { words: (r.words || []).join('、') }),
  live: () => t('why.live'),
  upcoming: (r) => t('why.upcoming', { time: timeText(r.value) }),
  schedule: () => t('why.schedule'),
  open_to_key_group: (r) => t('why.openTo', { group: t(`kg.${r.value}`) }),
};

export function reasonText(r) {
  const word = REASONS[r.code];
  return word ? word(r) : '';
}

export function recommendationItem(rec, { applied = false, onApply } = {}) {
  const button = el('button', { type: 'button', class: applied ? 'applied' : 'primary', disabled: applied,
    text: t(applied ? 'job.applied' : 'job.apply') });
  button.addEventListener('click', () => onApply(rec, button));
  return el('li', { class: 'recommendation', dataset: { job: rec.job.id } },
    el('strong', { text: rec.job.title }),
    el('div', { class: 'muted', text: `${rec.room.title} · ${wageText({ wageMin: rec.job.wage_min, wageMax: rec.job.wage_max, wageUnit: rec.job.wage_unit })}` }),
    el('ul', { class: 'why', 'aria-label': t('why.label') },
      ...rec.reasons.map(reasonText).filter(Boolean).map((text) => el('li', { text }))),
    el('div', { class: 'row' }, button,
      el('a', { href: `/room/${encodeURIComponent(rec.room.id)}`, text: t('me.openRoom') })));
}

