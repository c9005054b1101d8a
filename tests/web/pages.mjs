// The pages in a real Chromium against a real jobcastd: every page and page
// route loads without script errors, fits a 360 px phone without horizontal
// scrolling, switches language, and the API/WHEP modules turn server errors
// into errors the pages can show. Screenshots go to build/test-artifacts/.

import path from 'node:path';
import { args, startServer, launchBrowser, watchPage, Report, assert, eq, PHONE, DESKTOP, artifactsDir, pagesWithHlsFixture } from './harness.mjs';

const opt = args();
const report = new Report('web_pages');
const shots = artifactsDir(path.join(opt.artifacts, 'pages'));
let server, browser, fixture;

const PAGES = [
  { name: 'index', path: '/', ready: '#rooms-live' },
  { name: 'viewer', path: '/room/no-such-room', ready: '#video' },
  { name: 'studio', path: '/studio/no-such-room#token=not-a-real-token', ready: '#go-live' },
  { name: 'console', path: '/console/no-such-room#token=not-a-real-token', ready: '#questions' },
  { name: 'interpret', path: '/interpret/no-such-room#token=not-a-real-token', ready: '#interpret-join' },
];
// A tablet held upright: the studio and console keep every control on the page.
const TABLET = { viewport: { width: 768, height: 1024 }, deviceScaleFactor: 1, isMobile: true, hasTouch: true, locale: 'zh-CN' };

try {
  await report.must('an HLS ladder is made with ffmpeg (720p, 360p, audio only)', async () => { fixture = pagesWithHlsFixture(opt.webClient, 'fixture-room'); });
  await report.must('jobcastd starts', async () => { server = await startServer(opt.jobcastd, { webClient: opt.webClient, staticDir: fixture.dir }); });
  await report.must('Chromium starts', async () => { browser = await launchBrowser(); });
  const base = server.base;

  await report.check('page routes serve their pages; hls.js is served from vendor/ gzipped', async () => {
    for (const [p, marker] of [['/room/abc', 'viewer.js'], ['/studio/abc', 'studio.js'], ['/console/abc', 'console.js'], ['/caption/abc', 'caption.js'], ['/interpret/abc', 'interpret.js'], ['/', 'index.js']]) {
      const res = await fetch(base + p);
      eq(res.status, 200, `${p} status`);
      assert((await res.text()).includes(marker), `${p} is not the right page`);
    }
    const hls = await fetch(`${base}/vendor/hls.light.min.mjs`, { headers: { 'Accept-Encoding': 'gzip' } });
    eq(hls.status, 200, 'hls.js status');
    assert(/javascript/.test(hls.headers.get('content-type')), 'hls.js content type');
  });

  for (const [label, ctxOpts] of [['phone', PHONE], ['tablet', TABLET], ['desktop', DESKTOP]]) {
    const ctx = await browser.newContext(ctxOpts);
    for (const pg of PAGES) {
      await report.check(`${pg.name} loads on ${label} without script errors, no horizontal scroll at ${ctxOpts.viewport.width} px`, async () => {
        const page = await ctx.newPage();
        const problems = watchPage(page, pg.name);
        await page.goto(base + pg.path, { waitUntil: 'load' });
        await page.waitForSelector(pg.ready, { state: 'attached', timeout: 10000 });
        await page.waitForTimeout(600);
        const w = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, inner: window.innerWidth, lang: document.documentElement.lang }));
        assert(w.scroll <= w.inner, `horizontal scroll: scrollWidth ${w.scroll} > ${w.inner}`);
        eq(w.lang, 'zh-CN', 'default language');
        await page.screenshot({ path: path.join(shots, `${pg.name}-${label}.png`), fullPage: true });
        assert(problems.length === 0, problems.join('\n'));
        await page.close();
      });
    }
    await ctx.close();
  }

  await report.check('controls have accessible names (viewer, phone)', async () => {
    const ctx = await browser.newContext(PHONE);
    const page = await ctx.newPage();
    await page.goto(`${base}/room/no-such-room`);
    await page.waitForSelector('#video');
    const unnamed = await page.evaluate(() => [...document.querySelectorAll('button, input, select, textarea')]
      .filter((e) => !e.closest('[hidden]') && !e.closest('dialog'))
      .filter((e) => {
        const name = e.getAttribute('aria-label') || (e.labels && [...e.labels].map((l) => l.textContent).join('').trim()) || e.textContent.trim() || e.title;
        return !name;
      }).map((e) => e.id || e.outerHTML.slice(0, 60)));
    eq(unnamed.length, 0, `unnamed controls ${unnamed.join(', ')}`);
    const live = await page.evaluate(() => ['#qa-list', '#captions', '#player-status', '#chat-list'].every((s) => document.querySelector(s).closest('[aria-live]')));
    assert(live, 'live regions missing');
    await ctx.close();
  });

  await report.check('console: stage controls have accessible names, stage status and errors are live regions, strings in both languages', async () => {
    const ctx = await browser.newContext({ ...DESKTOP, permissions: ['camera', 'microphone'] });
    const page = await ctx.newPage();
    await page.goto(`${base}/console/no-such-room#token=not-a-real-token`);
    await page.waitForSelector('#stage-join');
    await page.click('#camera-preview');  // shows the preview and the device menus
    await page.waitForFunction(() => document.querySelector('#self').videoWidth > 0, null, { timeout: 10000 });
    const unnamed = await page.evaluate(() => [...document.querySelectorAll('section[aria-labelledby="h-stage"] :is(button, input, select)')]
      .filter((e) => !e.closest('[hidden]'))
      .filter((e) => !(e.getAttribute('aria-label') || (e.labels && [...e.labels].map((l) => l.textContent).join('').trim()) || e.textContent.trim()))
      .map((e) => e.id || e.outerHTML.slice(0, 60)));
    eq(unnamed.length, 0, `unnamed stage controls ${unnamed.join(', ')}`);
    eq(await page.getAttribute('#camera-preview', 'aria-pressed'), 'true', 'preview toggle pressed');
    eq(await page.getAttribute('#stage-status', 'aria-live'), 'polite', 'stage status is a live region');
    eq(await page.getAttribute('#stage-error', 'role'), 'alert', 'stage errors are alerts');
    assert(await page.isDisabled('#stage-join'), 'no joining a room that is not live');
    eq(await page.textContent('#stage-join'), '上台讲解', 'Chinese label');
    await page.selectOption('#lang', 'en');
    eq(await page.textContent('#stage-join'), 'Join stage', 'English label');
    eq(await page.getAttribute('#self', 'aria-label'), 'My camera', 'preview named');
    await page.click('#camera-preview');
    assert(await page.isHidden('#self-box'), 'preview closed again');
    await ctx.close();
  });

  await report.check('string table: Chinese by default, English from the browser language or the menu, kept on reload', async () => {
    const zh = await browser.newContext(PHONE);
    const p1 = await zh.newPage();
    await p1.goto(`${base}/room/no-such-room`);
    await p1.waitForSelector('#tab-jobs');
    eq(await p1.textContent('#tab-jobs'), '岗位', 'Chinese tab text');
    await p1.selectOption('#lang', 'en');
    eq(await p1.textContent('#tab-jobs'), 'Jobs', 'English after the menu');
    eq(await p1.getAttribute('html', 'lang'), 'en', 'html lang after the menu');
    eq(await p1.getAttribute('#qa-input', 'placeholder'), 'Your question for the employer or counsellor', 'placeholder translated');
    await p1.reload();
    await p1.waitForSelector('#tab-jobs');
    eq(await p1.textContent('#tab-jobs'), 'Jobs', 'English kept after reload');
    await zh.close();
    const en = await browser.newContext({ ...PHONE, locale: 'en-US' });
    const p2 = await en.newPage();
    await p2.goto(`${base}/`);
    await p2.waitForSelector('#h-upcoming');
    eq(await p2.textContent('#h-upcoming'), 'Coming up', 'English from the browser language');
    await en.close();
  });

  await report.check('Mongolian: chosen from the browser, vertical headings in Noto Sans Mongolian served by the node, switchable and remembered', async () => {
    const ctx = await browser.newContext({ ...PHONE, locale: 'mn-CN' });
    const page = await ctx.newPage();
    const problems = watchPage(page, 'viewer-mn');
    const fonts = [];
    page.on('response', (r) => { if (r.url().includes('/fonts/')) fonts.push({ url: r.url(), status: r.status(), cache: r.headers()['cache-control'] }); });
    await page.goto(`${base}/room/no-such-room`);
    await page.waitForSelector('#tab-queue');
    eq(await page.getAttribute('html', 'lang'), 'mn-Mong', 'html lang from the browser language');
    await page.click('#tab-queue');
    const r = await page.evaluate(async () => {
      const h = document.querySelector('#panel-queue h2');
      const loaded = await document.fonts.load('16px "Noto Sans Mongolian"', h.textContent);
      await document.fonts.ready;
      const face = [...document.fonts].find((f) => f.family.replace(/"/g, '') === 'Noto Sans Mongolian');
      const style = getComputedStyle(h);
      const box = h.getBoundingClientRect();
      return { text: h.textContent, loaded: loaded.length, status: face && face.status,
        check: document.fonts.check('16px "Noto Sans Mongolian"', h.textContent),
        family: style.fontFamily, mode: style.writingMode, w: box.width, h: box.height,
        tab: document.querySelector('#tab-jobs').textContent };
    });
    assert(/[\u1800-\u18af]/.test(r.text), `heading not in Mongolian script: ${r.text}`);
    assert(r.loaded > 0 && r.status === 'loaded' && r.check, `font not loaded: ${JSON.stringify(r)}`);
    assert(/^"?Noto Sans Mongolian/.test(r.family), `heading font: ${r.family}`);
    eq(r.mode, 'vertical-lr', 'heading writing mode');
    assert(r.h > r.w, `vertical heading is taller than wide: ${r.w}x${r.h}`);
    const served = fonts.find((f) => f.url.endsWith('/fonts/NotoSansMongolian-Regular.ttf'));
    assert(served && served.status === 200, `font not served by the node: ${JSON.stringify(fonts)}`);
    assert(/max-age=31536000/.test(served.cache || ''), `font cache header: ${served.cache}`);
    const w = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, inner: window.innerWidth }));
    assert(w.scroll <= w.inner, `horizontal scroll: scrollWidth ${w.scroll} > ${w.inner}`);
    await page.screenshot({ path: path.join(shots, 'viewer-mn-phone.png'), fullPage: true });
    // Switched to Chinese, remembered over a reload, and back.
    await page.selectOption('#lang', 'zh');
    eq(await page.textContent('#tab-jobs'), '岗位', 'Chinese after the menu');
    await page.reload();
    await page.waitForSelector('#tab-jobs');
    eq(await page.textContent('#tab-jobs'), '岗位', 'Chinese kept after reload');
    await page.selectOption('#lang', 'mn');
    eq(await page.textContent('#tab-jobs'), r.tab, 'Mongolian again');
    assert(problems.length === 0, problems.join('\n'));
    await ctx.close();
  });

  await report.check('viewer says so when the room does not exist', async () => {
    const ctx = await browser.newContext(PHONE);
    const page = await ctx.newPage();
    await page.goto(`${base}/room/no-such-room`);
    await page.waitForSelector('#room-error:not([hidden])', { timeout: 10000 });
    const text = await page.textContent('#room-error');
    assert(text.length > 0, 'empty error');
    await ctx.close();
  });

  await report.check('API and WHEP modules turn server and network errors into errors with status and code', async () => {
    const ctx = await browser.newContext(DESKTOP);
    const page = await ctx.newPage();
    await page.goto(`${base}/`);
    const r = await page.evaluate(async () => {
      const api = await import('/js/api.js');
      const whep = await import('/js/whep.js');
      const out = {};
      try { await api.request('GET', '/api/v1/no/such/thing'); } catch (e) { out.notFound = { name: e.name, status: e.status, code: e.code, message: e.message }; }
      try { await api.request('GET', 'http://127.0.0.1:9/api/v1/rooms', { timeoutMs: 3000 }); } catch (e) { out.network = { name: e.name, status: e.status, code: e.code }; }
      try { await new whep.WhepPlayer('/whep/no-such-room', null).start(); } catch (e) { out.whep = { name: e.name, status: e.status, code: e.code }; }
      out.claims = api.claims('x.' + btoa(JSON.stringify({ sub: 'u1', role: 'jobseeker', name: '张三' }).replace(/[^\x00-\x7f]/g, '')) + '.y');
      return out;
    });
    eq(r.notFound && r.notFound.name, 'ApiError', 'error type');
    eq(r.notFound.status, 404, '404 status');
    assert(r.notFound.code && r.notFound.code !== 'http_404', `server's error code expected, got ${r.notFound.code}`);
    eq(r.network && r.network.status, 0, 'network error status');
    eq(r.network.code, 'network', 'network error code');
    eq(r.whep && r.whep.name, 'MediaError', 'WHEP error type');
    assert(r.whep.status >= 400, `WHEP error status ${r.whep.status}`);
    eq(r.claims && r.claims.sub, 'u1', 'claims decoded');
    await ctx.close();
  });

  await report.check('error texts are in the page\'s language, never the server\'s English message', async () => {
    const ctx = await browser.newContext({ ...DESKTOP, locale: 'zh-CN' });
    const page = await ctx.newPage();
    await page.goto(`${base}/?lang=zh`);
    const r = await page.evaluate(async () => {
      const ui = await import('/js/ui.js');
      const cases = [
        { status: 409, code: 'room_ended', message: 'room has ended' },
        { status: 500, code: 'internal', message: 'internal error while frobbing' },
        { status: 400, code: 'invalid_field', message: 'title: must be 1 to 100 characters', field: 'title' },
        { status: 429, code: 'rate_limited', message: 'too many requests; slow down' },
        { status: 418, code: 'teapot_brewing', message: 'short and stout' },
      ];
      return cases.map((e) => ({ message: e.message, text: ui.errorText(e) }));
    });
    for (const { message, text } of r) {
      assert(text && !text.includes(message), `server message shown: ${text}`);
      assert(/[\u4e00-\u9fff]/.test(text), `not Chinese: ${text}`);
    }
    await ctx.close();
  });

  await report.check('a WHEP 307 to a node the site does not list gets no token', async () => {
    const ctx = await browser.newContext(DESKTOP);
    const page = await ctx.newPage();
    await page.goto(`${base}/`);
    const r = await page.evaluate(async () => {
      const webrtc = await import('/js/webrtc.js');
      const config = await (await fetch('/api/v1/config')).json();
      // The browser followed a 307 to another origin and dropped the token on
      // the way, as browsers do: the answer is a 401 from there.
      const calls = [];
      const realFetch = window.fetch;
      window.fetch = async (url, init = {}) => {
        if (String(url).includes('/api/v1/config')) return realFetch(url, init);
        calls.push({ url: String(url), auth: (init.headers && init.headers.Authorization) || '' });
        return { status: 401, ok: false, redirected: true, url: 'https://evil.example/whep/moved-room',
          statusText: 'Unauthorized', headers: new Headers(), text: async () => '{"error":{"code":"unauthorized","message":"no token"}}' };
      };
      const pc = new RTCPeerConnection();
      pc.addTransceiver('video', { direction: 'recvonly' });
      let error = null;
      try { await webrtc.negotiate(pc, '/whep/moved-room', 'secret-token-value', { gatherMs: 200 }); } catch (e) { error = { name: e.name, code: e.code }; }
      await webrtc.endSession('https://evil.example/whep/moved-room/s1', 'secret-token-value');
      window.fetch = realFetch;
      pc.close();
      return { error, calls, config, same: await webrtc.mayCarryToken('/whep/x'), other: await webrtc.mayCarryToken('https://evil.example/whep/x') };
    });
    assert(Array.isArray(r.config.node_origins), 'GET /api/v1/config lists node_origins');
    eq(r.same, true, 'own origin trusted');
    eq(r.other, false, 'unlisted origin not trusted');
    eq(r.error && r.error.code, 'untrusted_node', 'negotiation stops');
    const leaked = r.calls.filter((c) => c.url.startsWith('https://evil.example') && c.auth);
    eq(leaked.length, 0, `token sent to another origin: ${JSON.stringify(r.calls)}`);
    await ctx.close();
  });

  await report.check('player reads HLS master playlists: renditions and audio-only', async () => {
    const ctx = await browser.newContext(DESKTOP);
    const page = await ctx.newPage();
    await page.goto(`${base}/`);
    const q = await page.evaluate(async () => {
      const { parseMaster } = await import('/js/player.js');
      const text = '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=2500000,RESOLUTION=1280x720,CODECS="avc1.42e01f,mp4a.40.2"\nsource/index.m3u8\n' +
        '#EXT-X-STREAM-INF:BANDWIDTH=600000,RESOLUTION=640x360,CODECS="avc1.42e01e,mp4a.40.2"\nlow/index.m3u8\n' +
        '#EXT-X-STREAM-INF:BANDWIDTH=64000,CODECS="mp4a.40.2"\naudio/index.m3u8\n';
      return parseMaster(text, '/hls/r1/master.m3u8');
    });
    eq(q.length, 3, 'variants');
    eq(q[1].height, 360, 'low rendition height');
    eq(q[2].audioOnly, true, 'audio-only variant');
    assert(q[0].uri.endsWith('/hls/r1/source/index.m3u8'), `uri resolved: ${q[0].uri}`);
    // The interpreter variant is an alternative picture, not a variant of its own.
    const i = await page.evaluate(async () => {
      const { parseMaster, interpreterPlaylist } = await import('/js/player.js');
      const text = '#EXTM3U\n#EXT-X-MEDIA:TYPE=VIDEO,GROUP-ID="programme",NAME="Programme",DEFAULT=YES,AUTOSELECT=YES\n' +
        '#EXT-X-MEDIA:TYPE=VIDEO,GROUP-ID="programme",NAME="Sign language",DEFAULT=NO,AUTOSELECT=NO,URI="interpreter/index.m3u8"\n' +
        '#EXT-X-STREAM-INF:BANDWIDTH=2500000,RESOLUTION=1280x720,CODECS="avc1.42e01f,mp4a.40.2",VIDEO="programme"\nsource/index.m3u8\n';
      return { variants: parseMaster(text, '/hls/r1/master.m3u8'),
               signing: interpreterPlaylist(text, '/hls/r1/master.m3u8'),
               none: interpreterPlaylist('#EXTM3U\n', '/hls/r1/master.m3u8') };
    });
    eq(i.variants.length, 1, 'the interpreter is no variant of its own');
    assert(i.signing.endsWith('/hls/r1/interpreter/index.m3u8'), `interpreter playlist: ${i.signing}`);
    eq(i.none, '', 'no interpreter playlist without an interpreter');
    await ctx.close();
  });

  await report.check('player plays HLS with the bundled hls.js: time advances, quality menu, audio only, first-frame time', async () => {
    const ctx = await browser.newContext(PHONE);
    const page = await ctx.newPage();
    const problems = watchPage(page, 'player');
    await page.goto(`${base}/`);
    const r = await page.evaluate(async () => {
      const { Player } = await import('/js/player.js');
      const video = document.createElement('video');
      video.id = 'video';
      video.muted = true;
      video.playsInline = true;
      document.body.prepend(video);
      let qualities = [];
      const player = new Player(video, { onQualities: (q) => { qualities = q; } });
      player.masterUrl = (room) => `/fixtures/hls/${room}/master.m3u8`;  // ffmpeg-made, served as files
      window.p = player;
      await player.playHls('fixture-room');
      const advance = (s, ms) => new Promise((resolve, reject) => {
        const t0 = video.currentTime;
        const timer = setInterval(() => { if (video.currentTime > t0 + s) { clearInterval(timer); resolve(video.currentTime); } }, 100);
        setTimeout(() => { clearInterval(timer); reject(new Error(`time stuck at ${video.currentTime} (status ${player.status}, ${player.lastError || ''})`)); }, ms);
      });
      await advance(1.5, 15000);
      const out = { usesHlsJs: !!player.hls, width: video.videoWidth, ttff: player.metrics.ttff.hls, qualities: qualities.map((q) => q.id.split('/').slice(-2).join('/')) };
      player.setQuality('audio');
      await advance(1, 15000);
      out.audioOnly = video.classList.contains('audio-only');
      out.audioSrc = player.hls && player.hls.url;
      await player.stop();
      return out;
    });
    assert(r.usesHlsJs, 'hls.js used on Chromium');
    assert(r.width === 1280 || r.width === 640, `a video rendition plays: width ${r.width}`);
    assert(r.ttff > 0, `first-frame time measured: ${r.ttff}`);
    eq(JSON.stringify(r.qualities), JSON.stringify(['auto', 'source/index.m3u8', '360p/index.m3u8', 'audio']), 'quality menu');
    assert(r.audioOnly && /audio\/index\.m3u8$/.test(r.audioSrc), `audio only plays the audio rendition: ${r.audioSrc}`);
    assert(problems.length === 0, problems.join('\n'));
    await ctx.close();
  });

  // The pages follow the events the server really sends: room.status moves an
  // open viewer from "not started" to live to ended; application.created puts
  // the new application in an open studio, whose profile comes with a read of
  // only the new applications (never a re-list, which would audit everyone).
  await report.check('an open viewer follows the room going live and ending; an open studio adds each new application without re-listing', async () => {
    const rest = async (method, url, token, body = {}) => {
      const res = await fetch(`${base}/api/v1${url}`, { method, headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
      const text = await res.text();
      if (!res.ok) throw new Error(`${method} ${url} -> ${res.status} ${text}`);
      return text ? JSON.parse(text) : null;
    };
    const admin = server.token('admin', 'ops', { rooms: ['*'], name: 'ops' });
    const emp = await rest('POST', '/employers', admin, { name: 'Harbour Foods' });
    await rest('POST', `/employers/${encodeURIComponent(emp.id)}/verify`, admin);
    const room = await rest('POST', '/rooms', admin, { title: 'Status room', employer_id: emp.id, scheduled_at: Math.floor(Date.now() / 1000) + 3600 });
    const job = await rest('POST', `/rooms/${room.id}/jobs`, admin, { title: 'Packer', wage_min: 4000, wage_max: 5000, wage_unit: 'month', hours: '8-17', location: 'Baotou', headcount: 3 });
    const employer = server.token('employer', emp.id, { rooms: [room.id], employer: emp.id, name: 'Harbour Foods' });
    const applyAs = async (sub, name) => {
      const tok = server.token('jobseeker', sub, { rooms: [room.id], name });
      await rest('PUT', '/me/profile', tok, { name, phone: '13800138000' });
      await rest('POST', `/rooms/${room.id}/jobs/${job.id}/apply`, tok);
    };
    await applyAs('pages-seeker-0', 'Before');

    const ctx = await browser.newContext(DESKTOP);
    const viewer = await ctx.newPage();
    const problems = watchPage(viewer, 'viewer');
    await viewer.goto(`${base}/room/${room.id}`);
    await viewer.waitForFunction(() => document.body.dataset.live === 'open', null, { timeout: 10000 });
    eq(await viewer.textContent('#room-status'), '未开始', 'status before the start');

    const studio = await ctx.newPage();
    problems.push(...watchPage(studio, 'studio'));
    const reads = [];
    studio.on('request', (r) => {
      const u = new URL(r.url());
      if (r.method() === 'GET' && u.pathname === `/api/v1/rooms/${room.id}/applications`) reads.push(Number(u.searchParams.get('offset') || 0));
    });
    await studio.goto(`${base}/studio/${room.id}#token=${employer}`);
    await studio.waitForFunction(() => window.jobcastLive && window.jobcastLive.state === 'open', null, { timeout: 10000 });
    await studio.waitForFunction(() => [...document.querySelectorAll('#applications .app-name')].some((e) => e.textContent === 'Before'), null, { timeout: 5000 });

    await rest('POST', `/rooms/${room.id}/start`, employer);
    await viewer.waitForFunction(() => document.querySelector('#room-status').textContent === '直播中', null, { timeout: 5000 });

    const names = () => studio.$$eval('#applications .app-name', (l) => l.map((e) => e.textContent).sort());
    await applyAs('pages-seeker-1', 'Ama');
    await studio.waitForFunction(() => [...document.querySelectorAll('#applications .app-name')].some((e) => e.textContent === 'Ama'), null, { timeout: 5000 });
    await applyAs('pages-seeker-2', 'Kofi');
    await studio.waitForFunction(() => [...document.querySelectorAll('#applications .app-name')].some((e) => e.textContent === 'Kofi'), null, { timeout: 5000 });
    eq(JSON.stringify(await names()), JSON.stringify(['Ama', 'Before', 'Kofi']), 'applications in the studio');
    eq(JSON.stringify(reads), JSON.stringify([0, 1, 2]), 'application reads (offsets): one list, then only the new ones');

    await rest('POST', `/rooms/${room.id}/end`, employer);
    await viewer.waitForFunction(() => document.querySelector('#room-status').textContent === '已结束', null, { timeout: 5000 });
    assert(problems.length === 0, problems.join('\n'));
    await ctx.close();
  });

  await report.check('studio shows the fake camera in its preview and lists devices', async () => {
    const ctx = await browser.newContext(DESKTOP);
    const page = await ctx.newPage();
    const problems = watchPage(page, 'studio');
    await page.goto(`${base}/studio/no-such-room#token=not-a-real-token`);
    await page.waitForFunction(() => { const v = document.querySelector('#preview'); return v && v.videoWidth > 0 && v.currentTime > 0; }, null, { timeout: 10000 });
    const n = await page.$$eval('#camera option', (o) => o.length);
    assert(n >= 1, 'no camera listed');
    eq(await page.evaluate(() => location.hash), '', 'token removed from the address bar');
    assert(problems.length === 0, problems.join('\n'));
    await ctx.close();
  });
} catch (e) {
  console.log(`stopped: ${e.message}`);
  if (!report.failed) report.failed++;
} finally {
  if (browser) await browser.close().catch(() => {});
  if (server) {
    if (report.failed) console.log(`--- jobcastd log (tail) ---\n${server.log().split('\n').slice(-30).join('\n')}`);
    await server.stop();
  }
  if (fixture) fixture.remove();
}
process.exit(report.finish());
