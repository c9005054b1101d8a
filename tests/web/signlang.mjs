// Sign language end to end, in Debian's Chromium against a real jobcastd:
// the employer goes live from the studio (fake camera, at most 640×360, so
// the programme stays passthrough); the room's interpreter opens
// /interpret/{room}, starts interpreting (their camera is a solid blue
// picture) and is put on the stage's interpreter slot by their own token;
// a viewer on a phone sees the sign-language toggle appear (stage.changed),
// turns it on and plays the interpreter variant: by HLS (the player's source
// is the master's interpreter rendition, the picture is the 1280×720
// composite with blue in the interpreter's corner, and time advances) and by
// WHEP (?variant=interpreter, frames decoded); turning it off returns to the
// employer's own picture; when the interpreter stops, the toggle goes. The
// interpreter page has no critical or serious axe violation.
//
// Screenshots go to build/test-artifacts/signlang/.

import path from 'node:path';
import { createRequire } from 'node:module';
import { args, startServer, launchBrowser, watchPage, Report, assert, eq, PHONE, DESKTOP, artifactsDir, restClient } from './harness.mjs';

const opt = args();
const report = new Report('web_signlang');
const out = artifactsDir(path.join(opt.artifacts, 'signlang'));
const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
let server, browser;

const rest = restClient(() => server.base);

// What the viewer's player plays and shows: its source, the picture's size,
// whether the interpreter's corner of a 1280×720 composite is blue
// (media/stage_mixer.cpp: a quarter of the width, bottom left, 1/30 margin).
function picture(page) {
  return page.evaluate(() => {
    const v = document.querySelector('#video');
    const p = window.jobcastPlayer;
    const w = v.videoWidth, h = v.videoHeight;
    let corner = null;
    if (w && h) {
      const c = document.createElement('canvas');
      c.width = w; c.height = h;
      const g = c.getContext('2d', { willReadFrequently: true });
      g.drawImage(v, 0, 0, w, h);
      const m = Math.round(h / 30), tw = Math.round(w / 4), th = Math.round(tw * 9 / 16);
      const d = g.getImageData(m + Math.round(tw / 2), h - m - Math.round(th * 2 / 3), 1, 1).data;
      corner = [d[0], d[1], d[2]];
    }
    return { mode: p.mode, src: p.src, status: p.status, lastError: p.lastError, errors: p.errors, attempt: p.attempt, rs: v.readyState, err: v.error && v.error.message, width: w, height: h, time: v.currentTime, paused: v.paused, corner,
      blue: !!corner && corner[2] > 150 && corner[0] < 90 && corner[1] < 90 };
  });
}

async function advances(page, seconds, timeout) {
  const t0 = await page.evaluate(() => document.querySelector('#video').currentTime);
  try {
    await page.waitForFunction(([a, s]) => { const v = document.querySelector('#video'); return v.currentTime > a + s && v.videoWidth > 0 && !v.paused; }, [t0, seconds], { timeout, polling: 200 });
  } catch {
    throw new Error(`video did not advance ${seconds} s in ${timeout} ms: ${JSON.stringify(await picture(page))}`);
  }
}

// WHEP: frames the viewer's peer connection has decoded.
function whepFrames(page) {
  return page.evaluate(async () => {
    const pc = window.jobcastPlayer.whep && window.jobcastPlayer.whep.pc;
    if (!pc) return -1;
    let n = 0;
    (await pc.getStats()).forEach((s) => { if (s.type === 'inbound-rtp' && s.kind === 'video') n += s.framesDecoded || 0; });
    return n;
  });
}

async function until(page, fn, arg, what, timeout = 25000) {
  try {
    await page.waitForFunction(fn, arg, { timeout, polling: 250 });
  } catch {
    const p = await picture(page);
    let list = '';
    if (/m3u8/.test(p.src || '')) list = (await (await fetch(p.src)).text()).split('\n').slice(-12).join(' | ');
    throw new Error(`${what}: not in ${timeout} ms; ${JSON.stringify(p)} ${list}`);
  }
}

try {
  await report.must('jobcastd starts', async () => { server = await startServer(opt.jobcastd, { webClient: opt.webClient }); });
  await report.must('Chromium starts', async () => { browser = await launchBrowser(); });

  const admin = server.token('admin', 'ops', { rooms: ['*'], name: 'ops' });
  const emp = await rest('POST', '/employers', admin, { name: '草原乳业有限公司' });
  await rest('POST', `/employers/${emp.id}/verify`, admin, {});
  const roomId = (await rest('POST', '/rooms', admin, { title: '手语翻译专场', region_code: '150100', employer_id: emp.id,
    scheduled_at: Math.floor(Date.now() / 1000), interpreters: ['interp-1'] })).id;
  const employer = server.token('employer', emp.id, { rooms: [roomId], employer: emp.id, name: '草原乳业' });
  const interp = server.token('captioner', 'interp-1', { rooms: [roomId], name: '高娃' });
  const seeker = server.token('jobseeker', 'seeker-1', { rooms: [roomId], name: '其木格' });

  const studioCtx = await browser.newContext({ ...DESKTOP, permissions: ['camera', 'microphone'] });
  await studioCtx.addInitScript(() => {
    const md = navigator.mediaDevices;
    const open = md.getUserMedia.bind(md);
    md.getUserMedia = (c = {}) => open(c.video ? { ...c, video: { ...(typeof c.video === 'object' ? c.video : {}), width: { ideal: 640, max: 640 }, height: { ideal: 360, max: 360 } } } : c);
  });
  // The interpreter's camera: solid blue (a canvas), with the fake microphone.
  const interpCtx = await browser.newContext({ ...DESKTOP, bypassCSP: true, permissions: ['camera', 'microphone'] });
  await interpCtx.addInitScript(() => {
    const md = navigator.mediaDevices;
    const open = md.getUserMedia.bind(md);
    md.getUserMedia = async (c = {}) => {
      const audio = c.audio ? await open({ audio: c.audio }) : null;
      const canvas = document.createElement('canvas');
      canvas.width = 640; canvas.height = 360;
      const g = canvas.getContext('2d');
      let n = 0;
      setInterval(() => { g.fillStyle = '#0000ff'; g.fillRect(0, 0, 640, 360); g.fillStyle = '#0000fe'; g.fillRect(n++ % 600, 0, 4, 4); }, 40);
      const s = canvas.captureStream(25);
      if (audio) for (const tr of audio.getAudioTracks()) s.addTrack(tr);
      return s;
    };
  });
  const studio = await studioCtx.newPage();
  const interpreter = await interpCtx.newPage();
  const viewerCtx = await browser.newContext(PHONE);
  const viewer = await viewerCtx.newPage();
  const problems = [...watchPage(studio, 'studio'), ...watchPage(interpreter, 'interpret'), ...watchPage(viewer, 'viewer')];

  await report.must('the employer goes live from the studio; a phone viewer plays HLS and offers no sign-language toggle', async () => {
    await studio.goto(`${server.base}/studio/${roomId}#token=${employer}`);
    await studio.waitForFunction(() => document.querySelector('#preview').videoWidth > 0, null, { timeout: 10000 });
    await studio.click('#go-live');
    await studio.waitForSelector('#on-air.live', { timeout: 20000 });
    await viewer.goto(`${server.base}/room/${roomId}#token=${seeker}`);
    await advances(viewer, 1, 45000);
    assert(!(await viewer.isVisible('#interpreter')), 'no toggle without an interpreter');
    const p = await picture(viewer);
    assert(!/interpreter/.test(p.src), `main programme: ${p.src}`);
  });

  await report.must('the interpreter starts from /interpret/{room}: on the stage\'s interpreter slot, publishing', async () => {
    await interpreter.goto(`${server.base}/interpret/${roomId}#token=${interp}`);
    await interpreter.waitForFunction(() => !document.querySelector('#interpret-join').disabled, null, { timeout: 15000 });
    eq(await interpreter.inputValue('#stage-name'), '高娃', 'name from the token');
    await interpreter.click('#interpret-join');
    await interpreter.waitForFunction(() => window.jobcastInterpret.mine === 'on' || !document.querySelector('#stage-error').hidden, null, { timeout: 20000 });
    if (await interpreter.isVisible('#stage-error')) throw new Error(`refused: ${await interpreter.textContent('#stage-error')}`);
    eq(await interpreter.textContent('#interpret-status'), '你的手语画面正在播出', 'on-air status');
    assert(await interpreter.isVisible('#interpret-leave'), '"Stop interpreting" shown');
    const stage = await rest('GET', `/rooms/${roomId}/stage`);
    eq(stage.interpreter && stage.interpreter.sub, 'interp-1', `the stage names the interpreter: ${JSON.stringify(stage)}`);
    await interpreter.screenshot({ path: path.join(out, 'interpret-on-air.png'), fullPage: true });
  });

  await report.check('the interpreter page: no critical or serious axe violation', async () => {
    await interpreter.addScriptTag({ path: axePath });
    const v = await interpreter.evaluate(async () => (await window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] } }))
      .violations.map((x) => ({ id: x.id, impact: x.impact, nodes: x.nodes.slice(0, 3).map((n) => n.target.join(' ')) })));
    const by = { critical: 0, serious: 0, moderate: 0, minor: 0 };
    for (const x of v) by[x.impact]++;
    console.log(`axe interpret (on air, 1280): critical ${by.critical}, serious ${by.serious}, moderate ${by.moderate}, minor ${by.minor} ${v.map((x) => x.impact + ':' + x.id).join(', ')}`);
    const bad = v.filter((x) => x.impact === 'critical' || x.impact === 'serious');
    assert(bad.length === 0, JSON.stringify(bad));
  });

  await report.check('HLS: the viewer\'s toggle appears; on, it plays the interpreter rendition with the interpreter\'s picture; off, the main programme again', async () => {
    await viewer.waitForSelector('#interpreter', { state: 'visible', timeout: 10000 });
    const box = await viewer.evaluate(() => { const r = document.querySelector('#interpreter-box').getBoundingClientRect(); return { w: r.width, h: r.height }; });
    assert(box.h >= 44, `toggle is a tap target: ${JSON.stringify(box)}`);
    const before = await picture(viewer);
    assert(before.width < 1280 && !before.blue, `before: the employer alone: ${JSON.stringify(before)}`);
    await viewer.click('#interpreter');
    await until(viewer, () => /\/interpreter\/index\.m3u8/.test(window.jobcastPlayer.src) && document.querySelector('#video').videoWidth === 1280, null, 'interpreter rendition playing at 1280×720', 40000);
    await advances(viewer, 1, 20000);
    await until(viewer, () => {
      const v = document.querySelector('#video');
      const c = document.createElement('canvas'); c.width = 1280; c.height = 720;
      const g = c.getContext('2d'); g.drawImage(v, 0, 0, 1280, 720);
      const d = g.getImageData(184, 576, 1, 1).data;
      return d[2] > 150 && d[0] < 90 && d[1] < 90;
    }, null, 'blue in the interpreter corner');
    const on = await picture(viewer);
    assert(on.blue && on.mode === 'hls', `interpreter picture: ${JSON.stringify(on)}`);
    await viewer.screenshot({ path: path.join(out, 'viewer-hls-interpreter-phone.png') });
    await viewer.click('#interpreter');
    await until(viewer, () => !/interpreter/.test(window.jobcastPlayer.src) && document.querySelector('#video').videoWidth > 0 && document.querySelector('#video').videoWidth < 1280, null, 'main programme again');
    await advances(viewer, 1, 20000);
    const off = await picture(viewer);
    assert(!off.blue, `no interpreter in the main programme: ${JSON.stringify(off)}`);
  });

  await report.check('WHEP: with low latency, the toggle plays ?variant=interpreter (frames decoded, interpreter picture); off, the main programme', async () => {
    await viewer.click('#low-latency');
    await until(viewer, () => window.jobcastPlayer.mode === 'whep' && document.querySelector('#video').videoWidth > 0, null, 'WHEP main');
    const main = await picture(viewer);
    assert(!/variant=/.test(main.src) && main.width < 1280, `WHEP main programme: ${JSON.stringify(main)}`);
    await viewer.click('#interpreter');
    await until(viewer, () => /\?variant=interpreter$/.test(window.jobcastPlayer.src) && document.querySelector('#video').videoWidth === 1280, null, 'WHEP interpreter variant');
    const f0 = await whepFrames(viewer);
    await advances(viewer, 1, 15000);
    const f1 = await whepFrames(viewer);
    assert(f1 > f0 && f0 >= 0, `frames decoded: ${f0} -> ${f1}`);
    await until(viewer, () => {
      const v = document.querySelector('#video');
      const c = document.createElement('canvas'); c.width = 1280; c.height = 720;
      const g = c.getContext('2d'); g.drawImage(v, 0, 0, 1280, 720);
      const d = g.getImageData(184, 576, 1, 1).data;
      return d[2] > 150 && d[0] < 90 && d[1] < 90;
    }, null, 'blue in the WHEP interpreter corner');
    await viewer.screenshot({ path: path.join(out, 'viewer-whep-interpreter-phone.png') });
    await viewer.click('#interpreter');
    await until(viewer, () => window.jobcastPlayer.mode === 'whep' && !/variant=/.test(window.jobcastPlayer.src) && document.querySelector('#video').videoWidth > 0 && document.querySelector('#video').videoWidth < 1280, null, 'WHEP main again');
    await advances(viewer, 1, 15000);
    await viewer.click('#low-latency');
    await viewer.waitForFunction(() => window.jobcastPlayer.mode === 'hls', null, { timeout: 5000 });
  });

  await report.check('the interpreter stops: the stage has no interpreter and the viewer\'s toggle goes (while it was on: back to the main programme)', async () => {
    await viewer.click('#interpreter');
    await until(viewer, () => /\/interpreter\//.test(window.jobcastPlayer.src), null, 'interpreter again before the stop');
    await interpreter.click('#interpret-leave');
    await interpreter.waitForFunction(() => window.jobcastInterpret.mine === 'off', null, { timeout: 10000 });
    const stage = await rest('GET', `/rooms/${roomId}/stage`);
    assert(!stage.interpreter, `no interpreter: ${JSON.stringify(stage)}`);
    await viewer.waitForSelector('#interpreter-box', { state: 'hidden', timeout: 10000 });
    eq(await viewer.evaluate(() => document.querySelector('#interpreter').checked), false, 'toggle off');
    await until(viewer, () => !/interpreter/.test(window.jobcastPlayer.src), null, 'main programme after the interpreter left');
    await advances(viewer, 1, 30000);
  });

  await report.check('no page errors', async () => { assert(problems.length === 0, problems.join('\n')); });
} catch (e) {
  console.log(`stopped: ${e.message}`);
  if (!report.failed) report.failed++;
} finally {
  if (browser) await browser.close().catch(() => {});
  if (server) await server.stop();
}
process.exit(report.finish());
