// Every string every page uses exists in every language (zh, en, mn): the
// keys of the pages' data-i18n, data-i18n-label, data-i18n-placeholder and
// data-i18n-title attributes, of t('…') calls, and of key names the scripts
// keep in tables for t() ('console.joining', labelKey: 'player.quality', …).
// The three tables must hold the same keys, and the Mongolian one must be in
// Mongolian script. No browser needed.
//
// node tests/web/i18n_keys.mjs

import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const web = path.join(root, 'web-client');

// i18n.js reads the URL, storage and the browser's languages when loaded.
globalThis.location = { search: '' };
globalThis.localStorage = { getItem: () => null, setItem: () => {} };
Object.defineProperty(globalThis, 'navigator', { value: { languages: ['zh-CN'] }, configurable: true });
const i18n = await import(path.join(web, 'js/i18n.js'));
const langs = i18n.LANGUAGES.map((l) => l.code);
const problems = [];
for (const want of ['zh', 'en', 'mn']) if (!langs.includes(want)) problems.push(`language ${want} is missing`);

const table = Object.fromEntries(langs.map((l) => [l, new Set(i18n.keysOf(l))]));

// Same keys everywhere.
for (const l of langs) {
  for (const other of langs) {
    for (const k of table[other]) if (!table[l].has(k)) problems.push(`${l}: missing '${k}' (in ${other})`);
  }
}

// The keys the pages use.
const used = new Map();  // key -> where
const note = (key, where) => { if (!used.has(key)) used.set(key, where); };
const files = (dir, ext) => readdirSync(dir, { recursive: true }).filter((f) => f.endsWith(ext)).map((f) => path.join(dir, f));
for (const file of files(web, '.html')) {
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(/data-i18n(?:-label|-placeholder|-title)?="([^"]+)"/g)) note(m[1], path.relative(root, file));
}
// Names on the wire share the dotted form (chat.send, card.shown): they are not strings.
const wire = new Set();
for (const dir of ['signaling/schema', 'signaling/schema/out']) {
  for (const f of readdirSync(path.join(root, dir)).filter((x) => x.endsWith('.json'))) {
    const s = JSON.parse(readFileSync(path.join(root, dir, f), 'utf8'));
    for (const k of ['x-frame', 'x-kind', 'x-action']) if (s[k]) wire.add(s[k]);
  }
}
const namespaces = new Set([...table.zh].map((k) => k.split('.')[0]));
let dynamic = 0;
for (const file of files(path.join(web, 'js'), '.js')) {
  if (file.endsWith('i18n.js')) continue;
  const text = readFileSync(file, 'utf8');
  const where = path.relative(root, file);
  for (const m of text.matchAll(/\bt\(\s*'([^']+)'/g)) note(m[1], where);
  for (const m of text.matchAll(/'([a-z]+(?:\.[A-Za-z_]+)+)'/g)) {
    if (namespaces.has(m[1].split('.')[0]) && !wire.has(m[1])) note(m[1], where);
  }
  // t(`room.status.${…}`): some key with that prefix in every language.
  for (const m of text.matchAll(/\bt\(\s*`([a-z.]+)\$\{/g)) {
    dynamic += 1;
    for (const l of langs) if (![...table[l]].some((k) => k.startsWith(m[1]))) problems.push(`${l}: no key starting '${m[1]}' (${where})`);
  }
}
for (const [key, where] of used) {
  for (const l of langs) if (!table[l].has(key)) problems.push(`${l}: missing '${key}' used in ${where}`);
}

// The Mongolian table is in Mongolian script: every entry with letters has some.
const mong = /[\u1800-\u18AF]/;
for (const k of table.mn ?? []) {
  const v = i18n.textOf('mn', k).replace(/\{\w+\}/g, '').replace(/\b(OBS|WHIP|Bearer)\b/g, '');
  if (/\p{L}/u.test(v) && !mong.test(v)) problems.push(`mn: '${k}' is not in Mongolian script: ${v}`);
}

// Places of the region are named in all three languages.
for (const r of i18n.regions()) for (const l of ['zh', 'en', 'mn']) if (!r[l]) problems.push(`region ${JSON.stringify(r)} has no ${l} name`);

console.log(`i18n: ${langs.join(', ')}; ${table.zh.size} keys each; ${used.size} keys used by the pages, ${dynamic} key prefixes built at run time; ${i18n.regions().length} places`);
if (problems.length) {
  console.error(problems.join('\n'));
  process.exit(1);
}
