// Plays a room into a <video>: HLS (native on iOS Safari, hls.js bundled from
// npm elsewhere), WHEP for low latency, or a recording. Picks quality
// (auto, a rendition, audio only), recovers by itself from network loss, and
// records the time to first frame.

import { WhepPlayer, whepUrl } from './whep.js';

const HLS_MODULE = '/vendor/hls.light.min.mjs';
// Weak networks: in auto, the player moves to the audio-only variant by
// itself when even the lowest video rendition cannot play without stalling:
// WEAK_STALLS stalls, or WEAK_STALL_MS stalled, within WEAK_WINDOW_MS on the
// lowest rendition; or, before the first picture, when the first video
// segment came in slower than the lowest rendition's rate (it could only
// play stalling). The move is remembered for the browser tab (sessionStorage).
const WEAK_WINDOW_MS = 30000;
const WEAK_STALLS = 2;
const WEAK_STALL_MS = 4000;
const WEAK_KEY = 'jobcast.weakNetwork';  // 'audio' (moved) | 'video' (the viewer asked for video back)
function weakChoice() {
  try { return sessionStorage.getItem(WEAK_KEY) || ''; } catch { return ''; }
}
function setWeakChoice(v) {
  try { sessionStorage.setItem(WEAK_KEY, v); } catch { /* private mode */ }
}
// How long a WHEP session may take to connect before HLS takes over.
const WHEP_CONNECT_MS = 10000;
// Lossy networks under WHEP: in auto, the player reads its own receive
// statistics every WHEP_LOSS_SAMPLE_MS; a window is lossy when video packets
// lost or asked for again (NACK) are at least WHEP_LOSS_FRACTION of those
// due. WHEP_LOSS_WINDOWS lossy windows of the last WHEP_LOSS_OF move it to
// the 360p WHEP variant, which it says on screen with a way back.
const WHEP_LOSS_SAMPLE_MS = 2000;
const WHEP_LOSS_FRACTION = 0.05;
const WHEP_LOSS_WINDOWS = 3;
const WHEP_LOSS_OF = 4;
let hlsModule = null;
async function loadHls() {
  if (!hlsModule) hlsModule = import(HLS_MODULE).then((m) => m.default || m.Hls);
  return hlsModule;
}

export function hlsUrl(room) {
  return `/hls/${encodeURIComponent(room)}/master.m3u8`;
}

// Low-latency HLS (fMP4 parts, blocking reloads; docs/media.md): the source
// picture alone, about one second behind the camera.
export function llHlsUrl(room) {
  return `/hls/${encodeURIComponent(room)}/ll.m3u8`;
}

// Variants of an HLS master playlist: [{uri, bandwidth, width, height, codecs, audioOnly}].
// The interpreter variant: the master's alternative picture of the programme
// (#EXT-X-MEDIA TYPE=VIDEO with a URI), while an interpreter is on stage.
export function interpreterPlaylist(text, baseUrl) {
  const m = /#EXT-X-MEDIA:TYPE=VIDEO,[^\n]*URI="([^"]+)"/.exec(text);
  return m ? new URL(m[1], new URL(baseUrl, location.href)).href : '';
}

export function parseMaster(text, baseUrl) {
  const lines = text.split(/\r?\n/);
  const out = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (!line.startsWith('#EXT-X-STREAM-INF:')) continue;
    const attrs = {};
    line.slice(18).replace(/([A-Z0-9-]+)=("[^"]*"|[^,]*)/g, (_, k, v) => { attrs[k] = v.replace(/^"|"$/g, ''); });
    let uri = '';
    while (++i < lines.length) {
      const l = lines[i].trim();
      if (l && !l.startsWith('#')) { uri = l; break; }
    }
    if (!uri) continue;
    const [w, h] = (attrs.RESOLUTION || '').split('x').map(Number);
    const codecs = attrs.CODECS || '';
    const audioOnly = !attrs.RESOLUTION && (!codecs || !/avc|hvc|hev|vp0|av01/i.test(codecs));
    out.push({
      uri: new URL(uri, new URL(baseUrl, location.href)).href,
      bandwidth: Number(attrs['AVERAGE-BANDWIDTH'] || attrs.BANDWIDTH) || 0,
      width: w || 0, height: h || 0, codecs, audioOnly,
      video: attrs.VIDEO || '',
    });
  }
  return out;
}

function isAppleSafari() {
  const ua = navigator.userAgent;
  return /Safari/.test(ua) && !/Chrome|Chromium|CriOS|FxiOS|Android/.test(ua);
}

export class Player {
  constructor(video, { onStatus = () => {}, onQualities = () => {}, onFallback = () => {}, onWeakNetwork = () => {} } = {}) {
    this.video = video;
    this.onWeakNetwork = onWeakNetwork;  // (kind): the player moved by itself to 'audio' (HLS) or 'low' (WHEP 360p), or back (false)
    this.weakAudio = false;    // playing audio-only because the network is too weak for video
    this.whepLow = false;      // WHEP on the 360p variant because the network loses packets
    this.whepLowUnavailable = false;  // the room has no 360p variant: do not move there
    this.whepLoss = [];        // the loss monitor's last windows (fractions), newest last
    this.stalls = [];          // [{start, end}] on the lowest video rendition, newest last
    this.onStatus = onStatus;
    this.onQualities = onQualities;
    this.onFallback = onFallback;
    this.masterUrl = null;     // (room) => master playlist URL; default /hls/{room}/master.m3u8
    this.mode = null;          // 'hls' | 'whep' | 'file'
    this.room = null;
    this.token = null;
    this.quality = 'auto';     // 'auto' | 'audio' | a variant uri
    this.variants = [];
    this.hls = null;
    this.whep = null;
    this.status = 'idle';
    this.src = '';             // what plays now: the HLS playlist or the WHEP endpoint (with ?variant=)
    this.fellBack = null;      // why WHEP last gave way to HLS: an error code, or null
    this.attempt = 0;
    this.generation = 0;       // bumps on every (re)start: stale callbacks check it
    this.metrics = { ttff: {} };
    this.lastTime = -1;
    this.lastProgress = performance.now();
    this._watchdog = setInterval(() => this._checkStall(), 2000);
    window.addEventListener('online', () => { if (this.status === 'reconnecting') this._restart(0); });
    video.addEventListener('playing', () => this._setStatus('playing'));
    video.addEventListener('error', () => {
      if (this.mode && this.mode !== 'whep' && !this.hls) this._recover('media element error');
    });
  }

  _setStatus(s) {
    if (this.status === s) return;
    this.status = s;
    this.onStatus(s);
  }

  // ---- live HLS -------------------------------------------------------------
  // lowLatency: low-latency HLS where the room and the browser offer it (in
  // auto quality, with hls.js): where WHEP gives way.
  async playHls(room, { quality, lowLatency } = {}) {
    if (quality) this.quality = quality;
    if (lowLatency !== undefined) this.hlsLow = !!lowLatency;
    if (this.whepLow) {
      // Off WHEP (the viewer turned low latency off, or WHEP gave way): the
      // 360p move was WHEP's.
      this.whepLow = false;
      this.onWeakNetwork(this.weakKind());
    }
    await this._teardown();
    this.mode = 'hls';
    this.room = room;
    const gen = ++this.generation;
    this._startClock(gen);
    this._setStatus(this.attempt ? 'reconnecting' : 'loading');
    const master = (this.masterUrl || hlsUrl)(room);
    let text;
    try {
      const res = await fetch(master, { cache: 'no-store' });
      if (res.status === 404 || res.status === 409) {
        if (gen !== this.generation) return;
        this._setStatus('waiting');
        this._later(gen, 3000, () => this.playHls(room));
        return;
      }
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      text = await res.text();
    } catch (e) {
      if (gen === this.generation) this._recover(`master playlist: ${e.message}`);
      return;
    }
    if (gen !== this.generation) return;
    this.variants = parseMaster(text, master);
    this.onQualities(this.qualities());
    let src = new URL(master, location.href).href;
    const signing = this.interpreter ? interpreterPlaylist(text, master) : '';
    if (this.interpreter && !signing) {
      // The interpreter left the stage: the plain programme.
      this.interpreter = false;
      this.onFallback({ code: 'variant_unavailable' });
    }
    if (signing) {
      src = signing;
    } else if (this.quality === 'audio' || (this.quality === 'auto' && weakChoice() === 'audio')) {
      const a = this.variants.find((v) => v.audioOnly);
      if (a) src = a.uri;
      if (a && this.quality === 'auto' && !this.weakAudio) {
        this.weakAudio = true;
        this.onWeakNetwork('audio');
      }
    } else if (this.quality !== 'auto') {
      const v = this.variants.find((x) => x.uri === this.quality);
      if (v) src = v.uri;
    }
    const audioOnly = this.quality === 'audio' || (this.quality === 'auto' && this.weakAudio);
    this.video.classList.toggle('audio-only', audioOnly);
    let lowLatencyHls = false;
    if (this.hlsLow && !signing && !audioOnly && this.quality === 'auto' && !this.masterUrl && !this._nativeHls()) {
      // The plain master still gives the quality menu and the audio-only
      // rendition a weak network moves to.
      try {
        const res = await fetch(llHlsUrl(room), { cache: 'no-store' });
        if (res.ok) {
          src = new URL(llHlsUrl(room), location.href).href;
          lowLatencyHls = true;
        }
      } catch { /* plain HLS carries on */ }
      if (gen !== this.generation) return;
    }
    await this._attachHls(src, gen, { live: true, lowLatency: lowLatencyHls });
  }

  // The tab's network cannot carry video: audio-only until the viewer asks
  // for video again.
  _toAudioOnly(reason) {
    if (this.weakAudio || this.quality !== 'auto' || !this.variants.some((v) => v.audioOnly)) return;
    this.weakReason = reason;
    this.weakAt = performance.now();
    setWeakChoice('audio');
    this.attempt = 0;
    // Straight to the audio-only playlist: the master is known, and on such
    // a link every request costs a round trip.
    const audio = this.variants.find((v) => v.audioOnly);
    const room = this.room;
    this._teardown().then(() => {
      if (this.mode !== 'hls' || this.room !== room) return;
      const gen = ++this.generation;
      this._startClock(gen);
      this.weakAudio = true;
      this.onWeakNetwork('audio');
      this.video.classList.add('audio-only');
      this._attachHls(audio.uri, gen, { live: true });
    });
  }

  // The one-tap way back from the automatic move: video in auto, and no
  // automatic move again in this tab (the viewer chose).
  backToVideo() {
    const wasLow = this.whepLow;
    this.weakAudio = false;
    this.whepLow = false;
    this.stalls = [];
    setWeakChoice('video');
    this.onWeakNetwork(false);
    this.quality = 'auto';
    if (this.mode === 'hls') this.playHls(this.room);
    else if (this.mode === 'whep' && wasLow) this.playWhep(this.room, this.token);
  }

  // What the automatic move chose: 'audio', 'low' or false.
  weakKind() {
    if (this.weakAudio) return 'audio';
    return this.whepLow ? 'low' : false;
  }

  // WHEP loss: reads the session's inbound video statistics and moves to
  // the 360p variant on sustained loss (see WHEP_LOSS_*).
  _watchWhepLoss(whep, gen, room, token) {
    if (this.whepLow || this.whepLowUnavailable || this.interpreter || this.quality !== 'auto' ||
        weakChoice() === 'video') return;
    let prev = null;
    const windows = [];
    const timer = setInterval(async () => {
      if (gen !== this.generation || !whep.pc) { clearInterval(timer); return; }
      let video = null;
      try {
        (await whep.pc.getStats()).forEach((s) => { if (s.type === 'inbound-rtp' && s.kind === 'video') video = s; });
      } catch { return; }
      if (!video || gen !== this.generation) return;
      const now = { lost: Math.max(0, video.packetsLost || 0), received: video.packetsReceived || 0, nack: video.nackCount || 0 };
      if (prev) {
        const lost = Math.max(0, now.lost - prev.lost);
        const due = now.received - prev.received + lost;
        windows.push(due > 0 ? (lost + Math.max(0, now.nack - prev.nack)) / due : 0);
        if (windows.length > WHEP_LOSS_OF) windows.shift();
        this.whepLoss = windows.slice();
        if (windows.filter((f) => f >= WHEP_LOSS_FRACTION).length >= WHEP_LOSS_WINDOWS) {
          clearInterval(timer);
          this.weakReason = `video loss ${windows.map((f) => `${Math.round(f * 100)}%`).join(' ')} over ${windows.length * WHEP_LOSS_SAMPLE_MS / 1000} s`;
          this.weakAt = performance.now();
          this.whepLow = true;
          this.onWeakNetwork('low');
          this.attempt = 0;
          this.playWhep(room, token);
        }
      }
      prev = now;
    }, WHEP_LOSS_SAMPLE_MS);
  }

  // Stalls on the lowest video rendition, in auto with hls.js: measured from
  // the media element (waiting until frames advance again).
  _watchWeak(hls, Hls, gen) {
    if (this.quality !== 'auto' || this.weakAudio || weakChoice() === 'video' ||
        !this.variants.some((v) => v.audioOnly)) return;
    const video = this.video;
    const lowest = () => {
      const levels = hls.levels || [];
      if (!levels.length) return null;
      return levels.reduce((a, b) => ((b.bitrate || 0) < (a.bitrate || 0) ? b : a));
    };
    const onLowest = () => {
      const low = lowest();
      const level = hls.levels && hls.levels[hls.loadLevel];
      return !!low && (!level || level.bitrate <= low.bitrate);
    };
    const judge = () => {
      if (gen !== this.generation) return;
      const now = performance.now();
      this.stalls = this.stalls.filter((s) => (s.end || now) > now - WEAK_WINDOW_MS);
      const stalled = this.stalls.reduce((ms, s) => ms + (s.end || now) - Math.max(s.start, now - WEAK_WINDOW_MS), 0);
      if (this.stalls.length >= WEAK_STALLS || stalled >= WEAK_STALL_MS) {
        // Stalls on a link that carries the lowest rendition with room to
        // spare are not a weak network (a change of picture on the stage, a
        // busy phone): hls.js's measured estimate must say so too.
        const low = lowest();
        if (low && hls.bandwidthEstimate >= low.bitrate * 1.5) return;
        this._toAudioOnly(`${this.stalls.length} stalls, ${Math.round(stalled)} ms stalled in ${WEAK_WINDOW_MS / 1000} s`);
      }
    };
    let started = false;
    const open = () => this.stalls.length && !this.stalls[this.stalls.length - 1].end;
    const onWaiting = () => {
      if (gen !== this.generation || !started || open() || !onLowest()) return;
      this.stalls.push({ start: performance.now(), end: 0 });
    };
    const onProgress = () => {
      if (gen !== this.generation) return;
      if (video.currentTime > 0) started = true;
      if (open() && video.readyState >= 3) this.stalls[this.stalls.length - 1].end = performance.now();
    };
    video.addEventListener('waiting', onWaiting);
    video.addEventListener('playing', onProgress);
    video.addEventListener('timeupdate', onProgress);
    const timer = setInterval(judge, 500);
    // Before the first picture: a first video segment slower than the lowest
    // rendition's rate means playing it would stall from the start. It is
    // judged while it loads: a segment of D seconds at the lowest rate takes
    // D seconds plus a round trip (the media playlist's time to first byte);
    // still loading after 1.1 D + that, the link is slower.
    let rtt = 0;
    let deadline = null;
    hls.on(Hls.Events.LEVEL_LOADED, (_, data) => {
      const l = data.stats && data.stats.loading;
      if (!rtt && l && l.first > l.start) rtt = l.first - l.start;
    });
    hls.on(Hls.Events.FRAG_LOADING, (_, data) => {
      if (gen !== this.generation || started || deadline || data.frag.type !== 'main' || !onLowest()) return;
      const frag = data.frag;
      const ms = 1100 * (frag.duration || 1) + (rtt || 500);
      // The rate it arrives at so far (bytes since the first byte): a busy
      // machine that delays the whole answer is not a slow link.
      const judgeLoading = () => {
        if (gen !== this.generation || started || frag.stats.loading.end) return;
        const l = frag.stats.loading;
        const low = lowest();
        const elapsed = performance.now() - l.first;
        if (!l.first || !frag.stats.loaded || elapsed < 300 || !low) { deadline = setTimeout(judgeLoading, 300); return; }
        const bps = frag.stats.loaded * 8000 / elapsed;
        this.firstFragmentBps = Math.round(bps);
        if (bps < low.bitrate * 0.9) this._toAudioOnly(`first segment arriving at ${Math.round(bps / 1000)} kbit/s`);
      };
      deadline = setTimeout(judgeLoading, ms);
    });
    hls.on(Hls.Events.FRAG_LOADED, (_, data) => {
      if (data.frag.type === 'main') clearTimeout(deadline);
      if (gen !== this.generation || started || !onLowest()) return;
      const low = lowest();
      const st = data.frag && data.frag.stats;
      const bytes = st && (st.total || st.loaded);
      const ms = st && st.loading && (st.loading.end - st.loading.start);
      if (!low || !bytes || !ms || data.frag.type !== 'main') return;
      const bps = bytes * 8000 / ms;
      this.firstFragmentBps = Math.round(bps);
      if (bps < low.bitrate * 0.9) this._toAudioOnly(`first segment at ${Math.round(bps / 1000)} kbit/s`);
    });
    this._unwatchWeak = () => {
      clearInterval(timer);
      clearTimeout(deadline);
      video.removeEventListener('waiting', onWaiting);
      video.removeEventListener('playing', onProgress);
      video.removeEventListener('timeupdate', onProgress);
    };
  }

  _nativeHls() {
    return !!this.video.canPlayType('application/vnd.apple.mpegurl') &&
           (isAppleSafari() || !(window.MediaSource || window.ManagedMediaSource));
  }

  async _attachHls(src, gen, { live, lowLatency = false }) {
    const video = this.video;
    this.src = src;
    this.lowLatencyHls = lowLatency;
    const native = this._nativeHls();
    if (native) {
      video.src = src;
      this._play();
      return;
    }
    let Hls;
    try {
      Hls = await loadHls();
    } catch {
      if (gen === this.generation) this._recover('player library did not load');
      return;
    }
    if (gen !== this.generation) return;
    const config = {
      // Weak rural networks: start low, keep a modest buffer, retry patiently.
      startLevel: -1,  // pick by the measured bandwidth, not the first (largest) rendition
      abrEwmaDefaultEstimate: 400000,
      capLevelToPlayerSize: true,
      maxBufferLength: live ? 8 : 30,
      backBufferLength: live ? 8 : 30,
      manifestLoadingMaxRetry: 2,
      levelLoadingMaxRetry: 4,
      fragLoadingMaxRetry: 4,
      enableWorker: true,
      lowLatencyMode: lowLatency,
    };
    // Low latency: the playlist's PART-HOLD-BACK sets how far behind the live
    // edge to play (a segment count given here would override it).
    if (!lowLatency) Object.assign(config, { liveSyncDurationCount: 2, liveMaxLatencyDurationCount: 6 });
    const hls = new Hls(config);
    this.hls = hls;
    hls.on(Hls.Events.ERROR, (_, data) => {
      if (gen !== this.generation) return;
      // The last few errors, fatal or not: for the page's diagnostics and tests.
      this.errors = [...(this.errors || []).slice(-9), `${data.fatal ? 'fatal ' : ''}${data.type}: ${data.details}`];
      if (!data.fatal) return;
      // A media error is recovered in place once; again within 10 s (a
      // buffer the browser keeps refusing), the player starts afresh. Either
      // way it plays on: recoverMediaError() re-attaches a paused element.
      const now = performance.now();
      if (data.type === Hls.ErrorTypes.MEDIA_ERROR && !(this._mediaRecoveredAt > now - 10000)) {
        this._mediaRecoveredAt = now;
        hls.recoverMediaError();
        this._play();
        return;
      }
      this._mediaRecoveredAt = 0;
      this._recover(`${data.type}: ${data.details}`);
    });
    if (live) this._watchWeak(hls, Hls, gen);
    hls.loadSource(src);
    hls.attachMedia(video);
    this._play();
  }

  qualities() {
    const list = [{ id: 'auto', labelKey: 'player.quality.auto' }];
    const seen = new Set();
    for (const v of this.variants) {
      if (v.audioOnly || v.video || !v.height || seen.has(v.height)) continue;
      seen.add(v.height);
      list.push({ id: v.uri, label: `${v.height}p`, bandwidth: v.bandwidth });
    }
    if (this.variants.some((v) => v.audioOnly)) list.push({ id: 'audio', labelKey: 'player.quality.audio' });
    return list;
  }

  setQuality(id) {
    this.quality = id;
    if (this.weakAudio) {
      // A choice of the viewer's own replaces the automatic move.
      this.weakAudio = false;
      setWeakChoice(id === 'auto' ? 'video' : '');
      this.onWeakNetwork(false);
    }
    if (this.mode === 'hls') this.playHls(this.room);
  }

  // ---- low latency (WHEP) --------------------------------------------------
  // interpreter: the programme with the sign-language interpreter's picture.
  async playWhep(room, token, { interpreter = this.interpreter } = {}) {
    await this._teardown();
    this.mode = 'whep';
    this.room = room;
    this.token = token;
    this.interpreter = !!interpreter;
    const gen = ++this.generation;
    this._startClock(gen);
    this._setStatus(this.attempt ? 'reconnecting' : 'loading');
    this.video.classList.remove('audio-only');
    if (typeof RTCPeerConnection === 'undefined') {
      // No WebRTC in this browser (or turned off): HLS.
      this.fellBack = 'webrtc_unavailable';
      this.onFallback({ code: 'webrtc_unavailable', status: 0 });
      this.attempt = 0;
      this.playHls(room, { lowLatency: true });
      return;
    }
    const whep = new WhepPlayer(whepUrl(room, { interpreter: this.interpreter, low: this.whepLow }), token);
    this.whep = whep;
    this.src = whep.url;
    let lostTimer = null;
    let connected = false;
    // WebRTC that never connects (UDP blocked on the way, a browser without
    // H.264): HLS carries on, as when the node refuses the session.
    const toHls = (code) => {
      if (gen !== this.generation) return;
      clearTimeout(connectTimer);
      const e = { code, status: 0 };
      this.fellBack = code;
      this.onFallback(e);
      this.attempt = 0;
      this.playHls(room, { lowLatency: true });
    };
    const connectTimer = setTimeout(() => { if (!connected) toHls('whep_no_connection'); }, WHEP_CONNECT_MS);
    whep.onState = (s) => {
      if (gen !== this.generation) return;
      if (s === 'failed' && !connected) toHls('whep_failed');
      else if (s === 'failed') this._recover('WebRTC connection failed');
      else if (s === 'disconnected') lostTimer = setTimeout(() => this._recover('WebRTC connection lost'), 3000);
      else if (s === 'connected') {
        clearTimeout(connectTimer);
        clearTimeout(lostTimer);
        if (!connected) this._watchWhepLoss(whep, gen, room, token);
        connected = true;
      }
    };
    try {
      const stream = await whep.start();
      if (gen !== this.generation) { whep.stop(); return; }
      this.video.srcObject = stream;
      this._play();
    } catch (e) {
      clearTimeout(connectTimer);
      if (gen !== this.generation) return;
      if (this.whepLow && !this.interpreter && e.code === 'variant_unavailable') {
        // No 360p in this room (a ladder without it): the source picture,
        // and no move there again.
        this.whepLow = false;
        this.whepLowUnavailable = true;
        this.onWeakNetwork(false);
        this.playWhep(room, token);
        return;
      }
      if (this.interpreter && e.code === 'variant_unavailable') {
        // The interpreter left the stage: the plain programme.
        this.interpreter = false;
        this.onFallback(e);
        this.playWhep(room, token);
        return;
      }
      if (e.status >= 400) {
        // Too many low-latency viewers on this node (503 viewer_limit), no
        // stream yet, or an offer the node cannot serve (Firefox without
        // H.264: 400 unsupported_codec): HLS carries on. Only a network
        // error is worth asking WHEP again.
        this.fellBack = e.code || `http_${e.status}`;
        this.onFallback(e);
        this.attempt = 0;
        this.playHls(room, { lowLatency: true });
        return;
      }
      this._recover(`WHEP: ${e.message}`);
    }
  }

  // ---- recordings -------------------------------------------------------------
  async playFile(url, { startAt = 0 } = {}) {
    await this._teardown();
    this.mode = 'file';
    const gen = ++this.generation;
    this._startClock(gen);
    this._setStatus('loading');
    if (/\.m3u8(\?|$)/.test(url)) await this._attachHls(url, gen, { live: false });
    else { this.video.src = url; this._play(); }
    if (startAt) this.seek(startAt);
  }

  seek(seconds) {
    const v = this.video;
    const go = () => { v.currentTime = seconds; v.play().catch(() => {}); };
    if (v.readyState >= 1) go();
    else v.addEventListener('loadedmetadata', go, { once: true });
  }

  // ---- common -------------------------------------------------------------------
  async stop() {
    this.generation++;
    this.mode = null;
    await this._teardown();
    this._setStatus('idle');
  }

  _play() {
    const v = this.video;
    const p = v.play();
    if (p && p.catch) {
      p.catch(() => {
        // Autoplay with sound refused: play muted; the page offers "Sound on".
        v.muted = true;
        v.play().catch(() => {});
      });
    }
  }

  _startClock(gen) {
    const t0 = performance.now();
    const mode = this.mode;
    const done = () => {
      if (gen !== this.generation || this.metrics.ttff[`${mode}_gen`] === gen) return;
      const ms = Math.round(performance.now() - t0);
      this.metrics.ttff[mode] = ms;
      this.metrics.sinceNavigation = this.metrics.sinceNavigation || {};
      this.metrics.sinceNavigation[mode] = Math.round(performance.now());
      this.metrics.ttff[`${mode}_gen`] = gen;
      try { performance.measure(`jobcast:first-frame:${mode}`, { start: t0, duration: ms }); } catch { /* old browser */ }
      this.attempt = 0;
      window.dispatchEvent(new CustomEvent('jobcast:firstframe', { detail: { mode, ms } }));
    };
    const v = this.video;
    if (v.requestVideoFrameCallback) {
      v.requestVideoFrameCallback(() => done());
      // Audio-only playback never paints a frame: count the first media time instead.
      const onTime = () => { if (v.classList.contains('audio-only') && v.currentTime > 0) { v.removeEventListener('timeupdate', onTime); done(); } };
      v.addEventListener('timeupdate', onTime);
    } else {
      v.addEventListener('playing', done, { once: true });
    }
  }

  _later(gen, ms, fn) {
    clearTimeout(this._timer);
    this._timer = setTimeout(() => { if (gen === this.generation) fn(); }, ms);
  }

  // The node serving this is shutting down (the live channel closed with
  // 1012): start again in a moment, once the publisher has moved, through the
  // load balancer to another node. Not an error: no "reconnecting" shown.
  move() {
    if (this.mode !== 'whep' && this.mode !== 'hls') return;
    this.attempt = 0;
    this._restart(1500 + Math.random() * 1500);
  }

  _recover(reason) {
    this.lastError = reason;
    this._setStatus('reconnecting');
    const delay = Math.min(8000, 1000 * 2 ** Math.min(this.attempt, 3));
    this.attempt++;
    this._restart(delay);
  }

  _restart(delay) {
    const gen = this.generation;
    this._later(gen, delay, () => {
      if (this.mode === 'hls') this.playHls(this.room);
      else if (this.mode === 'whep') this.playWhep(this.room, this.token);
    });
  }

  _checkStall() {
    const v = this.video;
    if (!this.mode || this.mode === 'file' || v.paused || this.status === 'waiting') return;
    const now = performance.now();
    if (v.currentTime !== this.lastTime) {
      this.lastTime = v.currentTime;
      this.lastProgress = now;
      return;
    }
    if (this.status === 'playing' && now - this.lastProgress > 8000) {
      this.lastProgress = now;
      this._recover('playback stalled');
    }
  }

  async _teardown() {
    clearTimeout(this._timer);
    if (this._unwatchWeak) { this._unwatchWeak(); this._unwatchWeak = null; }
    if (this.hls) { this.hls.destroy(); this.hls = null; }
    if (this.whep) { const w = this.whep; this.whep = null; w.stop(); }
    const v = this.video;
    if (v.srcObject) v.srcObject = null;
    if (v.getAttribute('src')) { v.removeAttribute('src'); v.load(); }
    this.lastTime = -1;
    this.lastProgress = performance.now();
  }
}
