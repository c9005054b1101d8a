// The back office's acceptance journey (issue 15), in Debian's Chromium
// against a real jobcastd and its private Redis, every step on the page that
// exists for it:
//
//  1. an employer registers itself on /admin (signed out: the register form);
//  2. the first admin (the link `jobcastd --first-admin` printed) verifies it
//     from the list of those awaiting a decision, creates a counsellor and an
//     employer account (their one-time links) and schedules a room whose job
//     cards need review, with the counsellor;
//  3. the employer signs in by its link, opens the studio from its rooms and
//     adds four jobs; the counsellor signs in by its link, opens the console
//     and approves them;
//  4. two jobseekers (a graduate on a phone, a rural migrant worker on a
//     desktop) follow the scheduled room on its page, and open their my page;
//     a webhook receiver (an SMS gateway's) gets a signed reminder.due for each;
//  5. the employer goes live from the studio with the fake camera (WHIP); the
//     my pages remind them in the page (their 20 s poll, driven by the page's
//     clock); "Watch now" opens the room, whose video plays (HLS on the
//     phone, WHEP on the desktop);
//  6. each applies to the first job (profile form, key group with consent),
//     gets 3 recommendations on the my page, and the second applies to one;
//  7. the employer moves the graduate's application to hired in the studio,
//     step by step; the graduate's open my page shows each status pushed on
//     the live channel (no reload, no poll of /me/applications);
//  8. the employer ends the room; the admin downloads the quarter's XLSX on
//     /admin (the whole service, then Baotou) and the test reads it with
//     python3-openpyxl: exactly the journey's numbers per region and key
//     group, zero for every other region.
//
// REST is used only where no page has the action: registering the webhook
// endpoint (the admin page lists endpoints but does not create them), reading
// ids for the test's own bookkeeping, and waiting for the room's figures to
// have counted both viewers before it ends (a condition, not a sleep).
//
// node tests/web/acceptance.mjs --jobcastd build/server/jobcastd --web-client web-client --artifacts build/test-artifacts

import { createServer } from 'node:http';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { args, startServer, launchBrowser, watchPage, Report, assert, eq, PHONE, DESKTOP, artifactsDir, restClient } from './harness.mjs';

const opt = args();
const report = new Report('web_acceptance');
const out = artifactsDir(path.join(opt.artifacts, 'acceptance'));
const rest = restClient(() => server.base);
let server, browser, receiver;
const t0 = Date.now();

// GB 32100-2015: the check character of a unified social credit code.
function creditCode(first17) {
  const chars = '0123456789ABCDEFGHJKLMNPQRTUWXY';
  let sum = 0, w = 1;
  for (const c of first17) { sum += chars.indexOf(c) * w; w = (w * 3) % 31; }
  return first17 + chars[(31 - (sum % 31)) % 31];
}

// The quarter of now in China Standard Time, as the node reports it.
function quarterNow() {
  const cst = new Date(Date.now() + 8 * 3600 * 1000);
  return { year: cst.getUTCFullYear(), quarter: Math.floor(cst.getUTCMonth() / 3) + 1 };
}

// A webhook receiver (an SMS gateway, a CRM): answers 200 and keeps each
// delivery with whether its signature verifies against the endpoint's secret.
function startReceiver() {
  const got = [];
  let secret = '';
  const srv = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const sig = String(req.headers['jobcast-signature'] || '');
      const m = sig.match(/^t=(\d+),v1=([0-9a-f]{64})$/);
      let valid = false;
      if (m && secret) {
        const want = createHmac('sha256', secret).update(`${m[1]}.${body}`).digest();
        valid = timingSafeEqual(want, Buffer.from(m[2], 'hex')) && Math.abs(Date.now() / 1000 - Number(m[1])) < 300;
      }
      got.push({ id: req.headers['jobcast-event-id'], type: req.headers['jobcast-event-type'], body: JSON.parse(body), valid });
      res.writeHead(200, { 'Content-Length': '0' });
      res.end();
    });
  });
  return new Promise((resolve) => srv.listen(0, '127.0.0.1', () => resolve({
    url: `http://127.0.0.1:${srv.address().port}/hook`,
    got,
    setSecret: (s) => { secret = s; },
    close: () => new Promise((r) => srv.close(r)),
  })));
}

// Waits for `pred` over the receiver's deliveries; names what arrived if it times out.
async function deliveries(pred, what, timeout = 15000) {
  const deadline = Date.now() + timeout;
  while (!pred(receiver.got)) {
    if (Date.now() > deadline) throw new Error(`webhooks: ${what} did not arrive in ${timeout} ms; got ${JSON.stringify(receiver.got.map((d) => [d.type, d.id]))}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// Waits until the page's <video> plays: time advances by `seconds` and it has a picture.
async function videoAdvances(page, seconds, timeout) {
  await page.waitForFunction(() => document.querySelector('#video').readyState >= 2, null, { timeout, polling: 200 }).catch(() => {});
  const start = await page.evaluate(() => document.querySelector('#video').currentTime);
  try {
    await page.waitForFunction(([t, s]) => {
      const v = document.querySelector('#video');
      return v.currentTime > t + s && v.videoWidth > 0 && !v.paused;
    }, [start, seconds], { timeout, polling: 200 });
  } catch {
    const why = await page.evaluate(() => {
      const p = window.jobcastPlayer, v = document.querySelector('#video');
      return { mode: p && p.mode, status: p && p.status, lastError: p && p.lastError, time: v.currentTime, readyState: v.readyState, paused: v.paused, width: v.videoWidth };
    });
    throw new Error(`video did not advance ${seconds} s in ${timeout} ms: ${JSON.stringify(why)}`);
  }
}

// Creates an account on the admin page; answers the one-time link it shows.
async function createAccount(page, kind, name, employerId) {
  await page.selectOption('#account-kind', kind);
  await page.fill('#account-name', name);
  if (employerId) await page.fill('#account-employer', employerId);
  await page.click('#account-form button[type=submit]');
  await page.waitForFunction((n) => !document.querySelector('#link-box').hidden && document.querySelector('#link-name').textContent === n, name, { timeout: 5000 });
  return page.textContent('#link-url');
}

// Downloads the quarter's XLSX from the admin page and reads it back with
// Debian's python3-openpyxl: {"REGION PERIOD": {column key: value}}.
async function downloadXlsx(page, { year, quarter }, region, name) {
  await page.fill('#report-year', String(year));
  await page.selectOption('#report-quarter', String(quarter));
  await page.fill('#report-region', region);
  const [download] = await Promise.all([
    page.waitForEvent('download', { timeout: 10000 }),
    page.click('#report-form button[value=xlsx]'),
  ]);
  const file = path.join(out, name);
  await download.saveAs(file);
  const dump = execFileSync('/usr/bin/python3', ['-c', [
    'import sys, json, openpyxl',
    'ws = openpyxl.load_workbook(sys.argv[1]).active',
    'rows = [list(r) for r in ws.iter_rows(values_only=True)]',
    'keys = rows[2]',
    'print(json.dumps({"title": rows[0][0], "rows": [dict(zip(keys, r)) for r in rows[3:]]}))',
  ].join('\n'), file], { encoding: 'utf8' });
  const sheet = JSON.parse(dump);
  const rows = {};
  for (const r of sheet.rows) rows[`${r.region_code} ${r.period}`] = r;
  return { title: sheet.title, rows, file };
}

// Every figure of a row against what the journey made; names each difference.
function sameFigures(row, want, label) {
  const diff = Object.entries(want).filter(([k, v]) => row[k] !== v).map(([k, v]) => `${k}: expected ${v}, got ${row[k]}`);
  if (diff.length) throw new Error(`${label}:\n       ${diff.join('\n       ')}`);
}

const KEY_GROUPS = ['graduate', 'poverty_alleviated', 'rural_migrant_worker', 'veteran', 'registered_unemployed',
  'disability', 'zero_employment_household', 'employment_difficulty'];
const ZERO = Object.fromEntries(['sessions', 'employers', 'jobs', 'headcount', 'unique_viewers', 'applications',
  ...KEY_GROUPS.map((g) => `applications_${g}`), 'interviews', 'hires', 'recommendations', 'people_recommended',
  'recommendations_per_person', 'people_reached_3_recommendations'].map((k) => [k, 0]));

const JOBS = [
  { title: '稀土冶炼操作工', wage_min: 6000, wage_max: 8000, headcount: 8, hours: '三班倒', location: '包头昆都仑区' },
  { title: '数控车工', wage_min: 6500, wage_max: 9000, headcount: 5, hours: '8:00-17:00', location: '包头昆都仑区' },
  { title: '仓库管理员', wage_min: 4500, wage_max: 5500, headcount: 2, hours: '8:00-17:00', location: '包头青山区' },
  { title: '质检员', wage_min: 5000, wage_max: 6500, headcount: 5, hours: '8:00-17:00', location: '包头昆都仑区' },
];
const SEEKERS = [
  { sub: 'seeker-graduate', name: '其木格', phone: '13800471001', group: 'graduate', device: PHONE, play: 'hls' },
  { sub: 'seeker-migrant', name: '巴特尔', phone: '13800471002', group: 'rural_migrant_worker', device: DESKTOP, play: 'whep' },
];
const EMPLOYER_NAME = '包头北方稀土装备有限公司';
const ROOM_TITLE = '昆都仑区重点群体专场招聘';

try {
  receiver = await startReceiver();
  // Reminders go out as soon as someone follows (lead time a day); webhooks
  // and reminders are swept often; presence is counted every 500 ms.
  const config = 'reminders:\n  lead_s: 86400\n  sweep_ms: 100\nwebhooks:\n  sweep_ms: 100\n  backoff_ms: 100\nlive:\n  heartbeat_ms: 500\n';
  await report.must('jobcastd starts with --first-admin; Chromium starts', async () => {
    server = await startServer(opt.jobcastd, { webClient: opt.webClient, config, extraArgs: ['--first-admin', '就业服务中心'] });
    browser = await launchBrowser();
  });

  let firstLink;
  for (let i = 0; i < 200 && !firstLink; i++) {
    const m = server.log().match(/sign in once at (\S+\/admin#signin=[0-9a-f]{32})/);
    if (m) firstLink = m[1]; else await new Promise((r) => setTimeout(r, 50));
  }
  assert(firstLink, 'the first admin\'s link is in the log');

  // ---- 1. the employer registers itself
  const regCtx = await browser.newContext(DESKTOP);
  const reg = await regCtx.newPage();
  const problems = [watchPage(reg, 'register')];
  let employerId;
  await report.must('an employer registers itself on /admin (a wrong credit code is refused and marked first)', async () => {
    await reg.goto(`${server.base}/admin`);
    await reg.waitForSelector('#register-form:not([hidden])', { timeout: 10000 });
    const code = creditCode('91150203MA0RARE01');
    await reg.fill('#reg-name', EMPLOYER_NAME);
    await reg.fill('#reg-code', code.slice(0, 17) + (code[17] === '0' ? '1' : '0'));
    await reg.fill('#reg-contact', '王经理');
    await reg.fill('#reg-phone', '13800472000');
    await reg.fill('#reg-region', '150203');
    await reg.click('#register-form button[type=submit]');
    await reg.waitForSelector('#reg-code[aria-invalid="true"]', { timeout: 5000 });
    assert((await reg.textContent('#register-error')).includes('统一社会信用代码'), `the error names the field: ${await reg.textContent('#register-error')}`);
    await reg.fill('#reg-code', code);
    await reg.click('#register-form button[type=submit]');
    await reg.waitForFunction(() => document.querySelector('#register-result').textContent.length > 0, null, { timeout: 5000 });
    const text = await reg.textContent('#register-result');
    const m = text.match(/单位编号 (\S+)，/);
    assert(m, `the result names the employer id: ${text}`);
    employerId = m[1];
    eq(await reg.textContent('#register-error'), '', 'no error left');
  });
  await regCtx.close();

  // ---- 2. the admin
  const adminCtx = await browser.newContext({ ...DESKTOP, acceptDownloads: true });
  const admin = await adminCtx.newPage();
  problems.push(watchPage(admin, 'admin'));
  let adminToken, counsellorLink, employerLink, roomId;
  await report.must('the admin signs in by the first link and verifies the employer from those awaiting a decision', async () => {
    await admin.goto(firstLink);
    await admin.waitForSelector('#accounts:not([hidden])', { timeout: 10000 });
    adminToken = await admin.evaluate(() => localStorage.getItem('jobcast.token.admin'));
    const row = admin.locator(`#employer-list tr[data-id="${employerId}"]`);
    await row.waitFor({ timeout: 5000 });
    assert((await row.textContent()).includes(EMPLOYER_NAME), 'the row names the employer');
    await row.locator('button.primary').click();
    await admin.waitForFunction((id) => !document.querySelector(`#employer-list tr[data-id="${id}"]`), employerId, { timeout: 5000 });
    assert((await admin.textContent('#employer-result')).includes('已通过'), 'verified');
  });

  // The SMS gateway's endpoint, before anything happens (an event is handed to
  // the endpoints registered when it is sent out): no page creates one (REST).
  await report.must('a webhook endpoint for every event type (REST: the admin page has no form for it)', async () => {
    const hook = await rest('POST', '/admin/webhooks', adminToken, { url: receiver.url,
      events: ['room.scheduled', 'room.started', 'room.ended', 'application.created', 'application.status_changed', 'reminder.due'] });
    receiver.setSecret(hook.secret);
  });

  let counsellorId;
  await report.must('the admin creates a counsellor and an employer account (one-time links) and schedules the room with the counsellor', async () => {
    counsellorLink = await createAccount(admin, 'counsellor', '赵老师');
    employerLink = await createAccount(admin, 'employer', '北方稀土 人事部', employerId);
    counsellorId = await admin.evaluate(() => [...document.querySelectorAll('#account-list tr')].find((tr) => tr.textContent.includes('赵老师')).dataset.id);
    const at = new Date(Date.now() + 3600 * 1000);
    await admin.fill('#room-title', ROOM_TITLE);
    await admin.fill('#room-time', new Date(at.getTime() - at.getTimezoneOffset() * 60000).toISOString().slice(0, 16));
    await admin.fill('#room-region', '150203');
    await admin.fill('#room-employer', employerId);
    await admin.check(`#room-staff input[value="${counsellorId}"]`);
    assert(await admin.isChecked('#room-review'), 'job cards need review');
    await admin.click('#room-form button[type=submit]');
    await admin.waitForFunction((t) => document.querySelector('#my-room-list').textContent.includes(t), ROOM_TITLE, { timeout: 5000 });
    const href = await admin.getAttribute(`#my-room-list a:text("${ROOM_TITLE}")`, 'href');
    roomId = decodeURIComponent(href.match(/^\/studio\/([^#]+)#/)[1]);
  });

  // ---- 3. the employer adds jobs; the counsellor approves them
  const empCtx = await browser.newContext({ ...DESKTOP, permissions: ['camera', 'microphone'] });
  // The camera gives 640×360 at most: less for the node to encode on a small machine.
  await empCtx.addInitScript(() => {
    const md = navigator.mediaDevices;
    const open = md.getUserMedia.bind(md);
    md.getUserMedia = (c = {}) => open(c.video ? { ...c, video: { ...(typeof c.video === 'object' ? c.video : {}), width: { ideal: 640, max: 640 }, height: { ideal: 360, max: 360 } } } : c);
  });
  const studio = await empCtx.newPage();
  problems.push(watchPage(studio, 'studio'));
  await report.must('the employer signs in by its link, opens the studio from its rooms and adds four jobs', async () => {
    await studio.goto(employerLink);
    await studio.waitForSelector('#my-room-list a', { timeout: 10000 });
    await studio.click(`#my-room-list a:text("${ROOM_TITLE}")`);
    await studio.waitForURL(new RegExp(`/studio/${roomId}`), { timeout: 10000 });
    await studio.waitForFunction(() => window.jobcastLive && window.jobcastLive.state === 'open', null, { timeout: 10000 });
    await studio.click('#job-form-box summary');
    for (const [i, j] of JOBS.entries()) {
      for (const k of ['title', 'wage_min', 'wage_max', 'headcount', 'hours', 'location']) await studio.fill(`#job-form [name=${k}]`, String(j[k]));
      await studio.click('#job-form button[type=submit]');
      await studio.waitForFunction((n) => document.querySelectorAll('#jobs li[data-job] .badge.review').length === n, i + 1, { timeout: 5000 });
    }
  });

  await report.must('the counsellor signs in by its link, opens the console and approves the four jobs; the studio names who approved them', async () => {
    const ctx = await browser.newContext(DESKTOP);
    const page = await ctx.newPage();
    problems.push(watchPage(page, 'console'));
    await page.goto(counsellorLink);
    await page.waitForSelector('#my-room-list a', { timeout: 10000 });
    await page.click('#my-room-list a');
    await page.waitForURL(new RegExp(`/console/${roomId}`), { timeout: 10000 });
    for (let left = JOBS.length; left > 0; left--) {
      await page.waitForFunction((n) => document.querySelectorAll('#review-list button.approve').length === n, left, { timeout: 10000 });
      await page.click('#review-list button.approve');
    }
    await page.waitForFunction(() => !document.querySelector('#review-list button.approve'), null, { timeout: 5000 });
    await studio.waitForFunction((n) => document.querySelectorAll('#jobs p.reviewed').length === n && !document.querySelector('#jobs .badge.review'), JOBS.length, { timeout: 5000 });
    assert((await studio.textContent('#jobs')).includes('赵老师'), 'the approver is named');
    await ctx.close();
  });
  const jobs = (await rest('GET', `/rooms/${roomId}`)).jobs;  // ids, for the steps below
  eq(jobs.length, JOBS.length, 'jobs viewers see');

  // ---- 4. jobseekers follow the scheduled room
  const seekers = [];
  for (const s of SEEKERS) {
    const ctx = await browser.newContext(s.device);
    // The my page's reminder poll runs every 20 s: the test moves the page's clock.
    await ctx.clock.install();
    if (s.play === 'whep') await ctx.addInitScript(() => localStorage.setItem('jobcast.lowLatency', '1'));
    const token = server.token('jobseeker', s.sub, { rooms: ['*'], name: s.name });
    const page = await ctx.newPage();
    problems.push(watchPage(page, s.sub));
    seekers.push({ ...s, ctx, page, token });
  }
  await report.must('each jobseeker follows the scheduled room on its page and sees it on the my page with its .ics', async () => {
    for (const s of seekers) {
      await s.page.goto(`${server.base}/room/${roomId}#token=${s.token}`);
      await s.page.waitForSelector('#follow-box:not([hidden]) #follow', { timeout: 10000 });
      await s.page.click('#follow');
      await s.page.waitForSelector('#follow[aria-pressed="true"]', { timeout: 5000 });
      await s.page.goto(`${server.base}/me.html`);
      await s.page.waitForSelector(`#follows li[data-room="${roomId}"] a[download]`, { timeout: 10000 });
    }
  });

  await report.check('the SMS gateway gets one signed reminder.due per follower, naming the room and no personal data', async () => {
    await deliveries((got) => got.filter((d) => d.type === 'reminder.due').length >= 2, 'two reminder.due');
    const due = receiver.got.filter((d) => d.type === 'reminder.due');
    eq(due.map((d) => d.body.data.user).sort().join(), SEEKERS.map((s) => s.sub).sort().join(), 'reminded users');
    for (const d of due) {
      assert(d.valid, `signature of ${d.id}`);
      eq(d.body.data.room_id, roomId, 'room');
      assert(!JSON.stringify(d.body).includes('1380047'), 'no phone number in the event');
    }
  });

  // ---- 5. the room runs with a publisher; the jobseekers are reminded and watch
  await report.must('the employer goes live from the studio with the fake camera (WHIP)', async () => {
    await studio.waitForFunction(() => document.querySelector('#preview').videoWidth > 0, null, { timeout: 10000 });
    await studio.click('#go-live');
    await studio.waitForSelector('#on-air.live', { timeout: 20000 });
  });

  await report.must('each my page reminds its jobseeker in the page; "Watch now" opens the room and the video plays', async () => {
    for (const s of seekers) {
      await s.page.clock.fastForward(20000);
      const link = `#reminders .reminder[data-room="${roomId}"] a[href="/room/${roomId}"]`;
      await s.page.waitForSelector(link, { timeout: 10000 });
      assert((await s.page.textContent('#reminders')).includes(ROOM_TITLE), 'the reminder names the room');
      await s.page.click(link);
      await s.page.waitForURL(new RegExp(`/room/${roomId}$`), { timeout: 10000 });
    }
    // Both play at once: the phone by HLS, the desktop by WHEP.
    await Promise.all(seekers.map(async (s) => {
      await videoAdvances(s.page, 1.5, 40000);
      eq(await s.page.evaluate(() => window.jobcastPlayer.mode), s.play, `${s.sub} plays by`);
    }));
  });

  // ---- 6. apply, recommendations
  await report.must('each jobseeker applies to the first job on the room page (profile form with the key group and consent)', async () => {
    for (const s of seekers) {
      const apply = `#jobs-list button.apply[data-job="${jobs[0].id}"]`;
      await s.page.click(apply);
      await s.page.waitForSelector('#profile-dialog[open]', { timeout: 5000 });
      await s.page.fill('#p-name', s.name);
      await s.page.fill('#p-phone', s.phone);
      await s.page.fill('#p-cv', '会开叉车，做过仓库和质检');
      await s.page.selectOption('#p-keygroup', s.group);
      await s.page.check('#p-consent');
      await s.page.click('#profile-save');
      await s.page.waitForSelector(`${apply}[aria-pressed="true"]`, { timeout: 5000 });
    }
    await studio.waitForFunction((n) => document.querySelectorAll('#applications li[data-app]').length === n, seekers.length, { timeout: 5000 });
    eq(await studio.$$eval('#applications .badge', (l) => l.length), 0, 'key groups shown to the employer without the second consent');
  });

  await report.must('each my page recommends the 3 jobs not applied to; the second jobseeker applies to one from there', async () => {
    for (const s of seekers) {
      await s.page.goto(`${server.base}/me.html`);
      await s.page.waitForSelector('#apps li.application', { timeout: 10000 });
      await s.page.waitForFunction(() => document.querySelectorAll('#recs li.recommendation').length > 0, null, { timeout: 10000 });
      const shown = await s.page.$$eval('#recs li.recommendation', (l) => l.map((e) => e.dataset.job).sort());
      eq(shown.join(), jobs.slice(1).map((j) => j.id).sort().join(), `${s.sub}: recommended jobs`);
    }
    const b = seekers[1];
    await b.page.click(`#recs li.recommendation[data-job="${jobs[1].id}"] button.primary`);
    await b.page.waitForFunction(() => document.querySelectorAll('#apps li.application').length === 2, null, { timeout: 10000 });
    await studio.waitForFunction(() => document.querySelectorAll('#applications li[data-app]').length === 3, null, { timeout: 5000 });
  });

  // ---- 7. hired, pushed to the my page
  await report.must('the employer moves the graduate to hired in the studio; the open my page shows each status pushed live', async () => {
    const a = seekers[0];
    const appId = await studio.evaluate((name) => [...document.querySelectorAll('#applications li[data-app]')].find((li) => li.querySelector('.app-name').textContent.includes(name)).dataset.app, a.name);
    await a.page.waitForSelector(`#apps li[data-app="${appId}"] .badge[data-status="applied"]`, { timeout: 5000 });
    const polls = [];
    a.page.on('request', (r) => { if (new URL(r.url()).pathname === '/api/v1/me/applications') polls.push(Date.now()); });
    const started = Date.now();
    for (const status of ['viewed', 'contacted', 'interview', 'hired']) {
      const patched = studio.waitForResponse((r) => r.request().method() === 'PATCH' && new URL(r.url()).pathname === `/api/v1/applications/${appId}`);
      await studio.selectOption(`#applications select.status[data-app="${appId}"]`, status);
      eq((await patched).status(), 200, `PATCH to ${status}`);
      await a.page.waitForSelector(`#apps li[data-app="${appId}"] .badge[data-status="${status}"]`, { timeout: 5000 });
    }
    eq(polls.filter((t) => t >= started).length, 0, 'reads of /me/applications while the statuses changed (pushed, not polled)');
    eq(await a.page.textContent(`#apps li[data-app="${appId}"] .badge`), '已录用', 'the status shown');
    await a.page.screenshot({ path: path.join(out, 'me-hired.png'), fullPage: true });
  });

  // ---- 8. the room ends; the quarter's XLSX
  await report.must('the employer ends the room in the studio (after the node counted both viewers)', async () => {
    const deadline = Date.now() + 10000;
    let figures;
    while ((figures = await rest('GET', `/rooms/${roomId}/figures`, adminToken)).unique_viewers < SEEKERS.length) {
      if (Date.now() > deadline) throw new Error(`figures: ${JSON.stringify(figures)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await studio.click('#end');
    await studio.waitForSelector('#confirm-dialog[open]', { timeout: 5000 });
    await studio.click('#confirm-yes');
    await studio.waitForFunction(() => window.jobcastStudio.room.status === 'ended', null, { timeout: 10000 });
  });

  const q = quarterNow();
  const period = `${q.year}Q${q.quarter}`;
  const ytd = `${q.year}Q1-Q${q.quarter}`;
  const journey = {
    ...ZERO, sessions: 1, employers: 1, jobs: JOBS.length, headcount: JOBS.reduce((n, j) => n + j.headcount, 0),
    unique_viewers: 2, applications: 3, applications_graduate: 1, applications_rural_migrant_worker: 2,
    interviews: 1, hires: 1, recommendations: 6, people_recommended: 2, recommendations_per_person: 3,
    people_reached_3_recommendations: 2,
  };
  await report.check(`the admin downloads ${period}'s XLSX for the whole service: the journey's numbers for the service and Inner Mongolia`, async () => {
    const x = await downloadXlsx(admin, q, '', `${period}.xlsx`);
    assert(String(x.title).startsWith(`${q.year}年第`), `title: ${x.title}`);
    for (const region of ['all', '150000']) {
      for (const p of [period, ytd]) {
        assert(x.rows[`${region} ${p}`], `a row for ${region} ${p}; rows: ${Object.keys(x.rows)}`);
        sameFigures(x.rows[`${region} ${p}`], journey, `${region} ${p}`);
      }
    }
    eq(Object.keys(x.rows).length, 4, `rows: ${Object.keys(x.rows)}`);
  });

  await report.check(`the admin downloads ${period}'s XLSX for Baotou: the journey's numbers in Baotou and Kundulun, zero in every other county`, async () => {
    const x = await downloadXlsx(admin, q, '150200', `${period}-150200.xlsx`);
    for (const p of [period, ytd]) {
      sameFigures(x.rows[`150200 ${p}`] || {}, journey, `150200 ${p}`);
      sameFigures(x.rows[`150203 ${p}`] || {}, journey, `150203 ${p}`);
    }
    const others = Object.entries(x.rows).filter(([k]) => !k.startsWith('150200 ') && !k.startsWith('150203 '));
    assert(others.length >= 2, `Baotou's other counties are listed: ${Object.keys(x.rows)}`);
    for (const [k, row] of others) sameFigures(row, ZERO, k);
  });

  await report.check('every webhook event of the journey arrived once, signed', async () => {
    const want = { 'room.scheduled': 1, 'reminder.due': 2, 'room.started': 1, 'application.created': 3, 'application.status_changed': 4, 'room.ended': 1 };
    const count = (got) => Object.fromEntries(Object.keys(want).map((k) => [k, got.filter((d) => d.type === k).length]));
    const total = Object.values(want).reduce((a, b) => a + b, 0);
    await deliveries((got) => got.length >= total, `${total} events`);
    eq(JSON.stringify(count(receiver.got)), JSON.stringify(want), 'events by type');
    eq(new Set(receiver.got.map((d) => d.id)).size, total, 'distinct event ids');
    const bad = receiver.got.filter((d) => !d.valid).map((d) => d.id);
    eq(bad.length, 0, `deliveries with a bad signature: ${bad}`);
  });

  await report.check('no script errors on the pages', async () => {
    // The my pages' channels close when they navigate: not page errors.
    const all = problems.flat();
    assert(all.length === 0, all.join('\n'));
  });
} catch (e) {
  console.log(`stopped: ${e.message}`);
  if (!report.failed) report.failed++;
} finally {
  console.log(`web_acceptance ran ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  if (browser) await browser.close().catch(() => {});
  if (receiver) await receiver.close();
  if (server) {
    if (report.failed) console.log(`--- jobcastd log (tail) ---\n${server.log().split('\n').slice(-40).join('\n')}`);
    await server.stop();
  }
}
process.exit(report.finish());
