// A phone watching by WHEP (low latency) on a network that loses packets:
// the demo room of a real jobcastd --demo whose WHEP engine drops 15% of
// what it sends to viewers at random (fault injection,
// JOBCAST_FAULT_WHEP_LOSS_PERCENT; retransmissions are dropped as well). In
// auto the player reads its own receive statistics, moves to the 360p WHEP
// variant by itself after a few lossy seconds and says so, with a button that
// brings the full picture back for good. On a node that loses nothing the
// player stays on the source picture, and Chromium has the sender reports
// that keep its audio and video in step.

import path from 'node:path';
import { args, startServer, launchBrowser, watchPage, Report, assert, eq, PHONE, artifactsDir } from './harness.mjs';

const opt = args();
const report = new Report('web_weak_whep');
const out = artifactsDir(path.join(opt.artifacts, 'weak-whep'));
let lossy, clean, browser;

async function demoNode(lossPercent) {
  if (lossPercent) process.env.JOBCAST_FAULT_WHEP_LOSS_PERCENT = String(lossPercent);
  try {
    return await startServer(opt.jobcastd, { webClient: opt.webClient, extraArgs: ['--demo'] });
  } finally {
    delete process.env.JOBCAST_FAULT_WHEP_LOSS_PERCENT;
  }
}

// The viewer page on `node` by WHEP, once the source picture plays.
async function watchByWhep(node, label) {
  const ctx = await browser.newContext(PHONE);
  const page = await ctx.newPage();
  const problems = watchPage(page, label);
  await page.goto(`${node.base}/room/demo?ll=1`);
  await page.waitForFunction(() => {
    const p = window.jobcastPlayer;
    const v = document.querySelector('#video');
    return p.mode === 'whep' && v.videoWidth > 0 && v.currentTime > 0.5;
  }, null, { timeout: 30000, polling: 200 });
  return { ctx, page, problems };
}

try {
  await report.must('two jobcastd --demo nodes start, one losing 15% of WHEP packets', async () => {
    lossy = await demoNode(15);
    clean = await demoNode(0);
    assert(lossy.log().includes('fault injection'), 'the lossy node says it drops packets');
    assert(!clean.log().includes('fault injection'), 'the clean node drops nothing');
  });
  await report.must('Chromium starts', async () => { browser = await launchBrowser(); });

  let viewer;
  await report.must('the viewer plays the source picture by WHEP', async () => {
    viewer = await watchByWhep(lossy, 'lossy viewer');
    eq(await viewer.page.evaluate(() => window.jobcastPlayer.whepLow), false, 'starts on the source');
  });

  await report.check('on sustained loss the player moves to 360p by itself and says so', async () => {
    const { page } = viewer;
    await page.waitForFunction(() => {
      const p = window.jobcastPlayer;
      const v = document.querySelector('#video');
      return p.whepLow && /variant=360p$/.test(p.src) && v.videoHeight === 360 && v.currentTime > 1;
    }, null, { timeout: 45000, polling: 250 });
    const seen = await page.evaluate(() => ({ reason: window.jobcastPlayer.weakReason, at: window.jobcastPlayer.weakAt }));
    console.log(`moved to 360p: ${seen.reason}`);
    assert((await page.textContent('#weak-network-text')).includes('360p'), 'the notice names 360p');
    assert(!(await page.evaluate(() => document.querySelector('#back-to-video').hidden)), 'the way back is offered');
    await page.screenshot({ path: path.join(out, 'moved-to-360p.png') });
  });

  await report.check('one tap brings the full picture back, and the player does not move again', async () => {
    const { page, problems } = viewer;
    await page.click('#back-to-video');
    await page.waitForFunction(() => {
      const p = window.jobcastPlayer;
      const v = document.querySelector('#video');
      return !p.whepLow && /\/whep\/demo$/.test(p.src) && v.videoHeight === 720;
    }, null, { timeout: 30000, polling: 250 });
    eq(await page.textContent('#weak-network-text'), '', 'notice cleared');
    // Longer than the monitor takes to move (three lossy windows of 2 s).
    await page.waitForTimeout(10000);
    const p = await page.evaluate(() => ({ low: window.jobcastPlayer.whepLow, src: window.jobcastPlayer.src, h: document.querySelector('#video').videoHeight }));
    eq(p.low, false, 'still on the full picture');
    eq(p.h, 720, 'picture height');
    assert(problems.length === 0, problems.join('\n'));
  });

  await report.check('on a network that loses nothing the player stays on the source picture', async () => {
    const { page, problems } = await watchByWhep(clean, 'clean viewer');
    await page.waitForTimeout(10000);
    const p = await page.evaluate(() => ({ low: window.jobcastPlayer.whepLow, loss: window.jobcastPlayer.whepLoss, h: document.querySelector('#video').videoHeight }));
    eq(p.low, false, 'not moved');
    eq(p.h, 720, 'picture height');
    assert(p.loss.length >= 3, `the monitor ran: ${JSON.stringify(p.loss)}`);
    assert(p.loss.every((f) => f < 0.05), `loss windows ${JSON.stringify(p.loss)}`);
    // Chromium keeps audio and video in step from the server's sender
    // reports: it lists what they said as remote-outbound-rtp, per stream.
    const reports = await page.evaluate(async () => {
      const out = {};
      (await window.jobcastPlayer.whep.pc.getStats()).forEach((s) => {
        if (s.type === 'remote-outbound-rtp') out[s.kind] = { sent: s.reportsSent, packets: s.packetsSent, at: s.remoteTimestamp };
      });
      return { out, now: Date.now() };
    });
    console.log(`sender reports: ${JSON.stringify(reports.out)}`);
    for (const kind of ['video', 'audio']) {
      const r = reports.out[kind];
      assert(r && r.sent >= 5, `${kind}: sender reports received over 10 s: ${JSON.stringify(r)}`);
      assert(r.packets > 0, `${kind}: the reports count what was sent`);
      assert(Math.abs(reports.now - r.at) < 3000, `${kind}: the latest report's wall clock is recent: ${r.at} vs ${reports.now}`);
    }
    assert(problems.length === 0, problems.join('\n'));
  });
} catch (e) {
  console.log(`stopped: ${e.message}`);
  if (!report.failed) report.failed++;
} finally {
  if (browser) await browser.close().catch(() => {});
  for (const node of [lossy, clean]) {
    if (!node) continue;
    if (report.failed) console.log(`--- jobcastd log (tail) ---\n${node.log().split('\n').slice(-20).join('\n')}`);
    await node.stop();
  }
}
process.exit(report.finish());
