// Measures the viewer page on loopback, from the browser's own timing:
//  - page weight: bytes over the wire (gzip) of every file the viewer page
//    loads, from Resource Timing transferSize, cold cache;
//  - time to first frame for HLS and for WHEP: from the moment the player
//    starts to the first painted video frame (requestVideoFrameCallback), the
//    studio publishing the fake camera by WHIP into the room.
// Usage: node bench/web/measure.mjs [--jobcastd build/server/jobcastd] [--runs 5] [--json out.json]

import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { args, startServer, launchBrowser, PHONE, DESKTOP } from '../../tests/web/harness.mjs';

const opt = args();
const runs = Number(opt.runs || 5);
const result = { machine: `${os.cpus()[0].model}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB`, runs, loadavg_before: os.loadavg() };
const median = (a) => { const s = [...a].sort((x, y) => x - y); return s.length ? s[Math.floor((s.length - 1) / 2)] : null; };

const server = await startServer(opt.jobcastd, { webClient: opt.webClient });
const browser = await launchBrowser();
const api = async (method, url, token, body) => {
  const res = await fetch(server.base + '/api/v1' + url, { method, headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) }, body: body && JSON.stringify(body) });
  if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${await res.text()}`);
  return res.json();
};

try {
  // ---- page weight (no room needed: the same files load for any room)
  const ctx = await browser.newContext(PHONE);
  const page = await ctx.newPage();
  await page.goto(`${server.base}/room/weight-check`, { waitUntil: 'networkidle' });
  // hls.js is fetched when HLS playback starts on browsers without native HLS: load it as the player would.
  await page.evaluate(() => import('/vendor/hls.light.min.mjs'));
  await page.waitForTimeout(300);
  const weight = await page.evaluate(() => {
    const rows = [];
    const nav = performance.getEntriesByType('navigation')[0];
    rows.push({ name: new URL(nav.name).pathname, transfer: nav.transferSize, body: nav.decodedBodySize });
    for (const r of performance.getEntriesByType('resource')) {
      const u = new URL(r.name);
      if (!/^\/(js|css|vendor)\//.test(u.pathname)) continue;
      rows.push({ name: u.pathname, transfer: r.transferSize, body: r.decodedBodySize });
    }
    return rows;
  });
  const sum = (f) => weight.filter(f).reduce((n, r) => n + r.transfer, 0);
  result.page_weight = {
    files: weight,
    total_bytes: sum(() => true),
    without_hlsjs_bytes: sum((r) => !r.name.startsWith('/vendor/')),
    hlsjs_bytes: sum((r) => r.name.startsWith('/vendor/')),
    uncompressed_bytes: weight.reduce((n, r) => n + r.body, 0),
  };
  await ctx.close();

  // ---- time to first frame: needs a live room with a publisher
  const admin = server.token('admin', 'bench', { rooms: ['*'] });
  const emp = await api('POST', '/employers', admin, { name: 'Bench employer' });
  await api('POST', `/employers/${emp.id}/verify`, admin, {});
  const room = await api('POST', '/rooms', admin, { title: 'bench', employer_id: emp.id, scheduled_at: Math.floor(Date.now() / 1000) });
  const employer = server.token('employer', emp.id, { rooms: [room.id], employer: emp.id });
  const studioCtx = await browser.newContext({ ...DESKTOP, permissions: ['camera', 'microphone'] });
  const studio = await studioCtx.newPage();
  await studio.goto(`${server.base}/studio/${room.id}#token=${employer}`);
  await studio.waitForFunction(() => document.querySelector('#preview').videoWidth > 0, null, { timeout: 10000 });
  await studio.click('#go-live');
  await studio.waitForSelector('#on-air.live', { timeout: 20000 });
  // Let the HLS playlist fill before measuring a viewer that arrives mid-stream.
  await new Promise((r) => setTimeout(r, 6000));

  for (const mode of ['hls', 'whep']) {
    const times = [];
    const fromNav = [];
    for (let i = 0; i < runs; i++) {
      const c = await browser.newContext(PHONE);
      const p = await c.newPage();
      await p.goto(`${server.base}/room/${room.id}${mode === 'whep' ? '?ll=1' : ''}`);
      const ms = await p.evaluate((m) => new Promise((resolve, reject) => {
        const done = () => resolve(window.jobcastPlayer.metrics.ttff[m]);
        if (window.jobcastPlayer.metrics.ttff[m] != null) return done();
        window.addEventListener('jobcast:firstframe', (e) => { if (e.detail.mode === m) done(); });
        setTimeout(() => {
          const p = window.jobcastPlayer;
          reject(new Error(`no ${m} frame in 30 s (player ${p.mode}, ${p.status}, ${p.lastError || 'no error'})`));
        }, 30000);
      }), mode);
      times.push(ms);
      fromNav.push(await p.evaluate((m) => window.jobcastPlayer.metrics.sinceNavigation[m], mode));
      await c.close();
    }
    result[`${mode}_first_frame_ms`] = { median: median(times), min: Math.min(...times), max: Math.max(...times), all: times };
    result[`${mode}_first_frame_from_navigation_ms`] = { median: median(fromNav), min: Math.min(...fromNav), max: Math.max(...fromNav), all: fromNav };
  }
} catch (e) {
  result.error = e.message;
  // The node's own account of the media (publisher, keyframes, WHEP sessions).
  result.jobcastd_log = server.log().split('\n').filter((l) => /publish|stage|whep|keyframe|warn|error/i.test(l)).slice(-30);
} finally {
  result.loadavg_after = os.loadavg();
  await browser.close();
  await server.stop();
}
console.log(JSON.stringify(result, null, 2));
if (opt.json) writeFileSync(opt.json, JSON.stringify(result, null, 2));
process.exit(result.error ? 1 : 0);
