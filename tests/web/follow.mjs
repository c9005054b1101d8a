// A jobseeker's reminders, recommendations and applications in a real
// Chromium (phone, 360×640) against a real jobcastd: they follow a scheduled
// room from its page, open their my page (the room and its .ics are there,
// with at least 3 recommended jobs and why), get the in-page reminder when
// the employer starts the room, apply to a recommended job from the my page,
// and see its status change live there as the employer moves it.
//
// node tests/web/follow.mjs --jobcastd build/server/jobcastd --web-client web-client --artifacts build/test-artifacts

import path from 'node:path';
import { args, startServer, launchBrowser, watchPage, Report, assert, eq, PHONE, artifactsDir, restClient } from './harness.mjs';

const opt = args();
const report = new Report('web_follow');
const out = artifactsDir(path.join(opt.artifacts, 'follow'));
let server, browser;

const rest = restClient(() => server.base);

try {
  await report.must('jobcastd starts', async () => { server = await startServer(opt.jobcastd, { webClient: opt.webClient }); });
  await report.must('Chromium starts', async () => { browser = await launchBrowser(); });

  const admin = server.token('admin', 'ops', { rooms: ['*'], name: 'ops' });
  const boss = server.token('employer', 'grassland', { rooms: ['*'], employer: 'grassland', name: '草原乳业' });
  const seeker = server.token('jobseeker', 'seeker-1', { rooms: ['*'], name: '其木格' });
  const inAnHour = Math.floor(Date.now() / 1000) + 3600;
  const rooms = {};
  const jobs = {};
  await report.must('an employer with three upcoming rooms and their jobs; a jobseeker with a profile', async () => {
    await rest('POST', '/employers', admin, { id: 'grassland', name: '草原乳业有限公司' });
    await rest('POST', '/employers/grassland/verify', admin, {});
    for (const [key, title, region] of [['spring', '呼和浩特春季招聘', '150102'], ['city', '呼和浩特物流专场', '150100'], ['baotou', '包头制造业专场', '150200']]) {
      rooms[key] = (await rest('POST', '/rooms', boss, { title, region_code: region, scheduled_at: inAnHour })).id;
    }
    const card = (title, min, max, description) => ({ title, wage_min: min, wage_max: max, wage_unit: 'month', hours: '8小时', location: '呼和浩特', headcount: 3, description });
    jobs.packer = await rest('POST', `/rooms/${rooms.spring}/jobs`, boss, card('奶粉包装工', 4500, 6000, '流水线包装'));
    jobs.driver = await rest('POST', `/rooms/${rooms.city}/jobs`, boss, card('冷链司机', 7000, 9000, '持C1驾照'));
    jobs.clerk = await rest('POST', `/rooms/${rooms.baotou}/jobs`, boss, card('仓库管理员', 5000, 6500, '仓库包装与盘点'));
    await rest('PUT', '/me/profile', seeker, { name: '其木格', phone: '13800138000', cv: '做过包装和仓库工作，有C1驾照', region_code: '150102', wage_min: 4000 });
  });

  const ctx = await browser.newContext(PHONE);
  const page = await ctx.newPage();
  const problems = watchPage(page, 'follow');
  await report.must('the room page: the jobseeker follows the scheduled room', async () => {
    await page.goto(`${server.base}/room/${rooms.spring}#token=${seeker}`);
    await page.waitForSelector('#follow-box:not([hidden]) #follow', { timeout: 10000 });
    await page.click('#follow');
    await page.waitForSelector('#follow[aria-pressed="true"]', { timeout: 5000 });
    const mine = await rest('GET', '/me/follows', seeker);
    eq(mine.items.map((r) => r.id).join(), rooms.spring, 'followed rooms');
    const ics = await fetch(server.base + await page.getAttribute('#follow-row a[download]', 'href'));
    eq(ics.headers.get('content-type'), 'text/calendar; charset=utf-8', 'the calendar link');
    assert((await ics.text()).includes(`UID:${rooms.spring}@jobcast`), 'the calendar file names the room');
  });

  await report.must('the my page: the followed room with its .ics, at least 3 recommended jobs with why', async () => {
    await page.goto(`${server.base}/me.html`);
    await page.waitForSelector(`#follows li[data-room="${rooms.spring}"] a[download]`, { timeout: 10000 });
    await page.waitForFunction(() => document.querySelectorAll('#recs li.recommendation').length >= 3, null, { timeout: 10000 });
    const why = await page.$$eval('#recs li.recommendation ul.why li', (els) => els.map((e) => e.textContent));
    assert(why.some((w) => w.includes('同一旗县区')), `a reason names the county: ${why}`);
    assert(why.some((w) => w.includes('工资不低于')), `a reason names the wage: ${why}`);
    await page.screenshot({ path: path.join(out, 'me-before.png'), fullPage: true });
  });

  await report.check('the room goes live: the my page reminds the jobseeker in the page', async () => {
    await rest('POST', `/rooms/${rooms.spring}/start`, boss, {});
    await page.waitForSelector(`#reminders .reminder[data-room="${rooms.spring}"] a[href="/room/${rooms.spring}"]`, { timeout: 30000 });
    assert((await page.textContent('#reminders')).includes('呼和浩特春季招聘'), 'the reminder names the room');
  });

  let applicationId;
  await report.must('the jobseeker applies to a recommended job from the my page', async () => {
    await page.click(`#recs li.recommendation[data-job="${jobs.packer.id}"] button.primary`);
    await page.waitForSelector('#apps li.application', { timeout: 10000 });
    const mine = await rest('GET', '/me/applications', seeker);
    eq(mine.items.length, 1, 'applications');
    applicationId = mine.items[0].id;
    eq(await page.getAttribute(`#apps li[data-app="${applicationId}"] .badge`, 'data-status'), 'applied', 'the status shown');
  });

  await report.check('the employer moves the application: the my page shows each status as it changes', async () => {
    for (const status of ['viewed', 'contacted', 'interview']) {
      await rest('PATCH', `/applications/${applicationId}`, boss, { status });
      // Pushed on the room's live channel: well before the 30 s poll.
      await page.waitForSelector(`#apps li[data-app="${applicationId}"] .badge[data-status="${status}"]`, { timeout: 10000 });
    }
    await page.screenshot({ path: path.join(out, 'me-after.png'), fullPage: true });
  });

  await report.check('no script errors', async () => { assert(problems.length === 0, problems.join('\n')); });
  await ctx.close();
} catch (e) {
  console.log(`stopped: ${e.message}`);
  if (!report.failed) report.failed++;
} finally {
  if (browser) await browser.close().catch(() => {});
  if (server) await server.stop();
}
process.exit(report.finish());
