// A phone on a weak network (issue 14): Chromium throttled by the DevTools
// protocol to 400 kbit/s down and up with 400 ms of latency per request, the
// demo room of a real jobcastd --demo (its real ladder: 720p, 360p, packed
// audio-only). In auto the player moves to audio-only by itself, says so
// (a status region with a button), plays sound soon and then stalls little;
// the move is remembered for the tab; one tap brings the video back.
//
// Figures printed (bench/hls/RESULTS.md, "Weak network"): time to first sound
// from the player's first request, stall seconds per minute after the move,
// bytes received in the first 30 s and by the audio-only rendition in 30 s.
// JOBCAST_WEAK_MEASURE_S sets the stall measurement (default 60 s).
//
// The targets (first sound within 5 s, at most 5 s of stall a minute) are
// speed figures: the suite runs beside other tests on a shared machine, so
// here it checks that sound comes and keeps coming (30 s, 15 s a minute) and
// prints the figures; JOBCAST_WEAK_TARGETS=1 holds the run to the targets
// (bench/hls/RESULTS.md, "Weak network", is measured that way).

import path from 'node:path';
import { args, startServer, launchBrowser, watchPage, Report, assert, eq, PHONE, artifactsDir } from './harness.mjs';

const opt = args();
const report = new Report('web_weak_network');
const out = artifactsDir(path.join(opt.artifacts, 'weak-network'));
const MEASURE_S = Number(process.env.JOBCAST_WEAK_MEASURE_S || 60);
const TARGETS = process.env.JOBCAST_WEAK_TARGETS === '1';
const FIRST_SOUND_MS = TARGETS ? 5000 : 30000;
const STALL_S_PER_MIN = TARGETS ? 5 : 15;
const THROTTLE = { offline: false, latency: 400, downloadThroughput: 400000 / 8, uploadThroughput: 400000 / 8 };
let server, browser;

// Bytes received per request (headers and body as they came over the wire),
// with the node-clock time each finished.
function countBytes(cdp) {
  const urls = new Map();
  const done = [];
  cdp.on('Network.requestWillBeSent', (e) => urls.set(e.requestId, e.request.url));
  cdp.on('Network.loadingFinished', (e) => done.push({ url: urls.get(e.requestId) || '', bytes: e.encodedDataLength, at: Date.now() }));
  return done;
}

try {
  await report.must('jobcastd --demo starts and its room has HLS', async () => {
    server = await startServer(opt.jobcastd, { webClient: opt.webClient, extraArgs: ['--demo'] });
    const deadline = Date.now() + 30000;
    for (;;) {
      const r = await fetch(`${server.base}/hls/demo/master.m3u8`);
      if (r.ok && (await r.text()).includes('audio/index.m3u8')) break;
      assert(Date.now() < deadline, 'no master playlist with the audio-only variant in 30 s');
      await new Promise((res) => setTimeout(res, 500));
    }
  });
  await report.must('Chromium starts', async () => { browser = await launchBrowser(); });
  const ctx = await browser.newContext(PHONE);
  const page = await ctx.newPage();
  const problems = watchPage(page, 'viewer');
  const cdp = await ctx.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: false });
  const finished = countBytes(cdp);

  // The page's files first, unthrottled (a returning phone has them cached);
  // then the network turns weak and the player starts from nothing.
  let masterAt = 0;
  let navigatedAt = 0;
  await report.must('the viewer opens on a 400 kbit/s, 400 ms network', async () => {
    await page.goto(`${server.base}/room/demo`);
    await page.waitForFunction(() => window.jobcastPlayer && window.jobcastPlayer.mode === 'hls', null, { timeout: 10000 });
    await page.evaluate(() => window.jobcastPlayer.stop());
    await cdp.send('Network.emulateNetworkConditions', THROTTLE);
    page.on('request', (r) => { if (!masterAt && r.url().endsWith('/hls/demo/master.m3u8')) masterAt = Date.now(); });
    navigatedAt = Date.now();
    await page.evaluate(() => { window.jobcastPlayer.attempt = 0; window.jobcastPlayer.playHls('demo'); });
  });

  let firstSoundMs = 0;
  await report.check(`sound within ${FIRST_SOUND_MS / 1000} s of the player starting`, async () => {
    await page.waitForFunction(() => {
      const v = document.querySelector('#video');
      if (!window.__firstSound && v.currentTime > 0 && !v.paused && v.webkitAudioDecodedByteCount > 0) window.__firstSound = performance.now();
      return !!window.__firstSound;
    }, null, { timeout: FIRST_SOUND_MS + 5000, polling: 100 });
    firstSoundMs = Date.now() - (masterAt || navigatedAt);
    console.log(`figure: first sound ${firstSoundMs} ms after the master playlist request`);
    assert(firstSoundMs <= FIRST_SOUND_MS, `first sound after ${firstSoundMs} ms`);
  });

  let switchedAt = 0;
  await report.must('the player moves to audio-only by itself and says so', async () => {
    await page.waitForFunction(() => window.jobcastPlayer.weakAudio === true, null, { timeout: 40000, polling: 200 });
    switchedAt = Date.now();
    const why = await page.evaluate(() => ({ reason: window.jobcastPlayer.weakReason, src: window.jobcastPlayer.src, at: window.jobcastPlayer.weakAt, sound: window.__firstSound }));
    console.log(`figure: moved to audio-only ${Math.round(why.sound - why.at)} ms before the first sound (${why.reason})`);
    assert(why.at < why.sound, 'the first sound came from the audio-only rendition');
    assert(/\/hls\/demo\/audio\/index\.m3u8$/.test(why.src), `plays ${why.src}`);
    const notice = await page.evaluate(() => {
      const p = document.querySelector('#weak-network-text');
      const b = document.querySelector('#back-to-video');
      const box = p.getBoundingClientRect();
      return { text: p.textContent, role: p.getAttribute('role'), live: p.getAttribute('aria-live'), shown: box.height > 0 && box.width > 0, button: !b.hidden && b.getBoundingClientRect().height >= 44 };
    });
    assert(notice.text.includes('仅声音'), `notice: ${notice.text}`);
    eq(notice.role, 'status', 'notice role');
    eq(notice.live, 'polite', 'notice aria-live');
    assert(notice.shown, 'notice visible');
    assert(notice.button, 'back-to-video button visible and at least 44 px high');
    await page.screenshot({ path: path.join(out, 'audio-only-notice.png'), fullPage: true });
  });

  await report.check(`after the move, at most ${STALL_S_PER_MIN} s of stall per minute (measured over ${MEASURE_S} s)`, async () => {
    // Counted in the page every 250 ms: time the media clock did not move
    // while the element was not paused.
    await page.evaluate(() => {
      const v = document.querySelector('#video');
      window.__stall = { ms: 0, since: performance.now(), last: v.currentTime, at: performance.now() };
      window.__stallTimer = setInterval(() => {
        const s = window.__stall;
        const now = performance.now();
        if (!v.paused && v.currentTime === s.last) s.ms += now - s.at;
        s.last = v.currentTime;
        s.at = now;
      }, 250);
    });
    const from = Date.now();
    await page.waitForTimeout(MEASURE_S * 1000);
    const s = await page.evaluate(() => { clearInterval(window.__stallTimer); return { ms: window.__stall.ms, span: performance.now() - window.__stall.since }; });
    const perMinute = s.ms / 1000 * 60000 / s.span;
    const audioBytes = finished.filter((f) => f.at >= from && f.at < from + 30000 && /\/hls\/demo\/audio\//.test(f.url)).reduce((n, f) => n + f.bytes, 0);
    const firstBytes = finished.filter((f) => f.at >= (masterAt || navigatedAt) && f.at < (masterAt || navigatedAt) + 30000 && /\/hls\//.test(f.url)).reduce((n, f) => n + f.bytes, 0);
    console.log(`figure: stalled ${(s.ms / 1000).toFixed(1)} s in ${(s.span / 1000).toFixed(0)} s after the move = ${perMinute.toFixed(1)} s/min`);
    console.log(`figure: audio-only rendition received ${audioBytes} bytes in 30 s = ${(audioBytes * 8 / 30 / 1000).toFixed(1)} kbit/s (segments + playlists, with headers)`);
    console.log(`figure: HLS bytes in the first 30 s from the player's start: ${firstBytes}`);
    assert(perMinute <= STALL_S_PER_MIN, `${perMinute.toFixed(1)} s of stall per minute`);
    assert(audioBytes * 8 / 30 <= 64000, `audio-only at ${(audioBytes * 8 / 30).toFixed(0)} bit/s`);
    const t = await page.evaluate(() => document.querySelector('#video').currentTime);
    assert(t > MEASURE_S / 2, `media time ${t}`);
  });

  await report.check('the move is remembered for the tab: a reload starts audio-only', async () => {
    const video = [];
    const onReq = (r) => { if (/\/hls\/demo\/(source|360p)\//.test(r.url())) video.push(r.url()); };
    page.on('request', onReq);
    await page.reload();
    await page.waitForFunction(() => window.jobcastPlayer && window.jobcastPlayer.weakAudio === true && document.querySelector('#video').currentTime > 0, null, { timeout: 30000, polling: 200 });
    page.off('request', onReq);
    eq(video.length, 0, `video requests after the reload: ${video.slice(0, 3).join(', ')}`);
    assert((await page.textContent('#weak-network-text')).includes('仅声音'), 'notice shown again');
  });

  await report.check('one tap brings the video back (and the network back, it plays)', async () => {
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    await page.click('#back-to-video');
    await page.waitForFunction(() => {
      const p = window.jobcastPlayer;
      const v = document.querySelector('#video');
      return !p.weakAudio && /master\.m3u8$/.test(p.src) && v.videoWidth > 0 && v.currentTime > 1;
    }, null, { timeout: 30000, polling: 200 });
    eq(await page.textContent('#weak-network-text'), '', 'notice cleared');
    assert(await page.evaluate(() => document.querySelector('#back-to-video').hidden), 'button hidden');
    eq(await page.evaluate(() => sessionStorage.getItem('jobcast.weakNetwork')), 'video', 'the choice is kept for the tab');
    assert(problems.length === 0, problems.join('\n'));
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
