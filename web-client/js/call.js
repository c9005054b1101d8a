// The one-to-one interview call (docs/interview.md), shared by the viewer
// (jobseeker) and the studio (employer): browser-to-browser WebRTC whose
// offer, answer and candidates travel as call.signal frames on the room's
// live channel, to the other party only. The employer always offers; a
// jobseeker who (re)joins makes the employer offer again on a fresh peer
// connection, so a page reload within the grace period rejoins the call.
// `?relay=1` on the page forces relay-only ICE (the TURN path; tests use it).

const KEY = 'jobcast.call';

function newId() {
  const b = crypto.getRandomValues(new Uint8Array(6));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

export function relayOnly() {
  return new URLSearchParams(location.search).get('relay') === '1';
}

// The call this tab was in, kept across a reload: { id, accepted }.
export function remembered() {
  try { return JSON.parse(sessionStorage.getItem(KEY) || 'null'); } catch { return null; }
}
export function remember(value) {
  try {
    if (value) sessionStorage.setItem(KEY, JSON.stringify(value));
    else sessionStorage.removeItem(KEY);
  } catch { /* private mode: no rejoin after reload */ }
}

export class InterviewCall {
  // live: the page's LiveChannel; local/remote: <video> elements;
  // onChange(call): the call's state changed; stream: a MediaStream to send
  // (else getUserMedia audio + video).
  constructor(live, { local, remote, onChange, stream = null } = {}) {
    this.live = live;
    this.local = local;
    this.remote = remote;
    this.onChange = onChange || (() => {});
    this.given = stream;
    this.stream = null;
    this.pc = null;
    this.pcId = null;
    this.call = null;
    this.iceServers = [];
    this.pending = [];       // candidates that came before the remote description
    this.muted = false;
    this.cameraOff = false;
    this.audioOnly = false;
    this.peerMedia = { audio: true, video: true };
    this.joining = false;
    this.early = [];
  }

  get id() { return this.call && this.call.call_id; }
  get role() { return this.call && this.call.role; }
  get active() { return !!this.call && this.call.state !== 'ended'; }

  // Joins `callId` (or, without one, this user's open call). Rejects with the
  // server's LiveError (call_not_found, call_forbidden, call_ended).
  async join(callId) {
    // Camera and microphone first: the other side may answer the join at once.
    await this._media();
    this.joining = true;
    this.early = [];
    let ack;
    try {
      ack = await this.live.send('call.join', callId ? { call_id: callId } : {});
    } catch (e) {
      this.joining = false;
      this._close();
      throw e;
    }
    this.joining = false;
    this.call = ack.call;
    this.iceServers = (ack.ice_servers || []).map((s) => ({ urls: s.urls, username: s.username, credential: s.credential }));
    remember({ id: this.call.call_id, accepted: true });
    this.onChange(this.call);
    if (this.role === 'employer' && this.call.peer_joined) await this._offer();
    // Frames that overtook the ack.
    for (const [kind, d] of this.early.splice(0)) await (kind === 'signal' ? this.onSignal(d) : this.onState(d));
    return this.call;
  }

  async _media() {
    if (this.stream) return;
    const base = this.given || await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: true, noiseSuppression: true },
      video: { width: { ideal: 640 }, height: { ideal: 360 }, frameRate: { ideal: 24 } },
    });
    // A copy: muting the call must not mute the broadcast the studio publishes.
    this.stream = this.given ? base.clone() : base;
    if (this.local) { this.local.srcObject = this.stream; this.local.muted = true; this.local.play().catch(() => {}); }
  }

  _newPc(id) {
    if (this.pc) this.pc.close();
    this.pending = [];
    this.pcId = id;
    const pc = new RTCPeerConnection({ iceServers: this.iceServers, iceTransportPolicy: relayOnly() ? 'relay' : 'all' });
    this.pc = pc;
    for (const track of this.stream.getTracks()) pc.addTrack(track, this.stream);
    this._applyTracks();
    pc.onicecandidate = (e) => {
      if (!e.candidate || pc !== this.pc) return;
      const c = e.candidate.toJSON();
      this._signal('candidate', { pc: id, candidate: { candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex, usernameFragment: c.usernameFragment } });
    };
    pc.ontrack = (e) => {
      if (pc !== this.pc || !this.remote) return;
      this.remote.srcObject = e.streams[0] || new MediaStream([e.track]);
      this.remote.play().catch(() => {});
    };
    pc.onconnectionstatechange = () => { if (pc === this.pc) this.onChange(this.call); };
    return pc;
  }

  async _offer() {
    const pc = this._newPc(newId());
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    await this._signal('offer', { pc: this.pcId, sdp: offer.sdp });
  }

  _signal(kind, fields = {}) {
    if (!this.call) return Promise.resolve();
    return this.live.send('call.signal', { call_id: this.call.call_id, kind, ...fields }).catch(() => {});
  }

  // A call.signal event (from the other party).
  async onSignal(d) {
    if (!this.call && this.joining) { this.early.push(['signal', d]); return; }
    if (!this.call || d.call_id !== this.call.call_id || !this.stream) return;
    if (d.kind === 'offer' && this.role === 'jobseeker') {
      const pc = this._newPc(d.pc || newId());
      await pc.setRemoteDescription({ type: 'offer', sdp: d.sdp });
      await this._flush();
      const answer = await pc.createAnswer();
      await pc.setLocalDescription(answer);
      await this._signal('answer', { pc: this.pcId, sdp: answer.sdp });
      this._signal('media', { audio: !this.muted, video: !this.cameraOff && !this.audioOnly });
    } else if (d.kind === 'answer' && this.role === 'employer' && this.pc && d.pc === this.pcId) {
      await this.pc.setRemoteDescription({ type: 'answer', sdp: d.sdp });
      await this._flush();
      this._signal('media', { audio: !this.muted, video: !this.cameraOff && !this.audioOnly });
    } else if (d.kind === 'candidate' && this.pc && (!d.pc || d.pc === this.pcId)) {
      if (this.pc.remoteDescription) await this.pc.addIceCandidate(d.candidate).catch(() => {});
      else this.pending.push(d.candidate);
    } else if (d.kind === 'media') {
      this.peerMedia = { audio: d.audio !== false, video: d.video !== false };
      this.onChange(this.call);
    }
  }

  async _flush() {
    const list = this.pending;
    this.pending = [];
    for (const c of list) await this.pc.addIceCandidate(c).catch(() => {});
  }

  // A call.state event: where the call stands, from this party's side.
  async onState(d) {
    if (!this.call && this.joining) { this.early.push(['state', d]); return; }
    if (!this.call || d.call_id !== this.call.call_id) return;
    const joined = d.joined;
    this.call = { ...this.call, ...d };
    delete this.call.joined;
    if (this.call.state === 'ended') { this._close(); return; }
    this.onChange(this.call);
    // The jobseeker came (back): start afresh with a new offer.
    if (joined === 'jobseeker' && this.role === 'employer') await this._offer();
  }

  setMuted(on) { this.muted = on; this._applyTracks(); this._signal('media', { audio: !on, video: !this.cameraOff && !this.audioOnly }); }
  setCameraOff(on) { this.cameraOff = on; this._applyTracks(); this._signal('media', { audio: !this.muted, video: !on && !this.audioOnly }); }
  // Audio only, for a poor network: no video is sent, and the bandwidth is left to the voice.
  setAudioOnly(on) { this.audioOnly = on; this._applyTracks(); this._signal('media', { audio: !this.muted, video: !on && !this.cameraOff }); }

  _applyTracks() {
    if (!this.stream) return;
    for (const t of this.stream.getAudioTracks()) t.enabled = !this.muted;
    for (const t of this.stream.getVideoTracks()) t.enabled = !this.cameraOff && !this.audioOnly;
    if (!this.pc) return;
    for (const sender of this.pc.getSenders()) {
      if (!sender.track || sender.track.kind !== 'video') continue;
      const params = sender.getParameters();
      if (!params.encodings || !params.encodings.length) continue;
      params.encodings[0].active = !this.audioOnly;
      sender.setParameters(params).catch(() => {});
    }
  }

  // Ends the call (either party); a jobseeker who never joined declines it.
  async hangup() {
    if (!this.call) return null;
    const ack = await this.live.send('call.signal', { call_id: this.call.call_id, kind: 'hangup' }).catch(() => ({}));
    this.call = { ...this.call, state: 'ended', outcome: ack.outcome || this.call.outcome };
    this._close();
    return ack.outcome;
  }

  _close() {
    if (this.pc) this.pc.close();
    this.pc = null;
    if (this.stream) for (const t of this.stream.getTracks()) t.stop();
    this.stream = null;
    if (this.remote) this.remote.srcObject = null;
    if (this.local) this.local.srcObject = null;
    remember(null);
    this.onChange(this.call);
  }

  // For tests and diagnostics: inbound video frames decoded, audio packets
  // received, and the selected candidate pair's local and remote types.
  async stats() {
    const out = { framesDecoded: 0, audioPackets: 0, localType: null, remoteType: null, connection: this.pc && this.pc.connectionState };
    if (!this.pc) return out;
    const report = await this.pc.getStats();
    let pairId = null;
    report.forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') out.framesDecoded += s.framesDecoded || 0;
      if (s.type === 'inbound-rtp' && s.kind === 'audio') out.audioPackets += s.packetsReceived || 0;
      if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
    });
    const pair = pairId && report.get(pairId);
    if (pair) {
      out.localType = report.get(pair.localCandidateId)?.candidateType || null;
      out.remoteType = report.get(pair.remoteCandidateId)?.candidateType || null;
    }
    return out;
  }
}

// Declines an offered call without joining it (the jobseeker's "not now").
export function decline(live, callId) {
  remember(null);
  return live.send('call.signal', { call_id: callId, kind: 'decline' });
}

// Wires the call's buttons inside `root` (#call-mute, #call-camera,
// #call-audio-only, #call-end; toggles carry aria-pressed) and writes where
// the call stands into #call-status. t: the page's i18n function.
export function bindControls(call, root, t, { onEnd } = {}) {
  const q = (sel) => root.querySelector(sel);
  const toggle = (sel, get, set) => q(sel).addEventListener('click', () => {
    set(!get());
    q(sel).setAttribute('aria-pressed', String(get()));
  });
  toggle('#call-mute', () => call.muted, (v) => call.setMuted(v));
  toggle('#call-camera', () => call.cameraOff, (v) => call.setCameraOff(v));
  toggle('#call-audio-only', () => call.audioOnly, (v) => call.setAudioOnly(v));
  q('#call-end').addEventListener('click', async () => {
    const outcome = await call.hangup();
    if (onEnd) onEnd(outcome);
  });
}

// The line that says where the call stands, for #call-status.
export function statusText(call, t) {
  const c = call.call;
  if (!c) return '';
  const name = (c.peer && c.peer.name) || '';
  if (c.state === 'ended') return t('call.ended', { outcome: t(`call.outcome.${c.outcome || 'completed'}`), n: c.duration_s || 0 });
  const pcState = call.pc && call.pc.connectionState;
  if (pcState === 'disconnected' || pcState === 'failed') return t('call.reconnecting');
  if (pcState === 'connected') {
    const notes = [t('call.connected', { name })];
    if (!call.peerMedia.audio) notes.push(t('call.peerMuted'));
    if (!call.peerMedia.video) notes.push(t('call.peerCameraOff'));
    return notes.join(' · ');
  }
  if (!c.peer_joined && c.role === 'employer') return t('call.waiting', { name });
  return t('call.connecting');
}
