// Glass to glass of low-latency HLS against plain HLS, in Chromium with the
// bundled hls.js, on loopback: jobcastd --demo paints the send time into every
// frame (demo.latency_stamp); each run plays the stream in a fresh page for
// `--seconds`, reads the stamp back from the painted pictures every 200 ms
// after the first 4 s, and keeps the run's median. Both kinds alternate in
// one run of the bench, on one node.
// Usage: node bench/web/ll_latency.mjs [--jobcastd build/server/jobcastd] [--runs 10] [--seconds 12] [--json out.json]

import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { args, startServer, launchBrowser, DESKTOP } from '../../tests/web/harness.mjs';
import { playAndReadStamps, median } from '../../tests/web/stamp.mjs';

const opt = args();
const runs = Number(opt.runs || 10);
const seconds = Number(opt.seconds || 12);
const result = { machine: `${os.cpus()[0].model}, ${os.cpus().length} cores`, runs, seconds, loadavg_before: os.loadavg(), ll: [], plain: [] };

const server = await startServer(opt.jobcastd, { webClient: opt.webClient, extraArgs: ['--demo'], config: 'demo:\n  latency_stamp: true\n' });
const browser = await launchBrowser();
try {
  for (const url of ['/hls/demo/ll.m3u8', '/hls/demo/master.m3u8']) {
    for (let until = Date.now() + 60000; ; await new Promise((r) => setTimeout(r, 250))) {
      const res = await fetch(server.base + url).catch(() => null);
      if (res && res.ok) break;
      if (Date.now() > until) throw new Error(`${url} not ready`);
    }
  }
  const parts = [];
  for (let i = 0; i < runs; i++) {
    for (const [kind, src, lowLatency] of [['ll', '/hls/demo/ll.m3u8', true], ['plain', '/hls/demo/master.m3u8', false]]) {
      const ctx = await browser.newContext(DESKTOP);
      const page = await ctx.newPage();
      await page.goto(`${server.base}/`);
      const r = await playAndReadStamps(page, src, { lowLatency, seconds });
      await ctx.close();
      const m = median(r.latencies);
      result[kind].push({ median_ms: m && Math.round(m), pictures: r.latencies.length, unreadable: r.unreadable, first_frame_ms: Math.round(r.firstFrameMs), errors: r.errors.length });
      if (kind === 'll') parts.push(...r.partDurations);
      console.log(`run ${i + 1} ${kind}: median ${m && Math.round(m)} ms over ${r.latencies.length} pictures, first frame ${Math.round(r.firstFrameMs)} ms`);
    }
  }
  const summary = (rows) => ({ median_of_medians_ms: median(rows.map((r) => r.median_ms).filter((v) => v != null)), min_ms: Math.min(...rows.map((r) => r.median_ms)), max_ms: Math.max(...rows.map((r) => r.median_ms)), first_frame_median_ms: median(rows.map((r) => r.first_frame_ms)) });
  result.summary = { ll: summary(result.ll), plain: summary(result.plain), part_durations: { min: Math.min(...parts), max: Math.max(...parts), median: median(parts), count: parts.length } };
  result.loadavg_after = os.loadavg();
  console.log(JSON.stringify(result.summary, null, 2));
  if (opt.json) writeFileSync(opt.json, JSON.stringify(result, null, 2));
} finally {
  await browser.close().catch(() => {});
  await server.stop();
}
