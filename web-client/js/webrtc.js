// Shared by whip.js and whep.js: one SDP offer/answer exchange over HTTP
// (RFC 9725 WHIP and its WHEP twin), non-trickle: the offer carries every
// host candidate, the answer carries the server's.

export class MediaError extends Error {
  constructor(status, code, message, retryAfter) {
    super(message || code);
    this.name = 'MediaError';
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

function gatheringDone(pc, timeoutMs) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    pc.addEventListener('icegatheringstatechange', () => {
      if (pc.iceGatheringState === 'complete') { clearTimeout(timer); resolve(); }
    });
  });
}

// The origins this page may send its token to: its own, and the other nodes
// of this deployment as the server lists them (GET /api/v1/config,
// server.node_urls). A 307 elsewhere is not followed with the token.
let nodeOrigins = null;
function trustedOrigins() {
  if (!nodeOrigins) {
    nodeOrigins = fetch('/api/v1/config', { headers: { Accept: 'application/json' } })
      .then((r) => (r.ok ? r.json() : {}))
      .then((c) => new Set([location.origin, ...((c && c.node_origins) || [])]))
      .catch(() => { nodeOrigins = null; return new Set([location.origin]); });
  }
  return nodeOrigins;
}

export async function mayCarryToken(url) {
  let origin;
  try { origin = new URL(url, location.href).origin; } catch { return false; }
  if (origin === location.origin) return true;
  return (await trustedOrigins()).has(origin);
}

// Posts pc's offer to url; returns the session's absolute Location.
export async function negotiate(pc, url, token, { gatherMs = 2000 } = {}) {
  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  await gatheringDone(pc, gatherMs);
  const headers = { 'Content-Type': 'application/sdp' };
  if (token) headers.Authorization = `Bearer ${token}`;
  let res;
  try {
    res = await fetch(url, { method: 'POST', headers, body: pc.localDescription.sdp });
    // Another node answered 307 to the room's media node (docs/media.md); the
    // browser followed it but dropped the token on the way to another origin.
    if (res.status === 401 && res.redirected && token) {
      if (!(await mayCarryToken(res.url))) {
        throw new MediaError(401, 'untrusted_node', 'redirected to a node this site does not list');
      }
      res = await fetch(res.url, { method: 'POST', headers, body: pc.localDescription.sdp });
    }
  } catch (e) {
    if (e instanceof MediaError) throw e;
    throw new MediaError(0, 'network', 'network error');
  }
  const body = await res.text();
  if (res.status !== 201 && res.status !== 200) {
    let code = `http_${res.status}`, message = res.statusText;
    try { const e = JSON.parse(body).error; code = e.code || code; message = e.message || message; } catch { /* not JSON */ }
    throw new MediaError(res.status, code, message, Number(res.headers.get('Retry-After')) || undefined);
  }
  await pc.setRemoteDescription({ type: 'answer', sdp: body });
  const loc = res.headers.get('Location');
  // Relative to where the answer came from: after a redirect, the media node.
  return loc ? new URL(loc, res.url || new URL(url, location.href)).href : null;
}

export async function endSession(location, token) {
  if (!location) return;
  const headers = token && (await mayCarryToken(location)) ? { Authorization: `Bearer ${token}` } : {};
  try { await fetch(location, { method: 'DELETE', headers, keepalive: true }); } catch { /* gone already */ }
}

export function iceServers() {
  // The server's answer carries its candidates; no STUN needed on the same network.
  return [];
}
