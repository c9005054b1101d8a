// Accessibility of the pages in a real Chromium against a real jobcastd:
// axe-core (npm axe-core) on the viewer (phone, 360×640; also a scheduled
// room with its follow button), the front page (anonymous and a signed-in
// jobseeker who follows rooms), the my page (phone), the studio, the console,
// the captioner's page and the back office /admin (desktop 1280 and a 768 px
// tablet), in Chinese and Mongolian, with a live room holding jobs, a pinned
// job, chat and a card. Every page must have
// no critical and no serious violation. On the phone, every control outside
// running text is at least 44×44 px. The counts by impact for each page go to
// build/test-artifacts/a11y/axe.json and the log.
//
// node tests/web/a11y.mjs --jobcastd build/server/jobcastd --web-client web-client --artifacts build/test-artifacts

import path from 'node:path';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { args, startServer, launchBrowser, watchPage, Report, assert, eq, PHONE, DESKTOP, artifactsDir, restClient } from './harness.mjs';

const opt = args();
const report = new Report('web_a11y');
const out = artifactsDir(path.join(opt.artifacts, 'a11y'));
const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const TABLET = { viewport: { width: 768, height: 1024 }, deviceScaleFactor: 1, isMobile: true, hasTouch: true };
let server, browser;

const rest = restClient(() => server.base);

// axe on the page as it is; the violations, each with its impact and nodes.
async function axe(page) {
  await page.addScriptTag({ path: axePath });
  return page.evaluate(async () => {
    const r = await window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] } });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.slice(0, 5).map((n) => ({ target: n.target.join(' '), summary: n.failureSummary })) }));
  });
}

// Visible controls smaller than 44×44 px, except links inside running text.
async function smallTargets(page) {
  return page.evaluate(() => [...document.querySelectorAll('button, a[href], input, select, textarea, [role=tab], summary')]
    .filter((e) => e.getClientRects().length && getComputedStyle(e).visibility !== 'hidden' && !e.closest('[hidden], dialog:not([open])'))
    .filter((e) => !(e.tagName === 'A' && e.closest('p, li, dd') && !e.classList.contains('button')))
    .filter((e) => !(e.type === 'checkbox' || e.type === 'radio') || !e.closest('label'))
    .map((e) => ({ e, r: e.getBoundingClientRect() }))
    .filter(({ r }) => r.width < 44 - 0.5 || r.height < 44 - 0.5)
    .map(({ e, r }) => `${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}${e.className ? '.' + String(e.className).split(' ').join('.') : ''} ${Math.round(r.width)}×${Math.round(r.height)}`));
}

const counts = {};
try {
  await report.must('jobcastd starts', async () => { server = await startServer(opt.jobcastd, { webClient: opt.webClient }); });
  await report.must('Chromium starts', async () => { browser = await launchBrowser(); });

  const admin = server.token('admin', 'ops', { rooms: ['*'], name: 'ops' });
  let roomId, employerId, jobs = [];
  await report.must('a live room with jobs, a pinned job, chat, a question and a card', async () => {
    const emp = await rest('POST', '/employers', admin, { name: '草原乳业有限公司' });
    employerId = emp.id;
    await rest('POST', `/employers/${encodeURIComponent(employerId)}/verify`, admin, {});
    const room = await rest('POST', '/rooms', admin, { title: '呼和浩特春季招聘直播', region_code: '150100', employer_id: employerId,
      scheduled_at: Math.floor(Date.now() / 1000), counsellors: ['counsellor-1'], captioners: ['captioner-1'], interpreters: ['interp-1'] });
    roomId = room.id;
    const employer = server.token('employer', employerId, { rooms: [roomId], employer: employerId, name: '草原乳业' });
    for (const j of [
      { title: '奶粉包装工', wage_min: 4500, wage_max: 6000, wage_unit: 'month', hours: '8:00-17:00', location: '呼和浩特', housing: '提供宿舍', headcount: 30, description: '流水线包装，岗前培训', contract_template_url: '/contracts/labour.pdf' },
      { title: '冷链司机', wage_min: 7000, wage_max: 9000, wage_unit: 'month', hours: '两班倒', location: '包头', housing: '包住', headcount: 5 },
    ]) jobs.push(await rest('POST', `/rooms/${roomId}/jobs`, employer, j));
    await rest('POST', `/rooms/${roomId}/start`, employer, {});
    await rest('POST', `/rooms/${roomId}/jobs/${jobs[0].id}/pin`, employer, {});
    // An interpreter on the stage: the viewer offers its sign-language switch.
    await rest('PUT', `/rooms/${roomId}/stage/interp-1`, employer, { slot: 'interpreter', name: '高娃' });
    // A jobseeker chats and asks; a counsellor shows a card (the live channel).
    const { default: WebSocket } = await import('ws');
    const say = (token, frames) => new Promise((resolve, reject) => {
      const ws = new WebSocket(server.base.replace(/^http/, 'ws') + '/ws', 'jobcast.v1');
      let req = 0, acks = 0;
      ws.on('open', () => ws.send(JSON.stringify({ type: 'hello', room: roomId, token })));
      ws.on('message', (m) => {
        const f = JSON.parse(m);
        if (f.type === 'welcome') for (const fr of frames) ws.send(JSON.stringify({ ...fr, req: ++req }));
        if (f.type === 'error') reject(new Error(JSON.stringify(f)));
        if (f.type === 'ack' && ++acks === frames.length) { ws.close(); resolve(); }
      });
      ws.on('error', reject);
    });
    await say(server.token('jobseeker', 'seeker-2', { rooms: [roomId], name: '巴特尔' }),
      [{ type: 'chat.send', text: '请问包住宿吗？' }, { type: 'question.ask', text: '有没有五险一金？' }]);
    await say(server.token('counsellor', 'counsellor-1', { rooms: [roomId], name: '王老师' }),
      [{ type: 'card.show', card: 'policy', title: '高校毕业生就业补贴', body: '签订一年以上劳动合同的，可申请一次性吸纳就业补贴。' }]);
    await say(server.token('captioner', 'captioner-1', { rooms: [roomId], name: '字幕员' }),
      [{ type: 'caption.send', text: '欢迎来到呼和浩特春季招聘直播', lang: 'zh' }]);
  });
  const captioner = server.token('captioner', 'captioner-1', { rooms: [roomId], name: '字幕员' });
  const employer = server.token('employer', employerId, { rooms: [roomId], employer: employerId, name: '草原乳业' });
  const counsellor = server.token('counsellor', 'counsellor-1', { rooms: [roomId], name: '王老师' });
  const seeker = server.token('jobseeker', 'seeker-1', { rooms: [roomId], name: '其木格' });
  // The back office lists accounts: one of each kind an admin makes most.
  await report.must('staff accounts for the back office', async () => {
    await rest('POST', '/admin/accounts', admin, { kind: 'counsellor', name: '王老师' });
    await rest('POST', '/admin/accounts', admin, { kind: 'employer', name: '草原乳业 人事部', employer_id: employerId });
  });
  const adminStore = ['jobcast.token.admin', admin];
  const interp = server.token('captioner', 'interp-1', { rooms: [roomId], name: '高娃' });
  // A phone turned sideways (390×844 held landscape).
  const LANDSCAPE = { viewport: { width: 844, height: 390 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };

  let upcomingId;
  await report.must('the jobseeker has a profile, an application and follows an upcoming room', async () => {
    await rest('PUT', '/me/profile', seeker, { name: '其木格', phone: '13800138000', cv: '包装 司机', region_code: '150102', wage_min: 4000 });
    await rest('POST', `/rooms/${roomId}/jobs/${jobs[1].id}/apply`, seeker, {});
    const upcoming = await rest('POST', '/rooms', admin, { title: '包头秋季招聘直播', region_code: '150200', employer_id: employerId,
      scheduled_at: Math.floor(Date.now() / 1000) + 86400 });
    upcomingId = upcoming.id;
    await rest('POST', `/rooms/${upcomingId}/jobs`, admin, { title: '仓库管理员', wage_min: 5000, wage_max: 6500, wage_unit: 'month', hours: '8小时', location: '包头', headcount: 2 });
    await rest('PUT', `/rooms/${upcomingId}/follow`, seeker, {});
  });

  const PAGES = [
    { name: 'viewer', ctx: PHONE, path: () => `/room/${roomId}#token=${seeker}`, ready: '#pinned:not([hidden])', targets: true, tabs: ['#tab-chat', '#tab-qa', '#tab-queue'] },
    { name: 'viewer-anonymous', ctx: PHONE, path: () => `/room/${roomId}`, ready: '#pinned:not([hidden])', targets: true },
    { name: 'viewer-landscape', ctx: LANDSCAPE, path: () => `/room/${roomId}#token=${seeker}`, ready: '#pinned:not([hidden])', targets: true },
    { name: 'interpret', ctx: DESKTOP, path: () => `/interpret/${roomId}#token=${interp}`, ready: '#interpret-status' },
    { name: 'interpret-phone', ctx: PHONE, path: () => `/interpret/${roomId}#token=${interp}`, ready: '#interpret-status', targets: true },
    { name: 'studio', ctx: DESKTOP, path: () => `/studio/${roomId}#token=${employer}`, ready: '#jobs li' },
    { name: 'studio-tablet', ctx: TABLET, path: () => `/studio/${roomId}#token=${employer}`, ready: '#jobs li' },
    { name: 'console', ctx: DESKTOP, path: () => `/console/${roomId}#token=${counsellor}`, ready: '#chat li' },
    { name: 'console-tablet', ctx: TABLET, path: () => `/console/${roomId}#token=${counsellor}`, ready: '#chat li' },
    { name: 'admin', ctx: DESKTOP, path: () => '/admin', store: adminStore, ready: '#account-list tr' },
    { name: 'admin-tablet', ctx: TABLET, path: () => '/admin', store: adminStore, ready: '#account-list tr' },
    { name: 'caption', ctx: DESKTOP, path: () => `/caption/${roomId}#token=${captioner}`, ready: '#sent li' },
    { name: 'caption-tablet', ctx: TABLET, path: () => `/caption/${roomId}#token=${captioner}`, ready: '#sent li', targets: true },
    { name: 'index', ctx: PHONE, path: () => '/', ready: '#rooms-live a.room', targets: true },
    { name: 'index-jobseeker', ctx: PHONE, token: seeker, path: () => '/', ready: '#rooms-scheduled [data-follow]', targets: true },
    { name: 'me', ctx: PHONE, path: () => `/me.html#token=${seeker}`, ready: '#recs li.recommendation', targets: true },
    { name: 'viewer-scheduled', ctx: PHONE, path: () => `/room/${upcomingId}#token=${seeker}`, ready: '#follow', targets: true },
  ];
  await report.check('phone 360×640: video, the pinned job card and its apply button are on the first screen; chat opens as a sheet with the video in view; the header stays', async () => {
    for (const [label, token] of [['jobseeker', seeker], ['anonymous', '']]) {
      const ctx = await browser.newContext(PHONE);
      const page = await ctx.newPage();
      await page.goto(`${server.base}/room/${roomId}${token ? '#token=' + token : ''}`);
      await page.waitForSelector('#pinned:not([hidden]) button.apply', { timeout: 10000 });
      const r = await page.evaluate(() => {
        const box = (s) => { const b = document.querySelector(s).getBoundingClientRect(); return { top: Math.round(b.top), bottom: Math.round(b.bottom), h: Math.round(b.height) }; };
        return { inner: innerHeight, video: box('#video'), card: box('#pinned'), apply: box('#pinned button.apply'), controls: document.querySelector('#video').controls };
      });
      for (const k of ['video', 'card', 'apply']) {
        assert(r[k].h > 0 && r[k].top >= 0 && r[k].bottom <= r.inner, `${label}: ${k} not on the first screen: ${JSON.stringify(r)}`);
      }
      assert(r.video.h >= 200, `${label}: video only ${r.video.h} px high`);
      assert(r.controls, 'the video has play/pause, volume and fullscreen controls');
      await page.screenshot({ path: path.join(out, `viewer-first-screen-${label}.png`) });
      if (token) {
        // Chat opens as a sheet; the video stays on screen above it while chatting.
        await page.click('#open-chat');
        await page.fill('#chat-input', '视频还在吗？');
        await page.click('#chat-form button[type=submit]');
        await page.waitForFunction(() => document.querySelector('#chat-list').textContent.includes('视频还在吗'), null, { timeout: 5000 });
        const s = await page.evaluate(() => {
          const v = document.querySelector('#video').getBoundingClientRect();
          const sheet = document.querySelector('#room-panel').getBoundingClientRect();
          const input = document.querySelector('#chat-input').getBoundingClientRect();
          return { inner: innerHeight, vTop: v.top, vBottom: v.bottom, vH: v.height, sheetTop: sheet.top, inputTop: input.top, inputBottom: input.bottom };
        });
        assert(s.vTop >= 0 && s.vH >= 120 && s.vBottom <= s.sheetTop + 1, `video not in view above the chat sheet: ${JSON.stringify(s)}`);
        assert(s.inputTop >= s.sheetTop && s.inputBottom <= s.inner, `chat input not on screen: ${JSON.stringify(s)}`);
        await page.screenshot({ path: path.join(out, 'viewer-chat-sheet.png') });
        await page.click('#sheet-close');
        await page.waitForSelector('#pinned:not([hidden]) button.apply', { state: 'visible', timeout: 3000 });
      }
      await page.mouse.wheel(0, 800);
      await page.waitForFunction(() => scrollY > 0, null, { timeout: 3000 });
      const header = await page.evaluate(() => Math.round(document.querySelector('header.top').getBoundingClientRect().top));
      eq(header, 0, `${label}: header stays on top after scrolling`);
      await ctx.close();
    }
  });

  await report.check('phone sideways (844×390): the video fills the screen, the pinned job\'s apply and the chat button are on it; chat opens as a side panel with the video in view; the sign-language switch and quality menu are there', async () => {
    const ctx = await browser.newContext(LANDSCAPE);
    const page = await ctx.newPage();
    await page.goto(`${server.base}/room/${roomId}#token=${seeker}`);
    await page.waitForSelector('#pinned:not([hidden]) button.apply', { timeout: 10000 });
    await page.waitForSelector('#interpreter-box:not([hidden])', { timeout: 10000 });
    const box = (s) => page.evaluate((sel) => { const b = document.querySelector(sel).getBoundingClientRect(); return { top: b.top, bottom: b.bottom, left: b.left, right: b.right, w: b.width, h: b.height, inner: innerHeight, innerW: innerWidth }; }, s);
    await page.evaluate(() => document.querySelector('#stage').scrollIntoView({ block: 'start' }));
    const v = await box('#video');
    assert(v.h >= v.inner * 0.9 && v.w >= v.innerW * 0.9, `video fills the screen: ${JSON.stringify(v)}`);
    for (const s of ['#pinned button.apply', '#open-chat']) {
      const b = await box(s);
      assert(b.top >= 0 && b.bottom <= b.inner && b.h >= 44, `${s} on screen, 44 px: ${JSON.stringify(b)}`);
    }
    await page.screenshot({ path: path.join(out, 'viewer-landscape.png') });
    await page.click('#open-chat');
    await page.waitForFunction(() => document.body.classList.contains('sheet'), null, { timeout: 3000 });
    const panel = await box('#room-panel');
    const v2 = await box('#video');
    assert(panel.left >= v2.innerW * 0.4 && v2.h >= v2.inner * 0.9, `chat beside the video: ${JSON.stringify({ panel, v2 })}`);
    const input = await box('#chat-input');
    assert(input.top >= 0 && input.bottom <= input.inner, `chat input on screen: ${JSON.stringify(input)}`);
    await page.screenshot({ path: path.join(out, 'viewer-landscape-chat.png') });
    await page.keyboard.press('Escape');
    await page.waitForFunction(() => !document.body.classList.contains('sheet'), null, { timeout: 3000 });
    for (const s of ['#interpreter-box', '#quality']) {
      await page.evaluate((sel) => document.querySelector(sel).scrollIntoView({ block: 'center' }), s);
      const b = await box(s);
      assert(b.h >= 44, `${s} is a 44 px target: ${JSON.stringify(b)}`);
    }
    await ctx.close();
  });

  for (const lang of ['zh', 'mn']) {
    for (const pg of PAGES) {
      const key = `${pg.name}-${lang}`;
      await report.check(`${key}: no critical or serious axe violation${pg.targets ? ', controls at least 44×44 px' : ''}`, async () => {
        const ctx = await browser.newContext({ ...pg.ctx, bypassCSP: true, permissions: ['camera', 'microphone'] });
        await ctx.addInitScript(([l, token]) => {
          try { localStorage.setItem('jobcast.lang', l); if (token) localStorage.setItem('jobcast.token.viewer', token); } catch { /* ignore */ }
        }, [lang, pg.token || '']);
        if (pg.store) await ctx.addInitScript(([k, v]) => { try { localStorage.setItem(k, v); } catch { /* ignore */ } }, pg.store);
        const page = await ctx.newPage();
        const problems = watchPage(page, key);
        await page.goto(server.base + pg.path(), { waitUntil: 'load' });
        await page.waitForSelector(pg.ready, { timeout: 10000 }).catch(() => {});
        await page.waitForTimeout(500);
        const violations = await axe(page);
        const small = pg.targets ? await smallTargets(page) : [];
        // Each tab's panel too: axe skips what is hidden.
        for (const tab of pg.tabs || []) {
          await page.click(tab);
          for (const v of await axe(page)) if (!violations.some((x) => x.id === v.id)) violations.push(v);
          for (const s of await smallTargets(page)) if (!small.includes(s)) small.push(s);
        }
        const byImpact = { critical: 0, serious: 0, moderate: 0, minor: 0 };
        for (const v of violations) byImpact[v.impact] = (byImpact[v.impact] || 0) + 1;
        counts[key] = { ...byImpact, rules: violations.map((v) => `${v.impact}:${v.id}`) };
        await page.screenshot({ path: path.join(out, `${key}.png`), fullPage: true });
        const bad = violations.filter((v) => v.impact === 'critical' || v.impact === 'serious');
        assert(bad.length === 0, bad.map((v) => `${v.impact} ${v.id}: ${v.help}\n  ${v.nodes.map((n) => `${n.target} — ${n.summary.replace(/\n/g, ' ')}`).join('\n  ')}`).join('\n'));
        assert(small.length === 0, `controls under 44×44 px: ${small.join(', ')}`);
        assert(problems.length === 0, problems.join('\n'));
        await ctx.close();
      });
    }
  }
} catch (e) {
  console.log(`stopped: ${e.message}`);
  if (!report.failed) report.failed++;
} finally {
  writeFileSync(path.join(out, 'axe.json'), JSON.stringify(counts, null, 2));
  for (const [k, c] of Object.entries(counts)) console.log(`axe ${k}: critical ${c.critical}, serious ${c.serious}, moderate ${c.moderate}, minor ${c.minor}${c.rules.length ? ' (' + c.rules.join(', ') + ')' : ''}`);
  if (browser) await browser.close().catch(() => {});
  if (server) await server.stop();
}
process.exit(report.finish());
