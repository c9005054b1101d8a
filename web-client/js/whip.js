// WHIP publishing (POST /whip/{room}, docs/media.md): the studio's "Go live"
// and the console's "Join stage". H.264 is preferred (passthrough to HLS).

import { negotiate, endSession, iceServers, MediaError } from './webrtc.js';

export { MediaError };

export function whipUrl(room) {
  return `${location.origin}/whip/${encodeURIComponent(room)}`;
}

function preferH264(transceiver) {
  const caps = RTCRtpSender.getCapabilities && RTCRtpSender.getCapabilities('video');
  if (!caps || !transceiver.setCodecPreferences) return;
  const h264 = caps.codecs.filter((c) => /h264/i.test(c.mimeType));
  // packetization-mode=1 and constrained baseline first: what the server takes as-is.
  const score = (c) => (/packetization-mode=1/.test(c.sdpFmtpLine || '') ? 2 : 0) +
                       (/profile-level-id=42e0/i.test(c.sdpFmtpLine || '') ? 1 : 0);
  h264.sort((a, b) => score(b) - score(a));
  const rest = caps.codecs.filter((c) => !/h264/i.test(c.mimeType));
  if (h264.length) transceiver.setCodecPreferences([...h264, ...rest]);
}

export class WhipPublisher {
  constructor(room, token, { url } = {}) {
    this.url = url || whipUrl(room);
    this.token = token;
    this.pc = null;
    this.location = null;
    this.onState = () => {};
  }

  async start(stream) {
    this.stop();
    const pc = new RTCPeerConnection({ iceServers: iceServers(), bundlePolicy: 'max-bundle' });
    this.pc = pc;
    for (const track of stream.getTracks()) {
      const tr = pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
      if (track.kind === 'video') {
        preferH264(tr);
        try {
          const p = tr.sender.getParameters();
          p.encodings = p.encodings && p.encodings.length ? p.encodings : [{}];
          p.encodings[0].maxBitrate = 2_500_000;
          tr.sender.setParameters(p).catch(() => {});
        } catch { /* optional */ }
      }
    }
    pc.addEventListener('connectionstatechange', () => this.onState(pc.connectionState));
    try {
      this.location = await negotiate(pc, this.url, this.token);
    } catch (e) {
      this.stop();
      throw e;
    }
    return this.location;
  }

  // Swaps a track (device change) without a new session.
  async replaceTrack(track) {
    if (!this.pc) return;
    const sender = this.pc.getSenders().find((s) => s.track && s.track.kind === track.kind);
    if (sender) await sender.replaceTrack(track);
  }

  async stop() {
    const loc = this.location;
    this.location = null;
    if (this.pc) { this.pc.close(); this.pc = null; }
    await endSession(loc, this.token);
  }
}
