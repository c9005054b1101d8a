// Glass to glass in the browser: plays an HLS stream with the bundled hls.js
// and reads back, from the pictures it paints, the send time the publisher
// painted into each frame (a row of black and white blocks along the top:
// media/frame_stamp.h; jobcastd --demo with demo.latency_stamp). Shared by
// the LL-HLS test and bench/web/ll_latency.mjs.

// Runs in the page: plays `src` for `seconds` and returns the latencies (ms)
// of the pictures painted after the first `settleSeconds`, sampled every
// `everyMs`, with what hls.js made of the playlist.
export async function playAndReadStamps(page, src, { lowLatency = true, seconds = 12, settleSeconds = 4, everyMs = 200 } = {}) {
  return page.evaluate(async ({ src, lowLatency, seconds, settleSeconds, everyMs }) => {
    const { default: Hls } = await import('/vendor/hls.light.min.mjs');
    const video = document.createElement('video');
    video.muted = true;
    video.playsInline = true;
    document.body.appendChild(video);
    const hls = new Hls({ lowLatencyMode: lowLatency });
    const errors = [];
    hls.on(Hls.Events.ERROR, (_, d) => errors.push(`${d.type}/${d.details}${d.fatal ? ' (fatal)' : ''}`));
    const started = performance.now();
    hls.loadSource(src);
    hls.attachMedia(video);
    video.play().catch(() => {});
    const canvas = document.createElement('canvas');
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    // The stamp's layout (media/frame_stamp.h): 52 cells across the width,
    // in the top twelfth; a 1010 marker, 40 bits of milliseconds modulo 2^40,
    // a CRC-8 (polynomial 0x07) of them. A cell misread makes it unreadable.
    const MOD = 2 ** 40;
    const crc8 = (value) => {
      let crc = 0;
      for (let byte = 4; byte >= 0; byte--) {
        crc ^= Math.floor(value / 2 ** (8 * byte)) % 256;
        for (let i = 0; i < 8; i++) crc = crc & 0x80 ? ((crc << 1) ^ 0x07) & 0xff : (crc << 1) & 0xff;
      }
      return crc;
    };
    const readStamp = (w, h) => {
      const cells = 52;
      const cw = Math.floor(w / cells);
      const ch = Math.floor(h / 12);
      canvas.width = w;
      canvas.height = ch;
      ctx.drawImage(video, 0, 0, w, h, 0, 0, w, h);
      const px = ctx.getImageData(0, 0, w, ch).data;
      let value = 0, crc = 0;
      for (let c = 0; c < cells; c++) {
        let sum = 0, n = 0;
        for (let y = Math.floor(ch / 4); y < ch - Math.floor(ch / 4); y += 2) {
          for (let x = c * cw + Math.floor(cw / 4); x < (c + 1) * cw - Math.floor(cw / 4); x++) {
            const i = (y * w + x) * 4;
            sum += 0.299 * px[i] + 0.587 * px[i + 1] + 0.114 * px[i + 2];
            n++;
          }
        }
        const one = n > 0 && sum / n > 128;
        if (c < 4) {
          if (one !== (c % 2 === 0)) return null;
        } else if (c < 44) {
          value = value * 2 + (one ? 1 : 0);
        } else {
          crc = crc * 2 + (one ? 1 : 0);
        }
      }
      if (crc !== crc8(value)) return null;
      // The time nearest now with these low 40 bits.
      const now = Date.now();
      let ms = now - (now % MOD) + value;
      if (ms - now > MOD / 2) ms -= MOD;
      else if (now - ms > MOD / 2) ms += MOD;
      return ms;
    };
    const latencies = [];
    let firstFrameMs = null;
    let unreadable = 0;
    let lastRead = 0;
    await new Promise((resolve) => {
      const onFrame = (now, meta) => {
        const t = performance.now();
        if (firstFrameMs == null) firstFrameMs = t - started;
        if (t - started > seconds * 1000) return resolve();
        if (t - started > firstFrameMs + settleSeconds * 1000 && t - lastRead >= everyMs && video.videoWidth) {
          lastRead = t;
          const stamp = readStamp(video.videoWidth, video.videoHeight);
          if (stamp == null) unreadable++;
          else latencies.push(performance.timeOrigin + meta.expectedDisplayTime - stamp);
        }
        video.requestVideoFrameCallback(onFrame);
      };
      video.requestVideoFrameCallback(onFrame);
      setTimeout(resolve, (seconds + 10) * 1000);
    });
    const details = hls.levels && hls.levels[0] && hls.levels[0].details;
    const parts = details && details.partList ? details.partList.map((p) => p.duration) : [];
    const result = {
      latencies, unreadable, firstFrameMs, errors,
      currentTime: video.currentTime,
      lowLatencyPlaylist: !!(details && details.canBlockReload && parts.length > 0),
      partDurations: parts,
      partTarget: details ? details.partTarget : null,
      hlsLatency: hls.latency,
      hlsTargetLatency: hls.targetLatency,
    };
    hls.destroy();
    video.remove();
    return result;
  }, { src, lowLatency, seconds, settleSeconds, everyMs });
}

export const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : null;
};
