// The end-to-end journey of issue 7, in Debian's Chromium against a real
// jobcastd: the employer goes live from the studio with the fake camera; a
// viewer on a phone plays HLS (time advances) and WHEP; the employer pins a
// job; the viewer sees it and applies (profile form the first time); the
// studio shows the application within 2 s; the viewer asks, the counsellor
// answers, the viewer sees the answer; a muted viewer's chat is refused with a
// visible message; the counsellor joins the stage from the console with the
// fake camera, the viewer sees the 1280×720 composite, and the employer's own
// picture again once the counsellor leaves. Screenshots of the three pages at
// phone and desktop sizes go to build/test-artifacts/journey/; first-frame
// times to web-metrics.json.
//
// --with whip,hls,whep names the media endpoints this tree has (tests/web/
// CMakeLists.txt derives it from the sources, so once an endpoint is in the
// tree its steps are required). Without whip the room is started by REST.
// "stage" (the counsellor joins the stage from the console) is among them
// once the tree has the stage mixer.

import { networkInterfaces } from 'node:os';
import path from 'node:path';
import { writeFileSync } from 'node:fs';
import { args, startServer, launchBrowser, watchPage, Report, assert, eq, PHONE, DESKTOP, artifactsDir } from './harness.mjs';

const opt = args();
const has = new Set((typeof opt.with === 'string' ? opt.with : '').split(',').filter(Boolean));
console.log(`media endpoints in this tree: ${[...has].join(', ') || 'none'}`);
const report = new Report('web_journey');
const out = artifactsDir(path.join(opt.artifacts, 'journey'));
const metrics = {};
let server, browser;

async function rest(method, url, token, body) {
  const res = await fetch(server.base + '/api/v1' + url, {
    method,
    headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
  if (!res.ok) throw new Error(`${method} ${url} -> ${res.status} ${text}`);
  return data;
}

// Waits until the page's <video> plays: time advances by `seconds` and it has a picture.
async function videoAdvances(page, seconds, timeout) {
  const start = await page.evaluate(() => document.querySelector('#video').currentTime);
  try {
    await page.waitForFunction(([t0, s]) => {
      const v = document.querySelector('#video');
      return v.currentTime > t0 + s && v.videoWidth > 0 && !v.paused;
    }, [start, seconds], { timeout, polling: 200 });
  } catch (e) {
    const why = await page.evaluate(() => {
      const p = window.jobcastPlayer, v = document.querySelector('#video');
      return { mode: p.mode, status: p.status, lastError: p.lastError, level: p.hls && p.hls.currentLevel,
        url: p.hls && p.hls.url, time: v.currentTime, readyState: v.readyState, paused: v.paused, width: v.videoWidth };
    });
    throw new Error(`video did not advance ${seconds} s in ${timeout} ms: ${JSON.stringify(why)}`);
  }
}

// A rendition's live playlist as the node serves it: media sequence and segment durations.
async function playlist(room, rendition) {
  const text = await (await fetch(`${server.base}/hls/${encodeURIComponent(room)}/${rendition}/index.m3u8`)).text();
  const seq = Number((text.match(/#EXT-X-MEDIA-SEQUENCE:(\d+)/) || [])[1]);
  const durations = [...text.matchAll(/#EXTINF:([\d.]+)/g)].map((m) => Number(m[1]));
  return { seq, durations, text };
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(out, `${name}.png`), fullPage: true });
}

try {
  // JOBCAST_WHEP_ENGINE: the WHEP engine (default: the node's, udp, with a
  // candidate on every interface); with it, the udp engine's candidate at
  // JOBCAST_WHEP_PUBLIC_ADDRESS or else this machine's first non-loopback
  // IPv4 address (Chromium gathers no loopback candidates).
  const whepEngine = process.env.JOBCAST_WHEP_ENGINE;
  const whepAddress = process.env.JOBCAST_WHEP_PUBLIC_ADDRESS ||
    Object.values(networkInterfaces()).flat().find((a) => a.family === 'IPv4' && !a.internal)?.address;
  const config = whepEngine
    ? `whep:\n  engine: ${whepEngine}\n` + (whepAddress ? `  public_address: "${whepAddress}"\n` : '')
    : '';
  await report.must('jobcastd starts', async () => { server = await startServer(opt.jobcastd, { webClient: opt.webClient, config }); });
  await report.must('Chromium starts', async () => { browser = await launchBrowser(); });

  // ---- the room, as an administrator sets it up
  const admin = server.token('admin', 'ops', { rooms: ['*'], name: 'ops' });
  let employerId, roomId, jobs = [];
  await report.must('admin creates and verifies an employer and schedules a room', async () => {
    const emp = await rest('POST', '/employers', admin, { name: '草原乳业有限公司' });
    employerId = emp.id;
    await rest('POST', `/employers/${encodeURIComponent(employerId)}/verify`, admin, {});
    const room = await rest('POST', '/rooms', admin, {
      title: '呼和浩特春季招聘直播', region_code: '150100', employer_id: employerId,
      scheduled_at: Math.floor(Date.now() / 1000), counsellors: ['counsellor-1'], captioners: ['captioner-1'],
    });
    roomId = room.id;
    assert(roomId, 'room id');
  });
  const employer = server.token('employer', employerId, { rooms: [roomId], employer: employerId, name: '草原乳业' });
  const counsellor = server.token('counsellor', 'counsellor-1', { rooms: [roomId], name: '王老师' });
  const seeker = server.token('jobseeker', 'seeker-1', { rooms: [roomId], name: '其木格' });
  const muted = server.token('jobseeker', 'seeker-2', { rooms: [roomId], name: '巴特尔' });

  await report.must('employer adds job cards', async () => {
    for (const j of [
      { title: '奶粉包装工', wage_min: 4500, wage_max: 6000, wage_unit: 'month', hours: '8:00-17:00，月休4天', location: '呼和浩特金川开发区', housing: '提供宿舍', headcount: 30, description: '流水线包装，岗前培训', contract_template_url: '/contracts/labour-2024.pdf' },
      { title: '冷链司机', wage_min: 7000, wage_max: 9000, wage_unit: 'month', hours: '两班倒', location: '呼和浩特赛罕区', housing: '包住', headcount: 5 },
    ]) jobs.push(await rest('POST', `/rooms/${roomId}/jobs`, employer, j));
    eq(jobs.length, 2, 'jobs created');
  });

  // ---- studio: go live from the fake camera
  const studioCtx = await browser.newContext({ ...DESKTOP, permissions: ['camera', 'microphone'] });
  // The employer's camera gives at most 640×360, so the programme's picture
  // tells the employer alone (passthrough) from the 1280×720 composite.
  await studioCtx.addInitScript(() => {
    const md = navigator.mediaDevices;
    const open = md.getUserMedia.bind(md);
    md.getUserMedia = (c = {}) => open(c.video ? { ...c, video: { ...(typeof c.video === 'object' ? c.video : {}), width: { ideal: 640, max: 640 }, height: { ideal: 360, max: 360 } } } : c);
  });
  const studio = await studioCtx.newPage();
  const studioProblems = watchPage(studio, 'studio');
  if (!has.has('whip')) {
    await report.must('employer opens the studio; the room is started (no WHIP endpoint in this tree)', async () => {
      await studio.goto(`${server.base}/studio/${roomId}#token=${employer}`);
      await rest('POST', `/rooms/${roomId}/start`, employer, {});
      await studio.waitForFunction(() => window.jobcastLive && window.jobcastLive.state === 'open', null, { timeout: 10000 });
    });
  } else await report.must('employer opens the studio and goes live from the fake camera (WHIP)', async () => {
    await studio.goto(`${server.base}/studio/${roomId}#token=${employer}`);
    await studio.waitForFunction(() => { const v = document.querySelector('#preview'); return v.videoWidth > 0; }, null, { timeout: 10000 });
    await studio.click('#go-live');
    await studio.waitForSelector('#on-air.live', { timeout: 20000 });
    const room = await rest('GET', `/rooms/${roomId}`);
    eq(room.status, 'live', 'room status after Go live');
  });

  // ---- viewer on a phone
  const viewerCtx = await browser.newContext(PHONE);
  const viewer = await viewerCtx.newPage();
  const viewerProblems = watchPage(viewer, 'viewer');
  if (!has.has('hls')) {
    await report.must('viewer (360×640) opens the room', async () => {
      await viewer.goto(`${server.base}/room/${roomId}#token=${seeker}`);
      await viewer.waitForFunction(() => document.body.dataset.live === 'open', null, { timeout: 10000 });
    });
  } else await report.must('viewer (360×640) plays the HLS stream: the video time advances', async () => {
    const t0 = Date.now();
    await viewer.goto(`${server.base}/room/${roomId}#token=${seeker}`);
    await videoAdvances(viewer, 2, 45000);
    metrics.hls_first_frame_ms = await viewer.evaluate(() => window.jobcastPlayer.metrics.ttff.hls);
    metrics.hls_playing_after_load_ms = Date.now() - t0;
    const q = await viewer.$$eval('#quality option', (o) => o.map((x) => x.value));
    assert(q.includes('audio'), `audio-only in the quality menu: ${q}`);
  });

  if (has.has('whep')) await report.check('viewer switches to low latency and plays the WHEP stream', async () => {
    await viewer.click('#low-latency');
    await viewer.waitForFunction(() => window.jobcastPlayer.mode === 'whep' && document.querySelector('#video').srcObject, null, { timeout: 10000 });
    await videoAdvances(viewer, 1, 20000);
    metrics.whep_first_frame_ms = await viewer.evaluate(() => window.jobcastPlayer.metrics.ttff.whep);
    await viewer.click('#low-latency');  // back to HLS for the rest of the journey
    await viewer.waitForFunction(() => window.jobcastPlayer.mode === 'hls', null, { timeout: 5000 });
  });

  // ---- pin, see, apply
  const job = jobs[0];
  await report.must('employer pins a job in the studio; the viewer sees it', async () => {
    await studio.click(`#jobs button.pin[data-job="${job.id}"]`);
    await viewer.waitForFunction((title) => {
      const p = document.querySelector('#pinned');
      return p && !p.hidden && p.textContent.includes(title);
    }, job.title, { timeout: 5000 });
    const text = await viewer.textContent('#pinned');
    assert(text.includes('4,500') || text.includes('4500'), `wage shown: ${text}`);
    assert(text.includes('提供宿舍'), 'housing shown');
  });

  await report.must('viewer applies (profile form the first time); the studio shows the application within 2 s', async () => {
    await viewer.click('#pinned button.apply');
    await viewer.waitForSelector('#profile-dialog[open]', { timeout: 5000 });
    await viewer.fill('#p-name', '其木格');
    await viewer.fill('#p-phone', '13800471234');
    await viewer.fill('#p-cv', '两年食品厂包装经验，能倒班。');
    await viewer.selectOption('#p-keygroup', 'rural_migrant_worker');
    await viewer.click('#profile-save');
    // Chose a key group without consent: refused with a message, nothing sent.
    const err = await viewer.textContent('#profile-error');
    assert(err.length > 0, 'consent message');
    await viewer.check('#p-consent');
    const t0 = Date.now();
    await viewer.click('#profile-save');
    await viewer.waitForSelector(`#pinned button.apply[aria-pressed="true"]`, { timeout: 5000 });
    const tApplied = Date.now();
    await studio.waitForFunction(() => [...document.querySelectorAll('#applications .app-name')].some((e) => e.textContent.includes('其木格')), null, { timeout: 2000, polling: 50 });
    metrics.application_to_studio_ms = Date.now() - tApplied;
    metrics.apply_click_to_studio_ms = Date.now() - t0;
    const row = await studio.textContent('#applications');
    assert(row.includes('13800471234'), 'phone shown to the employer');
    // The key group was consented for the service's counts, not shared with employers.
    eq(await studio.$$eval('#applications .badge', (l) => l.length), 0, 'key groups shown to the employer');
  });

  await report.check('applied state survives a reload; all jobs are listed; the next apply is one tap', async () => {
    await viewer.reload();
    await viewer.waitForSelector(`#pinned button.apply[aria-pressed="true"]`, { timeout: 10000 });
    const n = await viewer.$$eval('#jobs-list > li', (l) => l.length);
    eq(n, 2, 'jobs in the list');
    await viewer.click(`#jobs-list button.apply[data-job="${jobs[1].id}"]`);
    await viewer.waitForSelector(`#jobs-list button.apply[data-job="${jobs[1].id}"][aria-pressed="true"]`, { timeout: 5000 });
    assert(!(await viewer.isVisible('#profile-dialog')), 'no profile form the second time');
    await studio.waitForFunction(() => document.querySelectorAll('#applications li[data-app]').length === 2, null, { timeout: 2000 });
  });

  await report.check('employer changes the application status', async () => {
    const sel = '#applications li[data-app] select.status';
    const appId = await studio.getAttribute(sel, 'data-app');
    await studio.selectOption(sel, 'viewed');
    await studio.waitForTimeout(500);
    const apps = await rest('GET', `/rooms/${roomId}/applications`, employer);
    eq(apps.items.find((a) => a.id === appId).status, 'viewed', 'status stored');
  });

  // ---- Q&A with the counsellor
  const consoleCtx = await browser.newContext({ ...DESKTOP, permissions: ['camera', 'microphone'] });
  const cons = await consoleCtx.newPage();
  const consoleProblems = watchPage(cons, 'console');
  await report.must('counsellor opens the console', async () => {
    await cons.goto(`${server.base}/console/${roomId}#token=${counsellor}`);
    await cons.waitForFunction(() => window.jobcastLive && window.jobcastLive.state === 'open', null, { timeout: 10000 });
  });

  await report.check('a counsellor of another room is refused the stage: the console says why in its language and keeps nothing', async () => {
    const other = server.token('counsellor', 'counsellor-9', { rooms: ['another-room'], name: '李老师' });
    const ctx = await browser.newContext({ ...DESKTOP, permissions: ['camera', 'microphone'] });
    const p = await ctx.newPage();
    const problems = watchPage(p, 'console (other room)');
    await p.goto(`${server.base}/console/${roomId}#token=${other}`);
    await p.waitForFunction(() => !document.querySelector('#stage-join').disabled, null, { timeout: 10000 });
    eq(await p.inputValue('#stage-name'), '李老师', 'stage name from the token');
    await p.click('#stage-join');
    await p.waitForSelector('#stage-error:not([hidden])', { timeout: 10000 });
    const text = await p.textContent('#stage-error');
    assert(text.includes('没有上台的权限') && text.includes('没有权限'), `403 explained in Chinese: ${text}`);
    assert(!/[A-Za-z]{4,}/.test(text), `no English server message inside the Chinese page: ${text}`);
    eq(await p.getAttribute('#stage-error', 'role'), 'alert', 'the error is an alert');
    assert(await p.isVisible('#stage-join') && !(await p.isVisible('#stage-leave')), 'still off stage');
    assert(!(await p.isVisible('#self-box')), 'camera closed again');
    const stage = await rest('GET', `/rooms/${roomId}/stage`);
    assert(!(stage.guests || []).some((g) => g.sub === 'counsellor-9'), `not on the stage: ${JSON.stringify(stage)}`);
    assert(problems.length === 0, problems.join('\n'));
    await ctx.close();
  });

  await report.check('viewer asks a question; the counsellor answers it; the viewer sees the answer', async () => {
    const question = '宿舍几人一间？有没有热水？';
    const answer = '四人一间，24小时热水。';
    await viewer.click('#tab-qa');
    await viewer.fill('#qa-input', question);
    await viewer.click('#qa-form button[type=submit]');
    await cons.waitForFunction((q) => document.querySelector('#questions').textContent.includes(q), question, { timeout: 5000 });
    const form = cons.locator('#questions form.answer-form').first();
    await form.locator('input').fill(answer);
    await form.locator('button').click();
    await viewer.waitForFunction((a) => [...document.querySelectorAll('#qa-list .answer-text')].some((e) => e.textContent.includes(a)), answer, { timeout: 5000 });
  });

  await report.check('a muted viewer\'s chat is refused with a visible message', async () => {
    const mutedCtx = await browser.newContext(PHONE);
    const mv = await mutedCtx.newPage();
    await mv.goto(`${server.base}/room/${roomId}#token=${muted}`);
    await mv.waitForFunction(() => document.body.dataset.live === 'open', null, { timeout: 10000 });
    await mv.click('#tab-chat');
    await mv.fill('#chat-input', '你好，请问还招人吗？');
    await mv.click('#chat-form button[type=submit]');
    await cons.waitForSelector('#chat li[data-user="seeker-2"] button.mod-mute', { timeout: 5000 });
    await cons.click('#chat li[data-user="seeker-2"] button.mod-mute');
    await mv.waitForTimeout(300);
    await mv.fill('#chat-input', '为什么不回答？');
    await mv.click('#chat-form button[type=submit]');
    await mv.waitForSelector('#chat-notice:not([hidden])', { timeout: 5000 });
    const notice = await mv.textContent('#chat-notice');
    assert(notice.includes('禁言'), `muted message shown: ${notice}`);
    assert(await mv.isVisible('#chat-notice'), 'notice visible');
    await shot(mv, 'viewer-muted-phone');
    // Deleting the message keeps its author's mute, kick and ban buttons; the
    // ban asks first, and "cancel" bans nobody.
    await cons.click('#chat li[data-user="seeker-2"] button.mod-delete');
    await cons.waitForFunction(() => document.querySelector('#chat li[data-user="seeker-2"]').textContent.includes('消息已被删除'), null, { timeout: 5000 });
    for (const b of ['mod-mute', 'mod-kick', 'mod-ban']) {
      assert(await cons.isVisible(`#chat li[data-user="seeker-2"] button.${b}`), `${b} stays after the delete`);
    }
    await cons.click('#chat li[data-user="seeker-2"] button.mod-ban');
    await cons.waitForSelector('#confirm-dialog[open]', { timeout: 5000 });
    await cons.click('#confirm-no');
    await cons.waitForSelector('#confirm-dialog', { state: 'detached', timeout: 5000 });
    assert(await mv.evaluate(() => document.body.dataset.live === 'open'), 'cancelled ban leaves the viewer connected');
    await mutedCtx.close();
  });

  await report.check('counsellor pins a chat message; a viewer joining later sees it; the console opened late shows the chat', async () => {
    await viewer.click('#tab-chat');
    await viewer.fill('#chat-input', '请问包住宿吗？');
    await viewer.click('#chat-form button[type=submit]');
    const line = '#chat li:has-text("请问包住宿吗") button.mod-pin';
    await cons.waitForSelector(line, { timeout: 5000 });
    await cons.click(line);
    await viewer.waitForFunction(() => { const p = document.querySelector('#chat-pinned'); return !p.hidden && p.textContent.includes('包住宿'); }, null, { timeout: 5000 });
    const lateCtx = await browser.newContext(PHONE);
    const late = await lateCtx.newPage();
    await late.goto(`${server.base}/room/${roomId}`);
    await late.waitForFunction(() => { const p = document.querySelector('#chat-pinned'); return !p.hidden && p.textContent.includes('包住宿'); }, null, { timeout: 10000 });
    await late.waitForFunction(() => document.querySelector('#chat-list').textContent.includes('请问包住宿吗'), null, { timeout: 5000 });
    await lateCtx.close();
    const lateConsCtx = await browser.newContext(DESKTOP);
    const lateCons = await lateConsCtx.newPage();
    await lateCons.goto(`${server.base}/console/${roomId}#token=${counsellor}`);
    await lateCons.waitForFunction(() => document.querySelector('#chat').textContent.includes('请问包住宿吗'), null, { timeout: 10000 });
    await lateCons.waitForFunction(() => !document.querySelector('#chat-pinned').hidden, null, { timeout: 5000 });
    await lateConsCtx.close();
  });

  await report.check('counsellor shows a policy card; the viewer sees it', async () => {
    await cons.fill('#card-form input[name=title]', '高校毕业生就业补贴');
    await cons.fill('#card-form textarea[name=body]', '签订一年以上劳动合同的，可申请一次性吸纳就业补贴。');
    await cons.click('#card-form button[type=submit]');
    await viewer.waitForFunction(() => { const c = document.querySelector('#card-shown'); return !c.hidden && c.textContent.includes('就业补贴'); }, null, { timeout: 5000 });
    await cons.click('#card-hide');
    await viewer.waitForFunction(() => document.querySelector('#card-shown').hidden, null, { timeout: 5000 });
  });

  await report.check('viewer queues for an interview and sees the position; the studio takes next; the viewer gets the offer', async () => {
    await viewer.click('#tab-queue');
    await viewer.click('#queue-join');
    await viewer.waitForFunction(() => /1/.test(document.querySelector('#queue-status').textContent) && !document.querySelector('#queue-leave').hidden, null, { timeout: 5000 });
    await studio.waitForFunction(() => /1/.test(document.querySelector('#queue-length').textContent), null, { timeout: 5000 });
    await studio.click('#take-next');
    await studio.waitForFunction(() => document.querySelector('#offer').textContent.includes('其木格'), null, { timeout: 5000 });
    await viewer.waitForFunction(() => document.querySelector('#queue-status').textContent.includes('面试编号'), null, { timeout: 5000 });
  });

  // Captions: the captioner types on /caption/{room}; viewers on the channel
  // (WHEP here) see each caption within a second; corrections replace it; the
  // HLS subtitle rendition and, after the room ends, the replay carry it.
  const captionText = '欢迎来到呼和浩特春季招聘直播';
  const captionFixed = '欢迎来到呼和浩特春季招聘会直播';
  let captionId = null;
  await report.check('the captioner types on the caption page; the viewer shows the caption within 1 s over the video, in a live region, and in its history; a correction replaces it', async () => {
    const captioner = server.token('captioner', 'captioner-1', { rooms: [roomId], name: '字幕员' });
    const ctx = await browser.newContext({ viewport: { width: 768, height: 1024 }, isMobile: true, hasTouch: true, locale: 'zh-CN' });
    const p = await ctx.newPage();
    const problems = watchPage(p, 'caption');
    await p.goto(`${server.base}/caption/${roomId}#token=${captioner}`);
    await p.waitForFunction(() => document.querySelector('#link-state').dataset.state === 'open', null, { timeout: 10000 });
    await p.fill('#caption-text', captionText);
    await p.press('#caption-text', 'Enter');
    await viewer.waitForFunction((text) => document.querySelector('#captions').textContent.includes(text), captionText, { timeout: 5000 });
    const sentAt = await p.evaluate(() => window.jobcastCaptioner.lastSubmitAt);
    await p.waitForSelector('#sent li', { timeout: 5000 });
    captionId = await p.$eval('#sent li', (li) => li.dataset.id);
    const shownAt = await viewer.evaluate((id) => window.jobcastCaptions.shownAt[id], captionId);
    metrics.caption_to_viewer_ms = shownAt - sentAt;
    console.log(`caption typed -> shown on the viewer: ${metrics.caption_to_viewer_ms} ms (viewer on ${await viewer.evaluate(() => window.jobcastPlayer.mode)})`);
    assert(metrics.caption_to_viewer_ms < 1000, `caption took ${metrics.caption_to_viewer_ms} ms to reach the viewer`);
    eq(await viewer.getAttribute('#captions', 'aria-live'), 'polite', 'captions are a live region');
    // A quick phrase, then a correction of the first caption by keyboard.
    await p.click('button.phrase[data-phrase="captioner.phrase.applause"]');
    await viewer.waitForFunction(() => document.querySelector('#captions').textContent.includes('[掌声]'), null, { timeout: 5000 });
    await p.click(`#sent li[data-id="${captionId}"] button.edit`);
    eq(await p.inputValue('#caption-text'), captionText, 'the caption to correct is in the box');
    await p.fill('#caption-text', captionFixed);
    await p.press('#caption-text', 'Enter');
    await p.waitForFunction(([id, text]) => document.querySelector(`#sent li[data-id="${id}"]`).textContent.includes(text), [captionId, captionFixed], { timeout: 5000 });
    // The viewer's history has the corrected text in place, in order.
    await viewer.click('#captions-history-btn');
    await viewer.waitForFunction(([id, text]) => { const li = document.querySelector(`#captions-history-list li[data-id="${id}"]`); return li && li.textContent.includes(text); }, [captionId, captionFixed], { timeout: 5000 });
    const history = await viewer.$$eval('#captions-history-list li', (l) => l.map((x) => x.textContent));
    assert(history.length === 2 && history[1].includes('[掌声]'), `history: ${JSON.stringify(history)}`);
    // Size L is remembered; captions off hides the line.
    await viewer.click('#captions-size-l');
    assert(await viewer.evaluate(() => localStorage.getItem('jobcast.captions.size') === 'l' && document.querySelector('#captions').classList.contains('size-l')), 'size L kept');
    await viewer.click('#captions-toggle');
    assert(await viewer.evaluate(() => document.querySelector('#captions').hidden), 'captions off');
    await viewer.click('#captions-toggle');
    await viewer.click('#captions-history-btn');
    assert(problems.length === 0, problems.join('\n'));
    await ctx.close();
  });

  if (has.has('hls')) await report.check('the caption is in the HLS subtitle rendition: master offers it, its WebVTT segment holds the (corrected) text', async () => {
    const master = await (await fetch(`${server.base}/hls/${roomId}/master.m3u8`)).text();
    assert(/#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",LANGUAGE="zh",[^\n]*URI="subs.m3u8"/.test(master), `master: ${master}`);
    assert(/#EXT-X-STREAM-INF:[^\n]*SUBTITLES="subs"/.test(master), 'variants name the subtitle group');
    const deadline = Date.now() + 15000;
    let found = '';
    while (!found && Date.now() < deadline) {
      const subs = await (await fetch(`${server.base}/hls/${roomId}/subs.m3u8`)).text();
      for (const name of subs.split('\n').filter((l) => l.endsWith('.vtt'))) {
        const vtt = await (await fetch(`${server.base}/hls/${roomId}/${name}`)).text();
        if (vtt.includes('[掌声]') || vtt.includes(captionText) || vtt.includes(captionFixed)) { found = vtt; break; }
      }
      if (!found) await new Promise((r) => setTimeout(r, 500));
    }
    assert(found.startsWith('WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:'), `a WebVTT segment with the caption: ${found}`);
  });

  await report.check('the viewer loses the network, says "reconnecting…", and on return gets what it missed', async () => {
    // The node asks the browser publisher for a keyframe every segment; if
    // those requests are lost the source playlist stops growing (Chromium cuts
    // keyframes only when asked) and a player on it stalls for good.
    const sourceBefore = has.has('hls') ? await playlist(roomId, 'source') : null;
    await viewer.click('#tab-qa');
    const missed = '面试要带身份证吗？';
    await viewerCtx.setOffline(true);
    try {
      await viewer.evaluate(() => { const ws = window.jobcastViewerLive.ws; if (ws) ws.close(); });
      await viewer.waitForFunction(() => document.body.dataset.live === 'reconnecting', null, { timeout: 5000 });
      assert(await viewer.isVisible('#conn'), '"reconnecting…" shown');
      eq(await viewer.textContent('#conn'), '正在重新连接…', 'reconnecting text');
      const asker = await browser.newContext(PHONE);
      const ap = await asker.newPage();
      await ap.goto(`${server.base}/room/${roomId}#token=${server.token('jobseeker', 'seeker-3', { rooms: [roomId], name: '乌云' })}`);
      await ap.waitForFunction(() => document.body.dataset.live === 'open', null, { timeout: 10000 });
      await ap.click('#tab-qa');
      await ap.fill('#qa-input', missed);
      await ap.click('#qa-form button[type=submit]');
      await ap.waitForFunction((q) => document.querySelector('#qa-list').textContent.includes(q), missed, { timeout: 5000 });
      await asker.close();
    } finally {
      await viewerCtx.setOffline(false);  // whatever happened, the later steps need the network
    }
    await viewer.waitForFunction(() => document.body.dataset.live === 'open', null, { timeout: 20000 });
    await viewer.waitForFunction((q) => document.querySelector('#qa-list').textContent.includes(q), missed, { timeout: 5000 });
    if (!has.has('hls')) return;
    await videoAdvances(viewer, 1, 30000);  // and the player plays again by itself
    const source = await playlist(roomId, 'source');
    assert(source.seq > sourceBefore.seq, `the source playlist kept growing while the viewer was away: ${sourceBefore.seq} -> ${source.seq}\n${source.text}`);
    assert(source.durations.slice(1).every((d) => d < 2.5), `source segments about 1 s (a keyframe per segment): ${source.durations}`);
  });

  await report.check('screenshots of the three pages at phone and desktop sizes', async () => {
    await viewer.click('#tab-qa');
    await shot(viewer, 'viewer-phone');
    await shot(studio, 'studio-desktop');
    await shot(cons, 'console-desktop');
    for (const [ctxOpts, pagePath, name] of [
      [DESKTOP, `/room/${roomId}#token=${seeker}`, 'viewer-desktop'],
      [PHONE, `/studio/${roomId}#token=${employer}`, 'studio-phone'],
      [PHONE, `/console/${roomId}#token=${counsellor}`, 'console-phone'],
    ]) {
      const ctx = await browser.newContext(ctxOpts);
      const p = await ctx.newPage();
      await p.goto(server.base + pagePath);
      await p.waitForTimeout(2500);
      const w = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert(w <= 0, `${name}: horizontal scroll of ${w}px`);
      await shot(p, name);
      await ctx.close();
    }
  });

  if (has.has('stage') && has.has('whip') && has.has('whep')) await report.check('counsellor joins the stage from the console (fake camera): the viewer sees the 1280×720 composite; after leaving, the employer\'s picture again', async () => {
    // WHEP shows the programme itself (HLS on a phone may play the 360p rendition).
    const logStart = server.log().length;
    await viewer.click('#low-latency');
    await viewer.waitForFunction(() => window.jobcastPlayer.mode === 'whep' && document.querySelector('#video').videoWidth > 0, null, { timeout: 20000 });
    const before = await viewer.evaluate(() => document.querySelector('#video').videoWidth);
    assert(before < 1280, `the employer's picture is narrower than the composite: ${before}`);
    await cons.fill('#stage-name', '王老师 · 就业指导');
    await cons.click('#stage-join');
    await cons.waitForFunction(() => window.jobcastConsole.stage === 'on' || !document.querySelector('#stage-error').hidden, null, { timeout: 20000 });
    if (await cons.isVisible('#stage-error')) throw new Error(`join refused: ${await cons.textContent('#stage-error')}`);
    assert(await cons.isVisible('#stage-leave'), '"Leave stage" shown');
    eq(await cons.textContent('#stage-status'), '在台上', 'on-stage status');
    assert(await cons.evaluate(() => document.querySelector('#self').videoWidth > 0), 'own camera previewed');
    const on = await rest('GET', `/rooms/${roomId}/stage`);
    assert((on.guests || []).some((g) => g.sub === 'counsellor-1' && g.name === '王老师 · 就业指导'), `counsellor is a guest: ${JSON.stringify(on)}`);
    const t0 = Date.now();
    await viewer.waitForFunction(() => { const v = document.querySelector('#video'); return v.videoWidth === 1280 && v.videoHeight === 720; }, null, { timeout: 20000, polling: 200 });
    metrics.stage_join_to_composite_ms = Date.now() - t0;
    await videoAdvances(viewer, 1, 10000);
    await shot(viewer, 'viewer-composite-phone');
    await shot(cons, 'console-on-stage-desktop');
    await cons.click('#stage-leave');
    await cons.waitForFunction(() => window.jobcastConsole.stage === 'off', null, { timeout: 10000 });
    assert(!(await cons.isVisible('#self-box')), 'camera closed after leaving');
    const off = await rest('GET', `/rooms/${roomId}/stage`);
    assert(!(off.guests || []).some((g) => g.sub === 'counsellor-1'), `counsellor off the stage: ${JSON.stringify(off)}`);
    const t1 = Date.now();
    await viewer.waitForFunction(() => { const v = document.querySelector('#video'); return v.videoWidth > 0 && v.videoWidth < 1280; }, null, { timeout: 20000, polling: 200 });
    metrics.stage_leave_to_passthrough_ms = Date.now() - t1;
    await videoAdvances(viewer, 1, 10000);
    // The employer stays on air throughout: the picture must come back because
    // the counsellor left, not because the employer's camera reconnected.
    const dropped = server.log().slice(logStart).split('\n').filter((l) => /"msg":"(publisher|guest) lost"/.test(l));
    assert(dropped.length === 0, `the node dropped a publisher during the stage step:\n${dropped.join('\n')}`);
    await viewer.click('#low-latency');  // back to HLS
    await viewer.waitForFunction(() => window.jobcastPlayer.mode === 'hls', null, { timeout: 5000 });
  });

  await report.check(`employer ends the room${has.has('hls') ? '; the viewer gets the replay with the pinned job as a chapter and the captions as a track' : ''}`, async () => {
    await studio.click('#end');
    await studio.waitForSelector('#confirm-dialog[open]', { timeout: 5000 });
    await studio.click('#confirm-yes');
    await viewer.waitForFunction(() => document.querySelector('#room-status').textContent === '已结束', null, { timeout: 10000 });
    const room = await rest('GET', `/rooms/${roomId}`);
    eq(room.status, 'ended', 'room ended');
    if (!has.has('hls')) return;  // recordings come with the media endpoints
    await viewer.waitForFunction((title) => [...document.querySelectorAll('#chapters button.chapter')].some((b) => b.textContent.includes(title)), job.title, { timeout: 40000 });
    await viewer.click(`#chapters button.chapter[data-job="${job.id}"]`);
    await viewer.waitForFunction(() => { const v = document.querySelector('#video'); return window.jobcastPlayer.mode === 'file' && v.currentTime > 0.5 && v.videoWidth > 0; }, null, { timeout: 15000 });
    // The replay's captions: the recording's WebVTT as a captions track, with the corrected caption.
    await viewer.waitForFunction((text) => {
      const tr = document.querySelector('#video track[kind="captions"]');
      return tr && tr.track.cues && [...tr.track.cues].some((c) => c.text.includes(text));
    }, captionFixed, { timeout: 15000 });
    await shot(viewer, 'viewer-replay-phone');
  });

  await report.check('no script errors in the pages', async () => {
    const all = [...studioProblems, ...viewerProblems, ...consoleProblems];
    assert(all.length === 0, all.join('\n'));
  });
} catch (e) {
  console.log(`stopped: ${e.message}`);
  if (!report.failed) report.failed++;
} finally {
  writeFileSync(path.join(opt.artifacts, 'web-metrics.json'), JSON.stringify(metrics, null, 2));
  console.log(`metrics: ${JSON.stringify(metrics)}`);
  if (browser) await browser.close().catch(() => {});
  if (server) {
    if (report.failed) console.log(`--- jobcastd log (tail) ---\n${server.log().split('\n').slice(-40).join('\n')}`);
    await server.stop();
  }
}
process.exit(report.finish());
