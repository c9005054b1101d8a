// WHEP playback (POST /whep/{room}, docs/media.md): the viewer's low-latency
// switch and the console's programme monitor. Receive-only, one session.

import { negotiate, endSession, iceServers, MediaError } from './webrtc.js';

export { MediaError };

// interpreter: the programme with the interpreter's picture; low: the 360p
// picture (weak networks).
export function whepUrl(room, { interpreter = false, low = false } = {}) {
  const u = `${location.origin}/whep/${encodeURIComponent(room)}`;
  if (interpreter) return `${u}?variant=interpreter`;
  return low ? `${u}?variant=360p` : u;
}

export class WhepPlayer {
  constructor(url, token) {
    this.url = url;
    this.token = token;
    this.pc = null;
    this.location = null;
    this.onState = () => {};
  }

  // Resolves with a MediaStream once the session is up (tracks may start a moment later).
  async start() {
    await this.stop();
    const pc = new RTCPeerConnection({ iceServers: iceServers(), bundlePolicy: 'max-bundle' });
    this.pc = pc;
    const stream = new MediaStream();
    pc.addTransceiver('video', { direction: 'recvonly' });
    pc.addTransceiver('audio', { direction: 'recvonly' });
    pc.addEventListener('track', (e) => stream.addTrack(e.track));
    pc.addEventListener('connectionstatechange', () => this.onState(pc.connectionState));
    try {
      this.location = await negotiate(pc, this.url, this.token);
    } catch (e) {
      await this.stop();
      throw e;
    }
    return stream;
  }

  async stop() {
    const loc = this.location;
    this.location = null;
    if (this.pc) { this.pc.close(); this.pc = null; }
    await endSession(loc, this.token);
  }
}
