// The viewer by keyboard alone, in Debian's Chromium against a real jobcastd:
// a signed-in jobseeker (profile on file) on a phone-sized page (360×640) and
// on a desktop uses only Tab, Shift+Tab, Enter and Space. They reach the
// pinned job's Apply and apply; open chat (the chat button over the video on
// the phone, the Chat tab on the desktop), type and send a message; on the
// phone the chat sheet closes with Escape and focus returns to the chat
// button. At every stop the focused control shows a focus indicator
// (:focus-visible with a visible outline) and is on screen, not covered by
// the fixed bar or the sheet.
//
// Screenshots go to build/test-artifacts/keyboard/.

import path from 'node:path';
import { args, startServer, launchBrowser, watchPage, Report, assert, eq, PHONE, DESKTOP, artifactsDir, restClient } from './harness.mjs';

const opt = args();
const report = new Report('web_keyboard');
const out = artifactsDir(path.join(opt.artifacts, 'keyboard'));
let server, browser;

const rest = restClient(() => server.base);

// The focused element: what it is, whether its focus shows, whether it is on
// screen and not covered at its centre.
function focusInfo(page) {
  return page.evaluate(() => {
    const e = document.activeElement;
    if (!e || e === document.body) return { name: 'body', shows: false, onScreen: false };
    const cs = getComputedStyle(e);
    const r = e.getBoundingClientRect();
    const cx = Math.min(innerWidth - 1, Math.max(0, r.left + r.width / 2));
    const cy = Math.min(innerHeight - 1, Math.max(0, r.top + r.height / 2));
    const top = document.elementFromPoint(cx, cy);
    const name = `${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}${e.className && typeof e.className === 'string' ? '.' + e.className.trim().split(/\s+/).join('.') : ''}`;
    return {
      name,
      shows: e.matches(':focus-visible') && cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) >= 2,
      onScreen: r.bottom > 0 && r.top < innerHeight && r.right > 0 && r.left < innerWidth,
      covered: !!top && top !== e && !e.contains(top) && !(top.tagName === 'LABEL' && top.contains(e)) && !(e.labels && [...e.labels].some((l) => l.contains(top))),
      by: top ? `${top.tagName.toLowerCase()}${top.id ? '#' + top.id : ''}` : '',
    };
  });
}

// Tabs (or Shift+Tabs) until `pred(info)` holds; checks each stop on the way.
async function tabTo(page, pred, what, { back = false, max = 60 } = {}) {
  const stops = [];
  for (let i = 0; i < max; i++) {
    await page.keyboard.press(back ? 'Shift+Tab' : 'Tab');
    const f = await focusInfo(page);
    stops.push(f.name);
    if (f.name !== 'body') {
      assert(f.shows, `focus not visible on ${f.name} (after ${stops.join(' → ')})`);
      assert(f.onScreen && !f.covered, `${f.name} focused off screen or covered by ${f.by}`);
    }
    if (await pred(f)) return stops;
  }
  throw new Error(`${what}: not reached in ${max} presses: ${stops.join(' → ')}`);
}

try {
  await report.must('jobcastd starts', async () => { server = await startServer(opt.jobcastd, { webClient: opt.webClient }); });
  await report.must('Chromium starts', async () => { browser = await launchBrowser(); });

  const admin = server.token('admin', 'ops', { rooms: ['*'], name: 'ops' });
  const emp = await rest('POST', '/employers', admin, { name: '草原乳业有限公司' });
  await rest('POST', `/employers/${emp.id}/verify`, admin, {});
  const roomId = (await rest('POST', '/rooms', admin, { title: '键盘也能投递', region_code: '150100', employer_id: emp.id,
    scheduled_at: Math.floor(Date.now() / 1000) })).id;
  const employer = server.token('employer', emp.id, { rooms: [roomId], employer: emp.id, name: '草原乳业' });
  const jobs = [];
  for (const j of [
    { title: '奶粉包装工', wage_min: 4500, wage_max: 6000, wage_unit: 'month', hours: '8:00-17:00', location: '呼和浩特', housing: '提供宿舍', headcount: 30, contract_template_url: '/contracts/labour.pdf' },
    { title: '冷链司机', wage_min: 7000, wage_max: 9000, wage_unit: 'month', hours: '两班倒', location: '包头', headcount: 5 },
  ]) jobs.push(await rest('POST', `/rooms/${roomId}/jobs`, employer, j));
  await rest('POST', `/rooms/${roomId}/start`, employer, {});
  await rest('POST', `/rooms/${roomId}/jobs/${jobs[0].id}/pin`, employer, {});

  for (const [label, ctxOpts, sub] of [['phone', PHONE, 'seeker-k1'], ['desktop', DESKTOP, 'seeker-k2']]) {
    const seeker = server.token('jobseeker', sub, { rooms: [roomId], name: '其木格' });
    await rest('PUT', '/me/profile', seeker, { name: '其木格', phone: '13800138000', cv: 'C1 驾照' });
    const ctx = await browser.newContext(ctxOpts);
    const page = await ctx.newPage();
    const problems = watchPage(page, `viewer-${label}`);
    await page.goto(`${server.base}/room/${roomId}#token=${seeker}`);
    await page.waitForSelector('#pinned:not([hidden]) button.apply', { timeout: 10000 });
    await page.waitForFunction(() => document.body.dataset.live === 'open', null, { timeout: 10000 });

    await report.check(`${label}: Tab reaches the pinned job's Apply with focus always visible; Enter applies`, async () => {
      await tabTo(page, (f) => f.name.startsWith('button') && f.name.includes('apply'), 'the pinned Apply');
      const inPinned = await page.evaluate(() => !!document.activeElement.closest('#pinned'));
      assert(inPinned, 'the Apply reached is the pinned job\'s');
      await page.screenshot({ path: path.join(out, `${label}-apply-focused.png`) });
      await page.keyboard.press('Enter');
      await page.waitForFunction(() => document.querySelector('#pinned button.applied'), null, { timeout: 10000 });
      const mine = await rest('GET', '/me/applications', seeker);
      const list = Array.isArray(mine) ? mine : (mine.applications || mine.items || []);
      assert(list.some((a) => String(a.job_id) === String(jobs[0].id)), `applied by keyboard: ${JSON.stringify(mine)}`);
      // Focus is not lost to the page's top after the button changed.
      const f = await focusInfo(page);
      assert(f.name !== 'body', 'focus kept after applying');
    });

    await report.check(`${label}: Shift+Tab goes back through the controls with focus visible`, async () => {
      await tabTo(page, (f) => f.name === 'video#video' || f.name.includes('low-latency') || f.name.includes('open-chat'), 'a player control going back', { back: true, max: 20 });
    });

    await report.check(`${label}: chat by keyboard: open${label === 'phone' ? ' the sheet' : ''}, type, send with Enter${label === 'phone' ? '; Escape closes the sheet and focus returns to the chat button' : ''}`, async () => {
      if (label === 'phone') {
        await tabTo(page, (f) => f.name.startsWith('button#open-chat'), 'the chat button', { back: true, max: 30 }).catch(() =>
          tabTo(page, (f) => f.name.startsWith('button#open-chat'), 'the chat button'));
        await page.keyboard.press('Enter');
        await page.waitForFunction(() => document.body.classList.contains('sheet'), null, { timeout: 3000 });
        eq((await focusInfo(page)).name.split('.')[0], 'input#chat-input', 'focus in the chat input');
      } else {
        await tabTo(page, (f) => f.name.startsWith('button#tab-'), 'the tabs');
        // The tab strip: arrows move between tabs (ARIA tabs); Enter and Space also work on a focused tab.
        for (let i = 0; i < 4 && !(await page.evaluate(() => document.activeElement.id === 'tab-chat')); i++) await page.keyboard.press('ArrowRight');
        await page.keyboard.press('Space');
        await tabTo(page, (f) => f.name.startsWith('input#chat-input'), 'the chat input');
      }
      await page.keyboard.type('键盘发来的消息');
      await page.keyboard.press('Enter');
      await page.waitForFunction(() => document.querySelector('#chat-list').textContent.includes('键盘发来的消息'), null, { timeout: 5000 });
      await page.screenshot({ path: path.join(out, `${label}-chat-sent.png`) });
      if (label === 'phone') {
        await tabTo(page, (f) => f.name.startsWith('button#sheet-close'), 'the sheet\'s close button', { back: true, max: 20 });
        await page.keyboard.press('Enter');
        await page.waitForFunction(() => !document.body.classList.contains('sheet'), null, { timeout: 3000 });
        eq((await focusInfo(page)).name.split('.')[0], 'button#open-chat', 'focus back on the chat button');
        // Once more, closed with Escape from inside the input.
        await page.keyboard.press('Enter');
        await page.waitForFunction(() => document.body.classList.contains('sheet'), null, { timeout: 3000 });
        await page.keyboard.press('Escape');
        await page.waitForFunction(() => !document.body.classList.contains('sheet'), null, { timeout: 3000 });
        const f = await focusInfo(page);
        eq(f.name.split('.')[0], 'button#open-chat', 'Escape returns focus to the chat button');
        assert(f.shows, 'focus visible on the chat button');
      }
    });
    await report.check(`${label}: no page errors`, async () => { assert(problems.length === 0, problems.join('\n')); });
    await ctx.close();
  }
} catch (e) {
  console.log(`stopped: ${e.message}`);
  if (!report.failed) report.failed++;
} finally {
  if (browser) await browser.close().catch(() => {});
  if (server) await server.stop();
}
process.exit(report.finish());
