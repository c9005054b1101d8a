// The one-to-one video interview in Debian's Chromium against a real
// jobcastd: a jobseeker on the viewer (phone, fake camera and microphone)
// queues, the employer on the studio (desktop) takes the next one, the
// jobseeker joins; both see and hear each other (getStats: inbound video
// frames decoded and audio packets received, on both sides); the jobseeker
// mutes (the employer's page says so); the jobseeker reloads the page mid-call
// and is back in the same call within the grace period; the employer ends it;
// the application's history (REST) has the interview with its duration, the
// application is at the interview step and the room's figures count it. Then
// a second call the jobseeker leaves (the tab navigates away) ends as dropped
// once the grace period has passed, and coming back says the call is over.
//
// --relay: the same through a coturn this test starts on loopback
// (use-auth-secret; the node mints the call's credentials from turn.urls and
// the shared secret), with both pages forced to relay-only ICE (?relay=1 ->
// iceTransportPolicy 'relay'): the selected candidate pair must be relay on
// both sides, so the TURN path is proven, not just the direct one.
//
// Screenshots go to build/test-artifacts/interview[-relay]/.

import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { args, startServer, launchBrowser, watchPage, Report, assert, eq, PHONE, DESKTOP, artifactsDir, restClient } from './harness.mjs';

const opt = args();
const relay = !!opt.relay;
const report = new Report(relay ? 'web_interview_relay' : 'web_interview');
const out = artifactsDir(path.join(opt.artifacts, relay ? 'interview-relay' : 'interview'));
const TURN_SECRET = 'interview-test-turn-secret-0123456789';
const GRACE_MS = 15000;
const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

// Critical and serious axe violations on the page as it is (the call's view).
async function axeSerious(page) {
  await page.addScriptTag({ path: axePath });
  return page.evaluate(async () => {
    const r = await window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] } });
    return r.violations.filter((v) => v.impact === 'critical' || v.impact === 'serious')
      .map((v) => `${v.id}: ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
  });
}
let server, browser, turn, turnDir;

const rest = restClient(() => server.base);

function freeUdpPort() {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

// coturn from Debian on loopback, in use-auth-secret mode; resolves once it listens.
async function startTurn(port) {
  turnDir = mkdtempSync(path.join(tmpdir(), 'jobcast-turn-'));
  const argv = ['-n', '--use-auth-secret', `--static-auth-secret=${TURN_SECRET}`, '--realm=jobcast.test',
    '--listening-ip=127.0.0.1', '--relay-ip=127.0.0.1', `--listening-port=${port}`,
    '--min-port=49152', '--max-port=65535', '--allow-loopback-peers', '--no-cli', '--no-tls', '--no-dtls',
    '--log-file=stdout', '--simple-log', `--pidfile=${path.join(turnDir, 'turn.pid')}`, '-b', path.join(turnDir, 'turndb')];
  const child = spawn('turnserver', argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (b) => { log += b; });
  child.stderr.on('data', (b) => { log += b; });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`turnserver did not start:\n${log}`)), 10000);
    const look = () => { if (/Total (UDP|General) servers|relay ports initialization/i.test(log)) { clearTimeout(timer); setTimeout(resolve, 500); } };
    child.stdout.on('data', look);
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`turnserver exited (${code}):\n${log}`)); });
  });
  return { child, log: () => log };
}

// Polls the page's call statistics until `pred` holds.
async function statsUntil(page, pred, what, timeoutMs = 30000) {
  const t0 = Date.now();
  let last = null;
  while (Date.now() - t0 < timeoutMs) {
    last = await page.evaluate(() => (window.jobcastCall ? window.jobcastCall.stats() : null));
    if (last && pred(last)) return last;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`${what}: not in ${timeoutMs} ms; last stats ${JSON.stringify(last)}`);
}

const seesAndHears = (s) => s.framesDecoded > 0 && s.audioPackets > 0 && (!relay || (s.localType === 'relay' && s.remoteType === 'relay'));

async function shot(page, name) {
  await page.screenshot({ path: path.join(out, `${name}.png`) });
}

try {
  let turnConfig = '';
  if (relay) {
    await report.must('coturn starts on loopback (use-auth-secret)', async () => {
      const port = await freeUdpPort();
      turn = await startTurn(port);
      turnConfig = `turn:\n  urls: ["turn:127.0.0.1:${port}?transport=udp"]\n  secret: "${TURN_SECRET}"\n  ttl_s: 600\n`;
    });
  }
  await report.must('jobcastd starts', async () => {
    server = await startServer(opt.jobcastd, { webClient: opt.webClient, config: `live:\n  queue_grace_ms: ${GRACE_MS}\n` + turnConfig });
  });
  await report.must('Chromium starts', async () => { browser = await launchBrowser(); });

  const admin = server.token('admin', 'ops', { rooms: ['*'], name: 'ops' });
  const emp = await rest('POST', '/employers', admin, { name: '草原乳业有限公司' });
  await rest('POST', `/employers/${emp.id}/verify`, admin, {});
  const roomId = (await rest('POST', '/rooms', admin, { title: '一对一视频面试', region_code: '150100', employer_id: emp.id, scheduled_at: Math.floor(Date.now() / 1000) })).id;
  const employer = server.token('employer', emp.id, { rooms: [roomId], employer: emp.id, name: '草原乳业' });
  const seeker = server.token('jobseeker', 'seeker-1', { rooms: [roomId], name: '其木格' });
  const job = await rest('POST', `/rooms/${roomId}/jobs`, employer, { title: '冷链司机', wage_min: 7000, wage_max: 9000, wage_unit: 'month', hours: '两班倒', location: '呼和浩特赛罕区', headcount: 5 });
  await rest('PUT', '/me/profile', seeker, { name: '其木格', phone: '13800138000', cv: 'C1 驾照，三年冷链经验' });
  const app = await rest('POST', `/rooms/${roomId}/jobs/${job.id}/apply`, seeker);
  const q = relay ? '?relay=1' : '';

  // bypassCSP: for axe-core's script only; the pages' own CSP is tested in web_pages.
  const studioCtx = await browser.newContext({ ...DESKTOP, bypassCSP: true, permissions: ['camera', 'microphone'] });
  const viewerCtx = await browser.newContext({ ...PHONE, bypassCSP: true, permissions: ['camera', 'microphone'] });
  const studio = await studioCtx.newPage();
  const viewer = await viewerCtx.newPage();
  const problems = [...watchPage(studio, 'studio'), ...watchPage(viewer, 'viewer')];

  await report.must('the jobseeker queues on the viewer and the employer takes the next one on the studio', async () => {
    await studio.goto(`${server.base}/studio/${roomId}${q}#token=${employer}`);
    await viewer.goto(`${server.base}/room/${roomId}${q}#token=${seeker}`);
    await studio.waitForFunction(() => window.jobcastLive && window.jobcastLive.state === 'open', null, { timeout: 10000 });
    await viewer.waitForFunction(() => window.jobcastViewerLive && window.jobcastViewerLive.state === 'open', null, { timeout: 10000 });
    await viewer.click('#tab-queue');
    await viewer.click('#queue-join');
    await studio.waitForFunction(() => /1/.test(document.querySelector('#queue-length').textContent), null, { timeout: 5000 });
    await studio.click('#take-next');
    await viewer.waitForSelector('#call-accept', { state: 'visible', timeout: 5000 });
    const box = await viewer.locator('#call-accept').boundingBox();
    assert(box.height >= 44, `join button is ${box.height} px high`);
    await shot(viewer, 'viewer-offer');
    await viewer.click('#call-accept');
  });

  let callId;
  await report.must('both see and hear each other (inbound video frames decoded, audio packets received)', async () => {
    const s1 = await statsUntil(studio, seesAndHears, 'studio receives video and audio');
    const s2 = await statsUntil(viewer, seesAndHears, 'viewer receives video and audio');
    console.log(`     studio ${JSON.stringify(s1)}\n     viewer ${JSON.stringify(s2)}`);
    // Offer and answer travel in one WebSocket frame each (live.max_frame_bytes, 8192 by default).
    const sizes = await studio.evaluate(() => [window.jobcastCall.pc.localDescription.sdp.length, window.jobcastCall.pc.remoteDescription.sdp.length]);
    console.log(`     offer ${sizes[0]} B, answer ${sizes[1]} B of SDP`);
    callId = await viewer.evaluate(() => window.jobcastCall.id);
    eq(await studio.evaluate(() => window.jobcastCall.id), callId, 'the same call on both pages');
  });

  if (relay) {
    await report.check('the selected candidate pair is relay on both sides, and the credentials are the call\'s', async () => {
      for (const page of [studio, viewer]) {
        const s = await page.evaluate(() => window.jobcastCall.stats());
        eq(s.localType, 'relay', 'local candidate');
        eq(s.remoteType, 'relay', 'remote candidate');
        const user = await page.evaluate(() => window.jobcastCall.iceServers[0].username);
        assert(new RegExp(`^\\d+:${callId}$`).test(user), `TURN username ${user}`);
      }
    });
  }

  await report.check('the viewer shows the call full screen on the phone, buttons at least 44 px; no serious axe violation on either page', async () => {
    const full = await viewer.locator('#call').boundingBox();
    eq(Math.round(full.width), PHONE.viewport.width, 'call width');
    eq(Math.round(full.height), PHONE.viewport.height, 'call height');
    for (const id of ['#call-mute', '#call-camera', '#call-audio-only', '#call-end']) {
      const b = await viewer.locator(id).boundingBox();
      assert(b && b.height >= 44 && b.width >= 44, `${id} is ${b && b.width}x${b && b.height}`);
    }
    await shot(viewer, 'viewer-call');
    await shot(studio, 'studio-call');
    for (const [name, page] of [['viewer', viewer], ['studio', studio]]) {
      const v = await axeSerious(page);
      eq(v.length, 0, `${name} in a call: axe ${v.join('; ')}`);
    }
    const beside = await studio.locator('#call-applicant').textContent();
    assert(beside.includes('其木格') && beside.includes('13800138000'), `the applicant's profile beside the call: ${beside}`);
  });

  await report.check('the jobseeker mutes: the studio says so; unmuted again', async () => {
    await viewer.click('#call-mute');
    eq(await viewer.getAttribute('#call-mute', 'aria-pressed'), 'true', 'pressed');
    await studio.waitForFunction(() => document.querySelector('#call-status').textContent.includes('对方已静音'), null, { timeout: 5000 });
    await viewer.click('#call-mute');
    await studio.waitForFunction(() => !document.querySelector('#call-status').textContent.includes('对方已静音'), null, { timeout: 5000 });
  });

  await report.check(`a reload mid-call rejoins the same call within the grace period (${GRACE_MS / 1000} s)`, async () => {
    const before = await studio.evaluate(() => window.jobcastCall.pcId);
    await viewer.reload();
    await viewer.waitForFunction(() => window.jobcastCall && window.jobcastCall.active, null, { timeout: 10000 });
    eq(await viewer.evaluate(() => window.jobcastCall.id), callId, 'the same call');
    // The studio offers a new peer connection to the returning jobseeker.
    await studio.waitForFunction((old) => window.jobcastCall.pcId !== old, before, { timeout: 10000 });
    await statsUntil(viewer, seesAndHears, 'viewer receives again after the reload');
    await statsUntil(studio, seesAndHears, 'studio receives again after the reload');
  });

  await report.check('the employer ends the call; both pages say so; the application\'s history has the interview with its duration', async () => {
    await new Promise((r) => setTimeout(r, 2000));
    await studio.click('#call-end');
    await viewer.waitForFunction(() => document.querySelector('#call').hidden && !document.querySelector('#call-result').hidden, null, { timeout: 10000 });
    const text = await viewer.textContent('#call-result');
    assert(text.includes('已完成'), `viewer result: ${text}`);
    await studio.waitForFunction(() => document.querySelector('#call').hidden, null, { timeout: 5000 });
    const mine = await rest('GET', '/me/applications', seeker);
    const a = mine.items.find((x) => x.id === app.id);
    eq(a.status, 'interview', 'the application is at the interview step');
    const entry = a.history.find((h) => h.interview && h.interview.call_id === callId);
    assert(entry, `history: ${JSON.stringify(a.history)}`);
    eq(entry.interview.outcome, 'completed', 'outcome');
    assert(entry.interview.duration_s >= 2, `duration ${entry.interview.duration_s} s`);
    assert(entry.interview.ended_at > entry.interview.started_at, 'ended after it started');
    const listed = await rest('GET', `/rooms/${roomId}/applications`, employer);
    assert(listed.items.some((x) => x.history.some((h) => h.interview && h.interview.call_id === callId)), 'the employer\'s list shows it');
    const figures = await rest('GET', `/rooms/${roomId}/figures`, employer);
    eq(figures.interviews.completed, 1, 'figures: completed interviews');
    assert(figures.interviews.seconds >= 2, 'figures: seconds');
    await shot(viewer, 'viewer-ended');
  });

  if (!relay) {
    await report.check(`a jobseeker who leaves mid-call and comes back after the grace period: the call has ended as dropped`, async () => {
      await viewer.click('#tab-queue');
      await viewer.click('#queue-join');
      await studio.waitForFunction(() => /1/.test(document.querySelector('#queue-length').textContent), null, { timeout: 5000 });
      await studio.click('#take-next');
      await viewer.waitForSelector('#call-accept', { state: 'visible', timeout: 5000 });
      await viewer.click('#call-accept');
      await statsUntil(studio, seesAndHears, 'studio receives video and audio');
      const second = await studio.evaluate(() => window.jobcastCall.id);
      const left = Date.now();
      await viewer.goto('about:blank');  // the same tab: it keeps the call's id
      await studio.waitForFunction(() => document.querySelector('#call').hidden && document.querySelector('#call-result').textContent.includes('连接中断'), null, { timeout: GRACE_MS + 15000 });
      assert(Date.now() - left >= GRACE_MS - 2000, `dropped ${Date.now() - left} ms after leaving, before the grace period`);
      await viewer.goto(`${server.base}/room/${roomId}${q}`);
      await viewer.waitForFunction(() => document.querySelector('#call-result').textContent.includes('这场面试已经结束'), null, { timeout: 10000 });
      assert(await viewer.evaluate(() => document.querySelector('#call').hidden), 'no call view');
      const a = (await rest('GET', '/me/applications', seeker)).items.find((x) => x.id === app.id);
      const entry = a.history.find((h) => h.interview && h.interview.call_id === second);
      eq(entry && entry.interview.outcome, 'dropped', 'the second call is in the history as dropped');
    });
  }

  await report.check('no page errors', async () => {
    eq(problems.length, 0, problems.join('\n'));
  });
} catch (err) {
  console.log(String(err && err.message));
  report.failed++;
} finally {
  if (browser) await browser.close().catch(() => {});
  if (server) await server.stop();
  if (turn && turn.child.exitCode == null) turn.child.kill('SIGTERM');
  if (turnDir) rmSync(turnDir, { recursive: true, force: true });
}
process.exit(report.finish());
