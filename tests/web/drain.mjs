// A node drained under a watching phone: two jobcastd nodes on one real Redis
// behind the edge (deploy/nginx-edge.conf with both nodes as its upstream,
// a real nginx). A phone watches a live room through the edge in Chromium;
// the node that holds its live channel gets SIGTERM (a drain: node_draining,
// close 1012). The page joins again at once through the edge, lands on the
// other node and resumes where it stopped: every application.count of the
// room arrives exactly once and in order, those made while it moved
// included, and the page never shows "reconnecting" (docs/websocket.md).

import { args, startServer, startEdge, startRedis, launchBrowser, watchPage, restClient, Report, assert, eq, PHONE } from './harness.mjs';

const opt = args();
const report = new Report('web_drain');
let redis, edge, browser;
const nodes = [];

// The node's open live-channel connections (its /metrics).
async function wsConnections(node) {
  const text = await (await fetch(`${node.base}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('jobcast_ws_connections'));
  return line ? Number(line.split(' ').pop()) : 0;
}

async function until(what, fn, ms = 20000) {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await fn()) return;
    assert(Date.now() < deadline, `${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

try {
  await report.must('one Redis, two nodes on it and the edge in front of both start', async () => {
    redis = await startRedis();
    const config = `redis:\n  address: "${redis.address}"\nserver:\n  trusted_proxies: ["127.0.0.1/32"]\n  drain_timeout_ms: 5000\n`;
    for (let i = 0; i < 2; i++) nodes.push(await startServer(opt.jobcastd, { webClient: opt.webClient, config }));
    edge = await startEdge(nodes.map((n) => n.port), opt.nginx ? { nginx: opt.nginx } : {});
    await until('the edge answers /readyz', async () => (await fetch(`${edge.url}/readyz`).catch(() => ({ ok: false }))).ok);
  });

  // The REST calls go to the node that stays up (the other one is drained).
  let survivor = 1;
  const rest = restClient(() => nodes[survivor].base);
  const admin = nodes[0].token('admin', 'ops', { rooms: ['*'], name: 'ops' });
  let roomId, jobId;
  await report.must('a live room with a job', async () => {
    const emp = await rest('POST', '/employers', admin, { name: '草原乳业有限公司' });
    await rest('POST', `/employers/${encodeURIComponent(emp.id)}/verify`, admin, {});
    const room = await rest('POST', '/rooms', admin, { title: '呼和浩特春季招聘直播', region_code: '150100', employer_id: emp.id,
      scheduled_at: Math.floor(Date.now() / 1000) });
    roomId = room.id;
    const employer = nodes[0].token('employer', emp.id, { rooms: [roomId], employer: emp.id, name: '草原乳业' });
    jobId = (await rest('POST', `/rooms/${roomId}/jobs`, employer, { title: '奶粉包装工', wage_min: 4500, wage_max: 6000,
      wage_unit: 'month', hours: '8:00-17:00', location: '呼和浩特', headcount: 30 })).id;
    await rest('POST', `/rooms/${roomId}/start`, employer, {});
  });

  let applied = 0;
  const apply = async () => {
    const seeker = nodes[0].token('jobseeker', `seeker-${applied + 1}`, { rooms: [roomId], name: '其木格' });
    await rest('PUT', '/me/profile', seeker, { name: '其木格', phone: '13800138000', region_code: '150102' });
    await rest('POST', `/rooms/${roomId}/jobs/${jobId}/apply`, seeker, {});
    applied++;
  };

  await report.must('Chromium starts', async () => { browser = await launchBrowser(); });
  const ctx = await browser.newContext(PHONE);
  const page = await ctx.newPage();
  const problems = watchPage(page, 'viewer');
  // What the page's live channel hands to the page, and each state it shows.
  const seen = () => page.evaluate(() => window.drainSeen);
  await report.must('the phone watches the room through the edge and hears the applications', async () => {
    await page.goto(`${edge.url}/room/${roomId}`);
    await page.waitForFunction(() => document.body.dataset.live === 'open', null, { timeout: 20000 });
    await page.evaluate(() => {
      const live = window.jobcastViewerLive;
      window.drainSeen = { totals: [], states: [], moved: 0 };
      const onEvent = live.onEvent;
      live.onEvent = (kind, data, frame) => {
        if (kind === 'application.count') window.drainSeen.totals.push(data.total);
        onEvent(kind, data, frame);
      };
      const onState = live.onState;
      live.onState = (s) => { window.drainSeen.states.push(s); onState(s); };
      const onMoved = live.onMoved;
      live.onMoved = () => { window.drainSeen.moved++; onMoved(); };
    });
    for (let i = 0; i < 3; i++) await apply();
    await until('the page heard 3 applications', async () => (await seen()).totals.length >= 3);
  });

  await report.check('SIGTERM to the node holding the channel: the page moves to the other node and misses nothing', async () => {
    const counts = await Promise.all(nodes.map(wsConnections));
    const holder = counts.findIndex((c) => c === 1);
    assert(holder >= 0 && counts[1 - holder] === 0, `one connection on one node expected, got ${counts}`);
    survivor = 1 - holder;
    const exited = new Promise((r) => nodes[holder].child.on('exit', (code) => r(code)));
    nodes[holder].child.kill('SIGTERM');
    // Applications while the page moves: it resumes from its last event.
    for (let i = 0; i < 3; i++) await apply();
    eq(await exited, 0, 'the drained node exits 0');
    await until('the page is back on the other node', async () => (await wsConnections(nodes[survivor])) === 1);
    for (let i = 0; i < 3; i++) await apply();
    await until(`the page heard ${applied} applications`, async () => (await seen()).totals.length >= applied);
    await page.waitForTimeout(500);  // nothing more (a duplicate) arrives
    const s = await seen();
    eq(JSON.stringify(s.totals), JSON.stringify(Array.from({ length: applied }, (_, i) => i + 1)), 'every count once, in order');
    eq(s.moved, 1, 'the page was told once to move');
    assert(!s.states.includes('reconnecting'), `states shown: ${s.states.join(' ')}`);
    eq(await page.evaluate(() => document.body.dataset.live), 'open', 'the live channel is open');
    assert(problems.length === 0, problems.join('\n'));
    const log = nodes[holder].log();
    assert(log.includes('"draining"') || log.includes('draining'), 'the node logged its drain');
  });
} catch (e) {
  console.log(`stopped: ${e.message}`);
  if (!report.failed) report.failed++;
} finally {
  if (browser) await browser.close().catch(() => {});
  for (const n of nodes) {
    if (report.failed) console.log(`--- jobcastd ${n.port} log (tail) ---\n${n.log().split('\n').slice(-20).join('\n')}`);
    await n.stop();
  }
  if (edge) {
    if (report.failed) console.log(`--- nginx error log ---\n${edge.errorLog().slice(-3000)}`);
    await edge.stop();
  }
  if (redis) await redis.stop();
}
process.exit(report.finish());
