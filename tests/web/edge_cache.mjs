// The HLS edge (deploy/nginx-edge.conf) in front of a real jobcastd --demo:
// a real nginx runs that file as it is (upstream, port and cache directory
// replaced), two phones play the demo room through it in Chromium (the
// page, its WebSocket and HLS all through the edge; the video advances), and
// the edge's log and headers show that the node was asked for each segment
// once, that later fetches are cache HITs, that a burst of playlist reloads
// collapses, and that low-latency HLS plays through it, identical blocking
// reloads costing the node one request and parts cached.

import { args, startServer, startEdge, launchBrowser, watchPage, Report, assert, eq, llLiveEdge, PHONE } from './harness.mjs';
import { playAndReadStamps } from './stamp.mjs';

const opt = args();
const report = new Report('web_edge_cache');
let server, browser, edgeProc;

try {
  let edge;
  await report.must('jobcastd --demo and nginx with deploy/nginx-edge.conf start', async () => {
    server = await startServer(opt.jobcastd, { webClient: opt.webClient, extraArgs: ['--demo'], config: 'server:\n  trusted_proxies: ["127.0.0.1/32"]\n' });
    edgeProc = await startEdge([server.port], opt.nginx ? { nginx: opt.nginx } : {});
    edge = edgeProc.url;
    const deadline = Date.now() + 30000;
    for (;;) {
      const r = await fetch(`${edge}/hls/demo/master.m3u8`).catch(() => null);
      if (r && r.ok && (await r.text()).includes('audio/index.m3u8')) break;
      assert(Date.now() < deadline, 'no master playlist through the edge in 30 s');
      await new Promise((res) => setTimeout(res, 500));
    }
  });

  await report.must('Chromium starts', async () => { browser = await launchBrowser(); });

  await report.check('a segment: MISS, then HIT, with the node\'s type and immutable cache headers', async () => {
    const playlist = await (await fetch(`${edge}/hls/demo/audio/index.m3u8`)).text();
    const name = playlist.trim().split('\n').filter((l) => l && !l.startsWith('#')).pop();
    const url = `${edge}/hls/demo/audio/${name}`;
    const first = await fetch(url);
    const body = Buffer.from(await first.arrayBuffer());
    eq(first.status, 200, 'status');
    eq(first.headers.get('x-cache-status'), 'MISS', 'first fetch');
    eq(first.headers.get('content-type'), 'audio/aac', 'content type');
    eq(first.headers.get('cache-control'), 'public, max-age=31536000, immutable', 'cache control');
    const second = await fetch(url);
    eq(second.headers.get('x-cache-status'), 'HIT', 'second fetch');
    assert(Buffer.from(await second.arrayBuffer()).equals(body), 'same bytes');
  });

  await report.check('two phones play the room through the edge (page, WebSocket, HLS); the video advances', async () => {
    const pages = [];
    for (let i = 0; i < 2; i++) {
      const ctx = await browser.newContext(PHONE);
      const page = await ctx.newPage();
      pages.push({ page, problems: watchPage(page, `viewer ${i + 1}`) });
    }
    await Promise.all(pages.map(({ page }) => page.goto(`${edge}/room/demo`)));
    for (const { page } of pages) {
      await page.waitForFunction(() => { const v = document.querySelector('#video'); return v.currentTime > 4 && v.videoWidth > 0; }, null, { timeout: 60000, polling: 250 });
      await page.waitForFunction(() => document.body.dataset.live === 'open', null, { timeout: 10000 });
      eq(await page.evaluate(() => new URL(window.jobcastPlayer.src).origin), edge, 'the player plays from the edge');
    }
    // Both keep playing a few more segments.
    const before = await Promise.all(pages.map(({ page }) => page.evaluate(() => document.querySelector('#video').currentTime)));
    await pages[0].page.waitForTimeout(4000);
    const after = await Promise.all(pages.map(({ page }) => page.evaluate(() => document.querySelector('#video').currentTime)));
    for (let i = 0; i < 2; i++) assert(after[i] > before[i] + 2, `player ${i + 1}: ${before[i]} -> ${after[i]}`);
    for (const { page, problems } of pages) {
      assert(problems.length === 0, problems.join('\n'));
      await page.context().close();
    }
  });

  await report.check('the node was asked for each segment once; the other player\'s fetch was a HIT', async () => {
    const lines = edgeProc.log().filter((l) => /^\/hls\/demo\/[^/]+\/[^/]+\.(ts|aac)$/.test(l.uri) && l.status === 200);
    const bySegment = new Map();
    for (const l of lines) {
      if (!bySegment.has(l.uri)) bySegment.set(l.uri, []);
      bySegment.get(l.uri).push(l);
    }
    let shared = 0;
    for (const [uri, ls] of bySegment) {
      const upstream = ls.filter((l) => l.upstream !== '-').length;
      assert(upstream <= 1, `${uri}: the node was asked ${upstream} times (${ls.map((l) => l.cache).join(',')})`);
      if (ls.length >= 2) {
        shared++;
        assert(ls.filter((l) => l.cache !== 'HIT').length <= 1, `${uri}: ${ls.map((l) => l.cache).join(',')}`);
      }
    }
    console.log(`figure: ${bySegment.size} segments through the edge, ${shared} fetched more than once, ${lines.length} segment answers, node asked ${lines.filter((l) => l.upstream !== '-').length} times`);
    assert(shared >= 5, `segments fetched by both players: ${shared}`);
  });

  await report.check('a burst of 30 playlist reloads costs the node at most two requests', async () => {
    // Just after a fresh copy expires: wait for the next second.
    await new Promise((res) => setTimeout(res, 1100));
    const mark = edgeProc.log().length;
    const answers = await Promise.all(Array.from({ length: 30 }, () => fetch(`${edge}/hls/demo/360p/index.m3u8`)));
    for (const a of answers) { eq(a.status, 200, 'status'); await a.text(); }
    const burst = edgeProc.log().slice(mark).filter((l) => l.uri === '/hls/demo/360p/index.m3u8');
    eq(burst.length, 30, 'answers logged');
    const upstream = burst.filter((l) => l.upstream !== '-').length;
    assert(upstream <= 2, `the node was asked ${upstream} times (${burst.map((l) => l.cache).join(',')})`);
    const statuses = new Set(answers.map((a) => a.headers.get('x-cache-status')));
    assert([...statuses].every((s) => ['MISS', 'HIT', 'EXPIRED', 'UPDATING', 'STALE'].includes(s)), [...statuses].join(','));
    eq(answers[0].headers.get('content-type'), 'application/vnd.apple.mpegurl', 'content type');
  });

  await report.check('low-latency HLS: the same blocking reload from two players costs the node one; parts are cached', async () => {
    const text = await (await fetch(`${edge}/hls/demo/ll/index.m3u8`)).text();
    const { open, parts, hint } = llLiveEdge(text);
    const uri = `/hls/demo/ll/index.m3u8?_HLS_msn=${open}&_HLS_part=${parts}`;
    const mark = edgeProc.log().length;
    const answers = await Promise.all([0, 1, 2].map(() => fetch(edge + uri)));
    for (const a of answers) {
      eq(a.status, 200, 'blocking reload through the edge');
      assert((await a.text()).includes(hint), `the hinted part ${hint} is listed`);
    }
    const lines = edgeProc.log().slice(mark).filter((l) => l.uri === uri);
    eq(lines.length, 3, 'answers logged');
    eq(lines.filter((l) => l.upstream !== '-').length, 1, `the node was asked once (${lines.map((l) => l.cache).join(',')})`);
    const part = `/hls/demo/ll/${hint}`;
    const first = await fetch(edge + part);
    eq(first.status, 200, 'part');
    eq(first.headers.get('content-type'), 'video/mp4', 'part type');
    await first.arrayBuffer();
    const again = await fetch(edge + part);
    await again.arrayBuffer();
    eq(again.headers.get('x-cache-status'), 'HIT', 'a part is cached');
  });

  await report.check('hls.js plays the low-latency stream through the edge', async () => {
    const ctx = await browser.newContext(PHONE);
    const page = await ctx.newPage();
    const problems = watchPage(page, 'edge-ll');
    await page.goto(`${edge}/`);
    const r = await playAndReadStamps(page, '/hls/demo/ll.m3u8', { lowLatency: true, seconds: 8, settleSeconds: 2 });
    assert(r.lowLatencyPlaylist, 'hls.js read a low-latency playlist through the edge');
    assert(r.currentTime > 3, `the video advanced: ${r.currentTime}`);
    eq(r.errors.filter((e) => e.includes('fatal')).length, 0, `fatal hls.js errors: ${r.errors.join(', ')}`);
    assert(problems.length === 0, problems.join('\n'));
    await ctx.close();
  });
} catch (e) {
  console.log(`stopped: ${e.message}`);
  if (!report.failed) report.failed++;
} finally {
  if (browser) await browser.close().catch(() => {});
  if (server) {
    if (report.failed) console.log(`--- jobcastd log (tail) ---\n${server.log().split('\n').slice(-30).join('\n')}`);
    await server.stop();
  }
  if (edgeProc) {
    if (report.failed) console.log(`--- nginx error log ---\n${edgeProc.errorLog().slice(-3000)}`);
    await edgeProc.stop();
  }
}
process.exit(report.finish());
