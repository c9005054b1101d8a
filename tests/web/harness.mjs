// Test harness for the pages: starts a real jobcastd (port 0, its own data
// directory, its private redis-server), mints tokens with `jobcastd token`,
// launches Debian's Chromium through playwright-core, and reports checks.

import { spawn, execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const CHROMIUM = process.env.JOBCAST_CHROMIUM || '/usr/bin/chromium';
const SECRET_ENV = {
  JOBCAST_JWT_SECRET: 'web-test-secret-0123456789abcdef',
  JOBCAST_DATA_KEY: '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff',
};

export function args() {
  const out = {};
  const a = process.argv.slice(2);
  for (let i = 0; i < a.length; i++) {
    if (a[i].startsWith('--')) {
      const k = a[i].slice(2);
      out[k] = a[i + 1] && !a[i + 1].startsWith('--') ? a[++i] : true;
    }
  }
  const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
  out.jobcastd = out.jobcastd || path.join(root, 'build/server/jobcastd');
  out.artifacts = out.artifacts || path.join(root, 'build/test-artifacts');
  out.webClient = out['web-client'] || path.join(root, 'web-client');
  return out;
}

// staticDir: serve the pages from there (server.static_dir) instead of web-client/.
// config: more YAML for the node's config file (e.g. "whep:\n  engine: udp\n").
export async function startServer(binary, { extraArgs = [], webClient, staticDir, config: extraConfig = '', readyMs = 20000 } = {}) {
  if (!existsSync(binary)) throw new Error(`jobcastd not found at ${binary}`);
  const dir = mkdtempSync(path.join(tmpdir(), 'jobcast-web-'));
  const dataDir = path.join(dir, 'data');
  const argv = ['--listen', '127.0.0.1:0', '--tls-listen', 'off', '--data-dir', dataDir, '--log-format', 'json', ...extraArgs];
  if (staticDir || extraConfig) {
    const config = path.join(dir, 'jobcast.yaml');
    const serverSection = staticDir ? `server:\n  static_dir: ${JSON.stringify(staticDir)}\n` : '';
    writeFileSync(config, serverSection + extraConfig);
    argv.push('--config', config);
  }
  const env = { ...process.env, ...SECRET_ENV };
  const child = spawn(binary, argv, { env, stdio: ['ignore', 'pipe', 'pipe'], cwd: webClient ? path.dirname(webClient) : undefined });
  let log = '';
  const onData = (b) => { log += b.toString(); };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`jobcastd not ready in ${readyMs} ms:\n${log}`)), readyMs);
    const look = () => {
      for (const line of log.split('\n')) {
        try {
          const j = JSON.parse(line);
          if (j.msg === 'jobcastd ready') { clearTimeout(timer); resolve(j.http_port); return true; }
        } catch { /* not a JSON line */ }
      }
      return false;
    };
    child.stdout.on('data', look);
    child.stderr.on('data', look);
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`jobcastd exited (${code}) during start:\n${log}`)); });
  });
  const base = `http://127.0.0.1:${port}`;
  return {
    port, base, dataDir, child,
    log: () => log,
    token(role, sub, { rooms = [], name, employer, ttl } = {}) {
      const a = ['token', '--role', role, '--sub', sub, '--data-dir', dataDir];
      if (name) a.push('--name', name);
      if (employer) a.push('--employer', employer);
      if (ttl) a.push('--ttl', String(ttl));
      for (const r of rooms) a.push('--room', r);
      return execFileSync(binary, a, { env, encoding: 'utf8' }).trim();
    },
    async stop() {
      if (child.exitCode == null) {
        child.kill('SIGTERM');
        await new Promise((r) => { const t = setTimeout(() => { child.kill('SIGKILL'); r(); }, 5000); child.on('exit', () => { clearTimeout(t); r(); }); });
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function launchBrowser() {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium is required at ${CHROMIUM} (Debian package "chromium"; deploy/install-deps.sh installs it)`);
  let chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch {
    throw new Error('playwright-core is missing: run deploy/web-deps.sh (npm ci)');
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
      '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--no-first-run', '--disable-quic', '--autoplay-policy=no-user-gesture-required'],
  });
}

export const PHONE = { viewport: { width: 360, height: 640 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, locale: 'zh-CN' };
export const DESKTOP = { viewport: { width: 1280, height: 800 }, locale: 'zh-CN' };

// Collects uncaught page errors and failed loads of the page's own files.
export function watchPage(page, label) {
  const problems = [];
  page.on('pageerror', (e) => problems.push(`${label}: uncaught ${e.message}`));
  page.on('requestfailed', (r) => {
    const u = new URL(r.url());
    if (/^\/(js|css|vendor)\//.test(u.pathname)) problems.push(`${label}: ${u.pathname} failed: ${r.failure() && r.failure().errorText}`);
  });
  page.on('response', (r) => {
    const u = new URL(r.url());
    if (/^\/(js|css|vendor)\//.test(u.pathname) && r.status() >= 400) problems.push(`${label}: ${u.pathname} HTTP ${r.status()}`);
  });
  return problems;
}

export class Report {
  constructor(name) { this.name = name; this.passed = 0; this.failed = 0; this.failures = []; }
  async check(title, fn) {
    const t0 = Date.now();
    try {
      await fn();
      this.passed++;
      console.log(`ok   ${title} (${Date.now() - t0} ms)`);
      return true;
    } catch (e) {
      this.failed++;
      this.failures.push(title);
      console.log(`FAIL ${title}\n     ${String(e && e.stack || e).split('\n').slice(0, 6).join('\n     ')}`);
      return false;
    }
  }
  // A step the later steps depend on: stop the run if it fails.
  async must(title, fn) {
    if (!(await this.check(title, fn))) throw new Error(`stopping: "${title}" failed`);
  }
  finish() {
    console.log(`${this.name}: ${this.passed} passed, ${this.failed} failed`);
    return this.failed === 0 ? 0 : 1;
  }
}

// Where a low-latency HLS media playlist stands: the segment in progress
// (`open`), its parts so far (`parts`) and the preload hint's part URI.
export function llLiveEdge(text) {
  const seq = Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(text)[1]);
  return {
    open: seq + (text.match(/^#EXTINF/gm) || []).length,
    parts: text.split(/^#EXTINF.*\n.*\n/m).pop().match(/#EXT-X-PART:/g)?.length || 0,
    hint: /#EXT-X-PRELOAD-HINT:TYPE=PART,URI="([^"]+)"/.exec(text)[1],
  };
}

export function assert(cond, message) { if (!cond) throw new Error(message || 'assertion failed'); }
export function eq(actual, expected, message) {
  if (actual !== expected) throw new Error(`${message || 'values differ'}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

// JSON calls to /api/v1 of a node started later (`base()` gives its address):
// the parsed answer, or an error naming the method, path, status and body.
export function restClient(base) {
  return async function rest(method, url, token, body) {
    const res = await fetch(base() + '/api/v1' + url, {
      method,
      headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${url} -> ${res.status} ${text}`);
    return text ? JSON.parse(text) : null;
  };
}

export function artifactsDir(dir) { mkdirSync(dir, { recursive: true }); return dir; }
export function readJson(file) { return JSON.parse(readFileSync(file, 'utf8')); }

// A folder serving the real pages plus an HLS ladder made by ffmpeg under
// fixtures/hls/{room}/ (source 720p, 360p, audio only; 1 s segments), so the player
// can be tested on real segments without a publisher.
export function pagesWithHlsFixture(webClient, room, { seconds = 8 } = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), 'jobcast-pages-'));
  for (const name of readdirSync(webClient)) symlinkSync(path.join(webClient, name), path.join(dir, name));
  const out = path.join(dir, 'fixtures', 'hls', room);
  mkdirSync(out, { recursive: true });
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error',
    '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', String(seconds),
    '-filter_complex', '[0:v]split=2[v1][v2];[v2]scale=640:360[v2o]',
    '-map', '[v1]', '-map', '[v2o]', '-map', '1:a', '-map', '1:a', '-map', '1:a',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-profile:v', 'baseline', '-pix_fmt', 'yuv420p', '-g', '25', '-keyint_min', '25', '-sc_threshold', '0',
    '-b:v:0', '1500k', '-b:v:1', '500k', '-c:a', 'aac', '-b:a', '64k', '-ac', '1',
    '-f', 'hls', '-hls_time', '1', '-hls_list_size', '0', '-hls_playlist_type', 'vod', '-master_pl_name', 'master.m3u8',
    '-var_stream_map', 'v:0,a:0,name:source v:1,a:1,name:360p a:2,name:audio',
    '-hls_segment_filename', '%v/seg%03d.ts', '%v/index.m3u8'], { cwd: out, stdio: 'inherit' });
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

async function stopChild(child, ms = 5000) {
  if (!child || child.exitCode != null) return;
  child.kill('SIGTERM');
  await new Promise((r) => { const t = setTimeout(() => { child.kill('SIGKILL'); r(); }, ms); child.on('exit', () => { clearTimeout(t); r(); }); });
}

function replaceOnce(text, from, to) {
  const n = text.split(from).length - 1;
  if (n !== 1) throw new Error(`deploy/nginx-edge.conf: expected "${from}" once, found ${n}`);
  return text.replace(from, to);
}

// A real nginx running deploy/nginx-edge.conf as it is, in front of the nodes
// at `ports` (its upstream, listen port and cache directory replaced), in a
// directory of its own with a log of one line per request: URI, status,
// cache status, the upstream asked ("-": none).
export async function startEdge(ports, { nginx = process.env.JOBCAST_NGINX || '/usr/sbin/nginx' } = {}) {
  const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
  const dir = mkdtempSync(path.join(tmpdir(), 'jobcast-edge-'));
  chmodSync(dir, 0o755);  // nginx's workers (another user when run as root) write the cache
  for (const d of ['cache', 'tmp']) {
    mkdirSync(path.join(dir, d));
    chmodSync(path.join(dir, d), 0o777);
  }
  const port = await freePort();
  let conf = readFileSync(path.join(root, 'deploy/nginx-edge.conf'), 'utf8');
  conf = replaceOnce(conf, 'server 127.0.0.1:8080;', ports.map((p) => `server 127.0.0.1:${p};`).join('\n    '));
  conf = replaceOnce(conf, 'listen 80;', `listen 127.0.0.1:${port};`);
  conf = replaceOnce(conf, '/var/cache/nginx/jobcast-edge', path.join(dir, 'cache'));
  writeFileSync(path.join(dir, 'edge.conf'), conf);
  const tmp = path.join(dir, 'tmp');
  writeFileSync(path.join(dir, 'nginx.conf'), `daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  client_body_temp_path ${tmp}/body;
  proxy_temp_path ${tmp}/proxy;
  fastcgi_temp_path ${tmp}/fastcgi;
  uwsgi_temp_path ${tmp}/uwsgi;
  scgi_temp_path ${tmp}/scgi;
  log_format edge '$request_uri $status $upstream_cache_status $upstream_addr';
  access_log ${dir}/access.log edge;
  include ${dir}/edge.conf;
}
`);
  execFileSync(nginx, ['-t', '-q', '-p', dir, '-c', path.join(dir, 'nginx.conf')], { stdio: 'pipe' });
  const child = spawn(nginx, ['-p', dir, '-c', path.join(dir, 'nginx.conf')], { stdio: ['ignore', 'inherit', 'inherit'] });
  return {
    url: `http://127.0.0.1:${port}`,
    dir,
    log() {
      return readFileSync(path.join(dir, 'access.log'), 'utf8').trim().split('\n').filter(Boolean).map((l) => {
        const [uri, status, cache, upstream] = l.split(' ');
        return { uri, status: Number(status), cache, upstream };
      });
    },
    errorLog() {
      try { return readFileSync(path.join(dir, 'error.log'), 'utf8'); } catch { return ''; }
    },
    async stop() {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// A real redis-server on a free loopback port, for nodes that share it
// (redis.address); nothing is kept on disk.
export async function startRedis() {
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'jobcast-redis-'));
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    { stdio: ['ignore', 'ignore', 'inherit'] });
  const deadline = Date.now() + 10000;
  for (;;) {
    const up = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => { s.end(); resolve(true); });
      s.on('error', () => resolve(false));
    });
    if (up) break;
    if (child.exitCode != null || Date.now() > deadline) throw new Error('redis-server did not start (Debian package "redis-server")');
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    address: `127.0.0.1:${port}`,
    async stop() { await stopChild(child); rmSync(dir, { recursive: true, force: true }); },
  };
}
