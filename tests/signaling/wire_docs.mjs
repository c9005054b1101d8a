// The docs and the wire schemas name the same things: every event kind and
// action with a schema is in docs/websocket.md's tables and every name in those
// tables has a schema; every /api/v1 route with a schema is listed in
// docs/api.md and every route listed there has a reply schema; the pages
// handle no event kind or frame type that has no schema.
//
// node tests/signaling/wire_docs.mjs

import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const read = (p) => readFileSync(path.join(root, p), 'utf8');
const schemas = (dir) => readdirSync(path.join(root, dir)).filter((f) => f.endsWith('.json'))
  .map((f) => JSON.parse(read(path.join(dir, f))));

const input = schemas('signaling/schema');
const output = schemas('signaling/schema/out');

// The backticked names in the first column of the table under `heading`.
function tableNames(markdown, heading) {
  const at = markdown.indexOf(`\n## ${heading}\n`);
  if (at < 0) throw new Error(`docs: no "## ${heading}" section`);
  const section = markdown.slice(at + 1).split(/\n## /)[0];
  const names = new Set();
  for (const line of section.split('\n')) {
    const cells = line.split('|');
    if (cells.length < 3 || /^\s*-+\s*$/.test(cells[1])) continue;
    for (const m of cells[1].matchAll(/`([a-z][a-z._]*)`/g)) names.add(m[1]);
  }
  names.delete('kind');
  names.delete('action');
  return names;
}

function compare(what, fromSchemas, fromDocs, doc) {
  const problems = [];
  for (const n of fromSchemas) if (!fromDocs.has(n)) problems.push(`${what} ${n} has a schema but is not in ${doc}`);
  for (const n of fromDocs) if (!fromSchemas.has(n)) problems.push(`${what} ${n} is in ${doc} but has no schema`);
  return problems;
}

const problems = [];
const ws = read('docs/websocket.md');
const kinds = new Set(output.filter((s) => s['x-kind']).map((s) => s['x-kind']));
problems.push(...compare('event', kinds, tableNames(ws, 'Events'), 'docs/websocket.md (Events)'));
const actions = new Set(input.filter((s) => s['x-frame'] && s['x-frame'] !== 'hello').map((s) => s['x-frame']));
actions.add('ping');
const acked = new Set(output.filter((s) => s['x-action']).map((s) => s['x-action']));
problems.push(...compare('action', actions, tableNames(ws, 'Actions'), 'docs/websocket.md (Actions)'));
problems.push(...compare('ack of', actions, acked, 'the ack schemas'));
for (const type of new Set(output.filter((s) => s['x-frame']).map((s) => s['x-frame']))) {
  if (!ws.includes(`"type": "${type}"`)) problems.push(`frame type ${type} has no example in docs/websocket.md`);
}

// REST: "`METHOD /path`" in docs/api.md, the path without /api/v1.
const api = read('docs/api.md');
const documented = new Set([...api.matchAll(/`(GET|POST|PUT|PATCH|DELETE) (\/[a-z0-9_{}/.-]*)[^`]*`/g)]
  .map((m) => `${m[1]} ${m[2].replace(/^\/api\/v1\//, '/')}`));
// Answered with 204 and no body: nothing to describe.
const NO_BODY = ['DELETE /me/profile'];
const routes = new Set(NO_BODY);
const replied = new Set();
for (const s of [...input, ...output]) {
  const route = s['x-route'] || s['x-reply'];
  if (!route || !route.includes(' /api/v1/')) continue;
  const short = route.replace(' /api/v1/', ' /');
  routes.add(short);
  if (s['x-reply']) replied.add(short);
}
problems.push(...compare('route', routes, documented, 'docs/api.md'));
for (const r of documented) {
  if (!replied.has(r) && !NO_BODY.includes(r)) problems.push(`route ${r} has no reply schema in signaling/schema/out/`);
}

// The pages switch on event kinds and frame types: only ones the server sends.
const frameTypes = new Set(output.filter((s) => s['x-frame']).map((s) => s['x-frame']));
const pageDir = 'web-client/js';
const pageFiles = [...readdirSync(path.join(root, pageDir)).filter((f) => f.endsWith('.js')).map((f) => `${pageDir}/${f}`),
  ...readdirSync(path.join(root, pageDir, 'viewer')).filter((f) => f.endsWith('.js')).map((f) => `${pageDir}/viewer/${f}`)];
for (const file of pageFiles) {
  for (const m of read(file).matchAll(/case '([a-z][a-z._]*)':/g)) {
    if (!kinds.has(m[1]) && !frameTypes.has(m[1])) problems.push(`${file} handles '${m[1]}', which the server never sends`);
  }
}

for (const p of problems) console.error(`FAIL ${p}`);
console.log(`wire docs: ${kinds.size} event kinds, ${actions.size} actions, ${routes.size} routes`);
process.exit(problems.length ? 1 : 0);
