// Shared by the studio and the console: the access token (from #token=, storage
// or a form), device selection and camera preview.

import * as api from './api.js';
import { $, el } from './ui.js';
import { t } from './i18n.js';

// Resolves with a token for this page: from the URL fragment, storage, or the form.
export function staffToken(scope) {
  const token = api.takeTokenFromUrl(scope);
  if (token) return Promise.resolve(token);
  const form = $('#token-form');
  form.hidden = false;
  return new Promise((resolve) => {
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const v = $('#token-input').value.trim();
      if (!v) return;
      api.setToken(scope, v);
      form.hidden = true;
      resolve(v);
    });
  });
}

// Fills camera/mic selects and keeps a preview stream in `video`.
export class Devices {
  constructor(video, cameraSelect, micSelect) {
    this.video = video;
    this.camera = cameraSelect;
    this.mic = micSelect;
    this.stream = null;
    this.onChange = () => {};
    cameraSelect.addEventListener('change', () => this.open());
    micSelect.addEventListener('change', () => this.open());
  }

  async open() {
    const constraints = {
      video: { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 25 },
               ...(this.camera.value ? { deviceId: { exact: this.camera.value } } : {}) },
      audio: { echoCancellation: true, noiseSuppression: true,
               ...(this.mic.value ? { deviceId: { exact: this.mic.value } } : {}) },
    };
    const stream = await navigator.mediaDevices.getUserMedia(constraints);
    const old = this.stream;
    this.stream = stream;
    this.video.srcObject = stream;
    this.video.play().catch(() => {});
    if (old) {
      for (const tr of stream.getTracks()) await this.onChange(tr);
      for (const tr of old.getTracks()) tr.stop();
    }
    await this.list();
    return stream;
  }

  async list() {
    const devices = await navigator.mediaDevices.enumerateDevices();
    const fill = (select, kind, current) => {
      const opts = devices.filter((d) => d.kind === kind);
      select.replaceChildren(...opts.map((d, i) => el('option', { value: d.deviceId }, d.label || `${kind} ${i + 1}`)));
      if (current) select.value = current;
    };
    const vt = this.stream && this.stream.getVideoTracks()[0];
    const at = this.stream && this.stream.getAudioTracks()[0];
    fill(this.camera, 'videoinput', vt && vt.getSettings().deviceId);
    fill(this.mic, 'audioinput', at && at.getSettings().deviceId);
  }

  stop() {
    if (this.stream) for (const tr of this.stream.getTracks()) tr.stop();
    this.stream = null;
  }
}

export function copyButtons() {
  for (const b of document.querySelectorAll('button[data-copy]')) {
    b.addEventListener('click', async () => {
      const text = document.getElementById(b.dataset.copy).textContent;
      try { await navigator.clipboard.writeText(text); } catch {
        const r = document.createRange();
        r.selectNodeContents(document.getElementById(b.dataset.copy));
        getSelection().removeAllRanges();
        getSelection().addRange(r);
      }
      b.textContent = t('studio.copied');
      setTimeout(() => { b.textContent = t('studio.copy'); }, 1500);
    });
  }
}
