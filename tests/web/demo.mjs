// A newcomer on a demo node (jobcastd --demo), in Chromium on a phone: the demo
// room plays at once (HLS from the synthetic camera), "Demo sign-in" gets a
// jobseeker token from the demo-only endpoint, and the signed-in viewer can
// ask a question. A node without --demo refuses the endpoint.

import path from 'node:path';
import { args, startServer, launchBrowser, watchPage, Report, assert, eq, PHONE, artifactsDir } from './harness.mjs';

const opt = args();
const report = new Report('web_demo');
const out = artifactsDir(path.join(opt.artifacts, 'demo'));
let server, plain, browser;

try {
  await report.must('jobcastd --demo starts', async () => { server = await startServer(opt.jobcastd, { webClient: opt.webClient, extraArgs: ['--demo'] }); });
  await report.must('Chromium starts', async () => { browser = await launchBrowser(); });
  const ctx = await browser.newContext(PHONE);
  const page = await ctx.newPage();
  const problems = watchPage(page, 'viewer');

  await report.check('the demo room plays on a phone without signing in', async () => {
    await page.goto(`${server.base}/room/demo`);
    await page.waitForFunction(() => { const v = document.querySelector('#video'); return v.currentTime > 2 && v.videoWidth > 0; }, null, { timeout: 60000, polling: 250 });
  });

  await report.check('demo sign-in gets a jobseeker token; the viewer can ask', async () => {
    await page.click('#demo-signin');
    await page.waitForFunction(() => document.querySelector('#signin').textContent.includes('访客'), null, { timeout: 5000 });
    const role = await page.evaluate(async () => (await import('/js/api.js')).claims((await import('/js/api.js')).getToken('viewer')).role);
    eq(role, 'jobseeker', 'token role');
    await page.click('#tab-qa');
    await page.fill('#qa-input', '试用期多久？');
    await page.click('#qa-form button[type=submit]');
    await page.waitForFunction(() => document.querySelector('#qa-list').textContent.includes('试用期多久'), null, { timeout: 5000 });
    await page.screenshot({ path: path.join(out, 'viewer-demo-phone.png'), fullPage: true });
    assert(problems.length === 0, problems.join('\n'));
  });

  await report.check('?demo signs in while loading and opens one WebSocket: each chat message shows once', async () => {
    const c2 = await browser.newContext(PHONE);
    const p2 = await c2.newPage();
    const sockets = [];
    p2.on('websocket', (ws) => { if (ws.url().endsWith('/ws')) sockets.push(ws.url()); });
    await p2.goto(`${server.base}/room/demo?demo`);
    await p2.waitForFunction(() => document.body.dataset.live === 'open' && document.querySelector('#signin').textContent.includes('访客'), null, { timeout: 10000 });
    await p2.click('#tab-chat');
    await p2.fill('#chat-input', '只出现一次');
    await p2.click('#chat-form button[type=submit]');
    await p2.waitForFunction(() => document.querySelector('#chat-list').textContent.includes('只出现一次'), null, { timeout: 5000 });
    await p2.waitForFunction(() => window.jobcastViewerLive.pending.size === 0, null, { timeout: 5000 });
    eq(sockets.length, 1, `WebSockets opened: ${sockets.join(', ')}`);
    const copies = await p2.evaluate(() => [...document.querySelectorAll('#chat-list li')].filter((li) => li.textContent.includes('只出现一次')).length);
    eq(copies, 1, 'copies of the message');
    await c2.close();
  });

  await report.check('the demo endpoint hands out jobseeker tokens only, and only with --demo', async () => {
    const admin = await fetch(`${server.base}/api/v1/demo/token`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"role":"admin"}' });
    eq(admin.status, 403, 'admin role refused');
    plain = await startServer(opt.jobcastd, { webClient: opt.webClient });
    const off = await fetch(`${plain.base}/api/v1/demo/token`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"role":"jobseeker"}' });
    assert(off.status === 404 || off.status === 405, `no demo endpoint without --demo: ${off.status}`);
  });
} catch (e) {
  console.log(`stopped: ${e.message}`);
  if (!report.failed) report.failed++;
} finally {
  if (browser) await browser.close().catch(() => {});
  if (plain) await plain.stop();
  if (server) {
    if (report.failed) console.log(`--- jobcastd log (tail) ---\n${server.log().split('\n').slice(-30).join('\n')}`);
    await server.stop();
  }
}
process.exit(report.finish());
