// Low-latency HLS in Chromium with the bundled hls.js: the demo camera
// (jobcastd --demo, its send time painted into every frame) plays from
// /hls/demo/ll.m3u8 with blocking playlist reloads and fMP4 parts, every
// sampled picture carries a readable send time (real frames from the
// publisher, through the node, decoded by the browser), and the plain HLS
// master beside it is unchanged for players without LL-HLS. Latency figures
// are measured by bench/web/ll_latency.mjs, not asserted here.

import path from 'node:path';
import { args, startServer, launchBrowser, watchPage, Report, assert, eq, llLiveEdge, DESKTOP, artifactsDir } from './harness.mjs';
import { playAndReadStamps, median } from './stamp.mjs';

const opt = args();
const report = new Report('web_ll_hls');
const out = artifactsDir(path.join(opt.artifacts, 'll_hls'));
let server, browser;

async function waitFor(url, ms) {
  const until = Date.now() + ms;
  for (;;) {
    const res = await fetch(url).catch(() => null);
    if (res && res.ok) return res.text();
    if (Date.now() > until) throw new Error(`${url}: not ready after ${ms} ms (${res && res.status})`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

try {
  await report.must('jobcastd --demo starts with the latency stamp', async () => {
    server = await startServer(opt.jobcastd, { webClient: opt.webClient, extraArgs: ['--demo'], config: 'demo:\n  latency_stamp: true\n' });
  });
  await report.must('the demo room has a low-latency master playlist', async () => {
    const master = await waitFor(`${server.base}/hls/demo/ll.m3u8`, 60000);
    assert(/CODECS="avc1\.[0-9a-f]{6},mp4a\.40\.2"/.test(master), `codecs in ll.m3u8:\n${master}`);
    assert(master.includes('ll/index.m3u8'), master);
  });

  await report.check('the media playlist offers parts, blocking reload, delta updates and a preload hint', async () => {
    const text = await (await fetch(`${server.base}/hls/demo/ll/index.m3u8`)).text();
    for (const tag of ['#EXT-X-PART-INF:PART-TARGET=0.250', 'CAN-BLOCK-RELOAD=YES', 'PART-HOLD-BACK=0.750', 'CAN-SKIP-UNTIL=', '#EXT-X-MAP:URI=', '#EXT-X-PRELOAD-HINT:TYPE=PART', 'INDEPENDENT=YES']) {
      assert(text.includes(tag), `${tag} missing:\n${text}`);
    }
    // A blocking reload for the next part returns once it exists, and lists it.
    const { open, parts, hint } = llLiveEdge(text);
    const t0 = Date.now();
    const next = await fetch(`${server.base}/hls/demo/ll/index.m3u8?_HLS_msn=${open}&_HLS_part=${parts}`);
    eq(next.status, 200, 'blocking reload status');
    const body = await next.text();
    const held = Date.now() - t0;
    assert(body.includes(hint), `the part hinted before (${hint}) is listed after the blocking reload (held ${held} ms)`);
    const far = await fetch(`${server.base}/hls/demo/ll/index.m3u8?_HLS_msn=${open + 5}`);
    eq(far.status, 400, 'a request more than two segments ahead');
    eq((await far.json()).error.code, 'invalid_query', 'error code');
    const bad = await fetch(`${server.base}/hls/demo/ll/index.m3u8?_HLS_part=1`);
    eq(bad.status, 400, '_HLS_part without _HLS_msn');
    const delta = await (await fetch(`${server.base}/hls/demo/ll/index.m3u8?_HLS_skip=YES`)).text();
    assert(delta.includes('CAN-SKIP-UNTIL='), delta);
    // Parts and segments are immutable fMP4; the hinted part is served once it exists.
    const part = await fetch(`${server.base}/hls/demo/ll/${hint}`);
    eq(part.status, 200, 'hinted part');
    eq(part.headers.get('content-type'), 'video/mp4', 'part type');
    assert(/immutable/.test(part.headers.get('cache-control')), part.headers.get('cache-control'));
    const bytes = Buffer.from(await part.arrayBuffer());
    eq(bytes.subarray(4, 8).toString(), 'moof', 'a part begins with moof');
  });

  await report.must('Chromium starts', async () => { browser = await launchBrowser(); });

  await report.check('hls.js plays ll.m3u8 in low-latency mode: blocking reloads, parts, stamped pictures', async () => {
    const ctx = await browser.newContext(DESKTOP);
    const page = await ctx.newPage();
    const problems = watchPage(page, 'll');
    const requests = [];
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(`${server.base}/`);
    const r = await playAndReadStamps(page, '/hls/demo/ll.m3u8', { lowLatency: true, seconds: 14, everyMs: 100 });
    console.log(`     ll: first frame ${Math.round(r.firstFrameMs)} ms, glass-to-glass median ${Math.round(median(r.latencies))} ms over ${r.latencies.length} pictures, parts ${r.partDurations.map((d) => d.toFixed(3)).join(' ')}`);
    await page.screenshot({ path: path.join(out, 'll-playing.png') });
    assert(r.lowLatencyPlaylist, 'hls.js read a low-latency playlist (parts and CAN-BLOCK-RELOAD)');
    eq(r.errors.filter((e) => e.includes('fatal')).length, 0, `fatal hls.js errors: ${r.errors.join(', ')}`);
    assert(r.latencies.length >= 20, `stamped pictures read: ${r.latencies.length} (unreadable ${r.unreadable})`);
    // A stamp that fails its CRC is unreadable, not wrong: the publisher's
    // ultrafast encoder leaves some blocks of a stamp from the frame before
    // after a keyframe, more so on a busy machine. A garbled stream would
    // leave few readable.
    assert(r.unreadable <= 2 * r.latencies.length, `unreadable pictures: ${r.unreadable} of ${r.unreadable + r.latencies.length}`);
    assert(r.latencies.every((l) => l > 0 && l < 30000), `latencies out of range: ${r.latencies.slice(0, 5)}`);
    assert(requests.some((u) => /index\.m3u8\?.*_HLS_msn=\d+/.test(u)), 'blocking playlist reloads (_HLS_msn) were made');
    assert(requests.some((u) => /-p\d+\.m4s$/.test(u)), 'parts were fetched');
    for (const d of r.partDurations) assert(d <= 0.25 + 1e-3, `part longer than PART-TARGET: ${d}`);
    assert(problems.length === 0, problems.join('\n'));
    await ctx.close();
  });

  await report.check('plain HLS is unchanged beside it: TS renditions, no parts, no LL rendition in master.m3u8', async () => {
    const master = await (await fetch(`${server.base}/hls/demo/master.m3u8`)).text();
    assert(!master.includes('ll/index.m3u8'), `the LL rendition stays out of the plain master:\n${master}`);
    const media = await (await fetch(`${server.base}/hls/demo/source/index.m3u8`)).text();
    assert(!media.includes('#EXT-X-PART'), media);
    assert(/\.ts$/m.test(media), media);
    const ctx = await browser.newContext(DESKTOP);
    const page = await ctx.newPage();
    await page.goto(`${server.base}/`);
    const r = await playAndReadStamps(page, '/hls/demo/master.m3u8', { lowLatency: true, seconds: 10, settleSeconds: 3 });
    console.log(`     plain: glass-to-glass median ${Math.round(median(r.latencies))} ms over ${r.latencies.length} pictures`);
    assert(!r.lowLatencyPlaylist, 'the plain playlist is not low-latency');
    assert(r.latencies.length >= 10, `stamped pictures read: ${r.latencies.length}`);
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
}
process.exit(report.finish());
