// The viewer in Firefox ESR (Debian's firefox-esr), driven over WebDriver
// BiDi by npm puppeteer-core, against a real jobcastd whose WHEP takes one
// viewer (whep.max_viewers: 1). The employer publishes from the studio in
// Chromium (fake camera). In Firefox:
//   1. the viewer page plays the room by HLS (hls.js over MSE): the video's
//      time advances and it has a picture;
//   2. low latency asked for, WHEP cannot play: Firefox ESR without the
//      OpenH264 plugin offers no H.264, so the node refuses the offer (400
//      unsupported_codec); were it accepted, the test strips the node's ICE
//      candidates from the answer (fault injection) so it never connects.
//      Either way the page falls back to HLS by itself and plays;
//   3. a Chromium WHEP viewer holds the node's one WHEP place; Firefox asks for
//      low latency: POST /whep answers 503 viewer_limit with the HLS hint, and
//      the page plays HLS at once, the low-latency switch off.
// A missing firefox-esr or puppeteer-core fails the test (never skipped).
//
// Screenshots go to build/test-artifacts/firefox/.

import path from 'node:path';
import { existsSync } from 'node:fs';
import { args, startServer, launchBrowser, watchPage, Report, assert, eq, PHONE, DESKTOP, artifactsDir, restClient } from './harness.mjs';

const FIREFOX = process.env.JOBCAST_FIREFOX || '/usr/bin/firefox-esr';
const opt = args();
const report = new Report('web_firefox');
const out = artifactsDir(path.join(opt.artifacts, 'firefox'));
let server, chromium, firefox;

const rest = restClient(() => server.base);

function state(page) {
  return page.evaluate(() => {
    const p = window.jobcastPlayer, v = document.querySelector('#video');
    return { mode: p && p.mode, src: p && p.src, status: p && p.status, fellBack: p && p.fellBack, lastError: p && p.lastError,
      time: v.currentTime, width: v.videoWidth, paused: v.paused, readyState: v.readyState,
      lowLatency: document.querySelector('#low-latency').checked, ua: navigator.userAgent };
  });
}

// The page's <video> time advances by `seconds` with a picture (puppeteer's waitForFunction polls).
async function advances(page, seconds, timeout) {
  const t0 = await page.evaluate(() => document.querySelector('#video').currentTime);
  try {
    await page.waitForFunction((a, s) => { const v = document.querySelector('#video'); return v.currentTime > a + s && v.videoWidth > 0 && !v.paused; },
      { timeout, polling: 250 }, t0, seconds);
  } catch {
    throw new Error(`video did not advance ${seconds} s in ${timeout} ms: ${JSON.stringify(await state(page))}`);
  }
}

async function firefoxPage(label) {
  const page = await firefox.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`${label}: uncaught ${e.message}`));
  await page.setViewport({ width: 390, height: 844 });
  return { page, problems };
}

try {
  await report.must('firefox-esr and puppeteer-core are installed', async () => {
    assert(existsSync(FIREFOX), `Firefox ESR is required at ${FIREFOX} (Debian package "firefox-esr"; deploy/install-deps.sh installs it)`);
  });
  let puppeteer;
  await report.must('puppeteer-core loads', async () => {
    try { ({ default: puppeteer } = await import('puppeteer-core')); } catch (e) {
      throw new Error(`puppeteer-core is missing: run deploy/web-deps.sh (npm ci): ${e.message}`);
    }
  });
  await report.must('jobcastd starts (WHEP takes one viewer)', async () => {
    server = await startServer(opt.jobcastd, { webClient: opt.webClient, config: 'whep:\n  max_viewers: 1\n' });
  });
  await report.must('Firefox ESR starts over WebDriver BiDi', async () => {
    firefox = await puppeteer.launch({
      browser: 'firefox', executablePath: FIREFOX, protocol: 'webDriverBiDi', headless: true,
      extraPrefsFirefox: { 'media.autoplay.default': 0, 'media.autoplay.blocking_policy': 0, 'intl.accept_languages': 'zh-CN, zh' },
    });
    console.log(`firefox: ${await firefox.version()}`);
  });
  await report.must('Chromium starts (the employer\'s studio)', async () => { chromium = await launchBrowser(); });

  const admin = server.token('admin', 'ops', { rooms: ['*'], name: 'ops' });
  const emp = await rest('POST', '/employers', admin, { name: '草原乳业有限公司' });
  await rest('POST', `/employers/${emp.id}/verify`, admin, {});
  const roomId = (await rest('POST', '/rooms', admin, { title: '火狐浏览器观看', region_code: '150100', employer_id: emp.id,
    scheduled_at: Math.floor(Date.now() / 1000) })).id;
  const employer = server.token('employer', emp.id, { rooms: [roomId], employer: emp.id, name: '草原乳业' });
  const seeker = server.token('jobseeker', 'seeker-1', { rooms: [roomId], name: '其木格' });

  const studioCtx = await chromium.newContext({ ...DESKTOP, permissions: ['camera', 'microphone'] });
  const studio = await studioCtx.newPage();
  const chromeProblems = watchPage(studio, 'studio');
  await report.must('the employer goes live from the studio (Chromium, fake camera)', async () => {
    await studio.goto(`${server.base}/studio/${roomId}#token=${employer}`);
    await studio.waitForFunction(() => document.querySelector('#preview').videoWidth > 0, null, { timeout: 10000 });
    await studio.click('#go-live');
    await studio.waitForSelector('#on-air.live', { timeout: 20000 });
  });

  const ffProblems = [];
  await report.check('Firefox plays the viewer page by HLS: time advances with a picture', async () => {
    const { page, problems } = await firefoxPage('firefox-hls');
    ffProblems.push(problems);
    await page.goto(`${server.base}/room/${roomId}#token=${seeker}`);
    await advances(page, 2, 45000);
    const s = await state(page);
    eq(s.mode, 'hls', 'HLS mode');
    assert(/Firefox\//.test(s.ua), `really Firefox: ${s.ua}`);
    assert(/\.m3u8/.test(s.src), `HLS source: ${s.src}`);
    await page.screenshot({ path: path.join(out, 'viewer-hls.png') });
    await page.close();
  });

  await report.check('Firefox: WHEP cannot play (refused offer, or no connection: candidates stripped): the page falls back to HLS and plays', async () => {
    const { page, problems } = await firefoxPage('firefox-whep-dead');
    ffProblems.push(problems);
    // Fault injection: the answer's candidates never reach ICE, so the
    // session can never connect.
    await page.evaluateOnNewDocument(() => {
      const set = RTCPeerConnection.prototype.setRemoteDescription;
      RTCPeerConnection.prototype.setRemoteDescription = function (d) {
        const sdp = d.sdp.split('\r\n').filter((l) => !l.startsWith('a=candidate:')).join('\r\n');
        return set.call(this, { type: d.type, sdp });
      };
    });
    await page.goto(`${server.base}/room/${roomId}?ll=1#token=${seeker}`);
    try {
      await page.waitForFunction(() => window.jobcastPlayer && window.jobcastPlayer.fellBack && window.jobcastPlayer.mode === 'hls', { timeout: 30000, polling: 250 });
    } catch { throw new Error(`no fallback to HLS: ${JSON.stringify(await state(page))}`); }
    await advances(page, 2, 45000);
    const s = await state(page);
    // Firefox ESR without the OpenH264 plugin offers no H.264 the node can
    // send: the node refuses the offer (400 unsupported_codec) before ICE;
    // with H.264, the stripped candidates keep it from connecting.
    assert(['whep_no_connection', 'whep_failed', 'unsupported_codec'].includes(s.fellBack), `fell back for a WHEP that cannot play: ${JSON.stringify(s)}`);
    console.log(`     WHEP in Firefox: ${s.fellBack}`);
    eq(s.lowLatency, false, 'low-latency switch off after the fallback');
    await page.close();
  });

  await report.check('Firefox: WHEP refused (503 viewer_limit with the HLS hint): the page plays HLS at once', async () => {
    // A Chromium viewer takes the node's only WHEP place.
    const ctx = await chromium.newContext(PHONE);
    const holder = await ctx.newPage();
    chromeProblems.push(...watchPage(holder, 'whep-holder'));
    await holder.goto(`${server.base}/room/${roomId}?ll=1`);
    await holder.waitForFunction(() => window.jobcastPlayer.mode === 'whep' && document.querySelector('#video').videoWidth > 0, null, { timeout: 20000 });
    // What the node answers now.
    const probe = await fetch(`${server.base}/whep/${roomId}`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: 'v=0\r\n' });
    const body = await probe.json();
    eq(probe.status, 503, `node full: ${JSON.stringify(body)}`);
    eq(body.error.code, 'viewer_limit', 'the code');
    assert(/master\.m3u8/.test(body.error.hls || ''), `the HLS hint: ${JSON.stringify(body)}`);

    const { page, problems } = await firefoxPage('firefox-whep-refused');
    ffProblems.push(problems);
    await page.goto(`${server.base}/room/${roomId}?ll=1#token=${seeker}`);
    await page.waitForFunction(() => window.jobcastPlayer && window.jobcastPlayer.fellBack === 'viewer_limit', { timeout: 15000, polling: 100 });
    await advances(page, 2, 45000);
    const s = await state(page);
    eq(s.mode, 'hls', 'HLS after the refusal');
    assert(/\/ll\.m3u8$/.test(s.src), `low-latency HLS carries on where WHEP gave way: ${s.src}`);
    eq(s.lowLatency, false, 'low-latency switch off');
    const notice = await page.evaluate(() => document.querySelector('#sr-status').textContent + document.querySelector('#sr-alert').textContent);
    assert(notice.includes('低延迟暂不可用'), `the page says so: ${notice}`);
    await page.screenshot({ path: path.join(out, 'viewer-whep-refused.png') });
    await page.close();
    await ctx.close();
  });

  await report.check('no page errors (Firefox and Chromium)', async () => {
    const all = [...ffProblems.flat(), ...chromeProblems];
    assert(all.length === 0, all.join('\n'));
  });
} catch (e) {
  console.log(`stopped: ${e.message}`);
  if (!report.failed) report.failed++;
} finally {
  if (firefox) await firefox.close().catch(() => {});
  if (chromium) await chromium.close().catch(() => {});
  if (server) await server.stop();
}
process.exit(report.finish());
