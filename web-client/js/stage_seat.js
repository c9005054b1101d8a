// One person's seat on the stage from a staff page (the counsellor's console,
// the interpreter's page): the place on a stage slot (REST, docs/stage.md) and
// the camera published by WHIP, taken and given up together, with nothing left
// half done when a step fails. The page draws from `state`, `link` and
// `previewing` whenever `onChange` is called, and shows `onError`'s text.

import * as api from './api.js';
import { WhipPublisher } from './whip.js';
import { $, announce, errorText } from './ui.js';
import { t } from './i18n.js';

export class StageSeat {
  // devices: staff.js Devices; slot: 'guest' | 'interpreter';
  // token(): the page's token; onChange(): redraw.
  constructor({ roomId, slot, devices, token, onChange }) {
    Object.assign(this, { roomId, slot, devices, token, onChange });
    this.state = 'off';  // 'off' | 'joining' | 'on' | 'leaving'
    this.link = null;    // the WHIP peer connection's state while on
    this.previewing = false;
    this.publisher = null;
    devices.onChange = (track) => this.publisher && this.publisher.replaceTrack(track);
    // Closing the page ends the session at once instead of leaving the
    // programme on a frozen picture until the node notices.
    window.addEventListener('pagehide', () => { if (this.publisher) this.publisher.stop(); });
  }

  sub() { return (api.claims(this.token()) || {}).sub; }

  // The camera preview before going on stage, on and off.
  async preview() {
    this.showError(null);
    if (this.previewing) {
      this.previewing = false;
      if (this.state === 'off') this.devices.stop();
    } else {
      try { await this.devices.open(); this.previewing = true; } catch (e) { this.showError(e); }
    }
    this.onChange();
  }

  // Takes the slot under `name`, then publishes the camera. True once on.
  async join(name) {
    if (this.state !== 'off') return false;
    const sub = this.sub();
    this.state = 'joining';
    this.link = null;
    this.showError(null);
    this.onChange();
    let member = false;
    try {
      const stream = this.devices.stream || await this.devices.open();
      await api.stage.put(this.roomId, sub, { slot: this.slot, name }, this.token());
      member = true;
      this.publisher = new WhipPublisher(this.roomId, this.token());
      this.publisher.onState = (s) => this.onLink(s);
      await this.publisher.start(stream);
      this.state = 'on';
      this.previewing = false;  // the preview is now the on-stage picture: leaving stops it
    } catch (e) {
      // Leave nothing half done: no session, no place on the stage, no camera.
      if (this.publisher) { const p = this.publisher; this.publisher = null; await p.stop(); }
      if (member) await api.stage.remove(this.roomId, sub, this.token()).catch(() => {});
      if (!this.previewing) this.devices.stop();
      this.state = 'off';
      this.showError(e);
    }
    this.onChange();
    return this.state === 'on';
  }

  onLink(s) {
    this.link = s;
    this.onChange();
    if (s === 'failed' && this.publisher && this.state === 'on') {
      // The network dropped the camera: publish again on a new session.
      const p = this.publisher;
      setTimeout(async () => {
        if (this.publisher !== p || this.state !== 'on') return;
        try { await p.start(this.devices.stream); } catch (e) { this.showError(e); }
      }, 2000);
    }
  }

  // Ends the WHIP session first, so the programme changes at once, then gives
  // up the slot (unless somebody else already `removed` this person).
  async leave({ removed = false } = {}) {
    if (this.state !== 'on') return;
    this.state = 'leaving';
    this.showError(null);
    this.onChange();
    if (this.publisher) { const p = this.publisher; this.publisher = null; await p.stop(); }
    if (!removed) {
      try { await api.stage.remove(this.roomId, this.sub(), this.token()); } catch (e) {
        if (e.code !== 'not_on_stage') this.showError(e);
      }
    }
    this.devices.stop();
    this.state = 'off';
    this.onChange();
  }

  // #stage-error: the explanation, then what went wrong in the page's
  // language (the browser's camera error by name; never the server's English).
  showError(e) {
    const box = $('#stage-error');
    box.hidden = !e;
    if (!e) { box.textContent = ''; return; }
    let key = 'console.stageFailed';
    if (e.name === 'NotAllowedError' || e.name === 'NotFoundError' || e.name === 'NotReadableError') key = 'console.cameraFailed';
    else if (e.code === 'network' || e.status === 0) key = 'error.network';
    else if (e.status === 401 || e.status === 403) key = 'console.stageForbidden';
    else if (e.status === 409) key = 'console.stageBusy';
    const camera = key === 'console.cameraFailed';
    box.textContent = t(key, { message: camera ? e.name : errorText(e) });
    announce(box.textContent, { assertive: true, toast: false });
  }
}
