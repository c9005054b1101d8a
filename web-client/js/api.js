// The REST API (/api/v1, docs/api.md): one function per call. Errors become
// ApiError with the server's {"error":{"code","message"}} and the HTTP status;
// a network failure is ApiError with status 0 and code "network".

export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message || code);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

const BASE = '/api/v1';

// ---- tokens: kept per page kind (a phone may hold a jobseeker token while
// the same browser is used for the studio in a demo).
const TOKEN_KEY = (scope) => `jobcast.token.${scope}`;

export function getToken(scope) {
  try { return localStorage.getItem(TOKEN_KEY(scope)) || ''; } catch { return ''; }
}
export function setToken(scope, token) {
  try {
    if (token) localStorage.setItem(TOKEN_KEY(scope), token);
    else localStorage.removeItem(TOKEN_KEY(scope));
  } catch { /* storage off: the page keeps it in memory only */ }
}
// A token handed over in the URL fragment (#token=...), never sent to the
// server in a request line; removed from the address bar once read.
export function takeTokenFromUrl(scope) {
  const hash = new URLSearchParams(location.hash.slice(1));
  const token = hash.get('token');
  if (!token) return getToken(scope);
  setToken(scope, token);
  hash.delete('token');
  const rest = hash.toString();
  history.replaceState(null, '', location.pathname + location.search + (rest ? '#' + rest : ''));
  return token;
}
// The claims of a JWT, without checking it (the server does): for names/roles in the UI.
export function claims(token) {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const json = decodeURIComponent(escape(atob(part + '='.repeat((4 - part.length % 4) % 4))));
    return JSON.parse(json);
  } catch { return null; }
}

export async function request(method, path, { body, token, signal, timeoutMs = 15000 } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), timeoutMs);
  if (signal) signal.addEventListener('abort', () => ctl.abort(), { once: true });
  let res;
  try {
    res = await fetch(path.startsWith('/') && !path.startsWith(BASE) ? BASE + path : path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: ctl.signal,
    });
  } catch (e) {
    throw new ApiError(0, 'network', e && e.name === 'AbortError' ? 'timed out' : 'network error');
  } finally {
    clearTimeout(timer);
  }
  if (res.status === 204) return null;
  const text = await res.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!res.ok) {
    const err = data && data.error;
    throw new ApiError(res.status, (err && err.code) || `http_${res.status}`,
      (err && err.message) || res.statusText || `HTTP ${res.status}`, err && err.field);
  }
  if (text && data === null) throw new ApiError(res.status, 'bad_json', 'the server sent no JSON');
  return data;
}

const enc = encodeURIComponent;
export const rooms = {
  list: async (query = {}) => {
    const q = new URLSearchParams(Object.entries(query).filter(([, v]) => v != null && v !== ''));
    return (await request('GET', `/rooms${q.toString() ? '?' + q : ''}`)).items;
  },
  get: (id, token) => request('GET', `/rooms/${enc(id)}`, { token }),
  start: (id, token) => request('POST', `/rooms/${enc(id)}/start`, { token, body: {} }),
  end: (id, token) => request('POST', `/rooms/${enc(id)}/end`, { token, body: {} }),
  // {room, recordings: [...]}: see recordingOf().
  recordings: (id, token) => request('GET', `/rooms/${enc(id)}/recordings`, { token }),
};

export const jobs = {
  approve: (room, job, token) => request('POST', `/rooms/${encodeURIComponent(room)}/jobs/${encodeURIComponent(job)}/approve`, { token }),
  add: (room, job, token) => request('POST', `/rooms/${enc(room)}/jobs`, { token, body: job }),
  pin: (room, job, token) => request('POST', `/rooms/${enc(room)}/jobs/${enc(job)}/pin`, { token, body: {} }),
  apply: (room, job, token) => request('POST', `/rooms/${enc(room)}/jobs/${enc(job)}/apply`, { token, body: {} }),
};

export const profile = {
  get: (token) => request('GET', '/me/profile', { token }),
  put: (p, token) => request('PUT', '/me/profile', { token, body: p }),
  remove: (token) => request('DELETE', '/me/profile', { token }),
};

export const applications = {
  mine: async (token) => (await request('GET', '/me/applications', { token })).items,
  // One page: {items, next} where next is the next offset or null.
  forRoom: async (room, token, { offset, limit } = {}) => {
    const q = new URLSearchParams();
    if (offset) q.set('offset', offset);
    if (limit) q.set('limit', limit);
    const data = await request('GET', `/rooms/${enc(room)}/applications${q.toString() ? '?' + q : ''}`, { token });
    return { items: data.items, next: data.next_offset };
  },
  setStatus: (id, status, token) => request('PATCH', `/applications/${enc(id)}`, { token, body: { status } }),
};

// Reminders: following a room that has not started; the rooms followed
// (ROOMs with url and calendar_url), and its .ics file's address.
export const follows = {
  follow: (room, token) => request('PUT', `/rooms/${enc(room)}/follow`, { token, body: {} }),
  unfollow: (room, token) => request('DELETE', `/rooms/${enc(room)}/follow`, { token, body: {} }),
  mine: async (token) => (await request('GET', '/me/follows', { token })).items,
  calendarUrl: (room) => `${BASE}/rooms/${enc(room)}/calendar.ics`,
};

// Jobs that fit the jobseeker's profile: [{room, job, score, reasons}].
export const recommendations = {
  mine: async (token, limit = 5) => (await request('GET', `/me/recommendations?limit=${limit}`, { token })).items,
};

// The employer's back office: {rooms, items} (every applicant across its rooms).
export const employers = {
  applicants: (id, token) => request('GET', `/employers/${enc(id)}/applicants`, { token }),
};

// The stage (docs/stage.md): who is on it; putting someone on it as main,
// guest or interpreter, or taking them off. Answers {event_id, stage}.
export const stage = {
  get: (room, token) => request('GET', `/rooms/${enc(room)}/stage`, { token }),
  put: (room, sub, { slot, name }, token) => request('PUT', `/rooms/${enc(room)}/stage/${enc(sub)}`, { token, body: { slot, name } }),
  remove: (room, sub, token) => request('DELETE', `/rooms/${enc(room)}/stage/${enc(sub)}`, { token }),
};

// Demo-only sign-in (jobcastd --demo): a short-lived token for a new user.
export const demo = {
  token: (role = 'jobseeker', extra = {}) => request('POST', '/demo/token', { body: { role, ...extra } }),
};

// A JOB as the server sends it (docs/api.md), in the pages' names.
export function jobOf(j) {
  if (!j) return null;
  return {
    id: j.id,
    title: j.title || '',
    wageMin: j.wage_min,
    wageMax: j.wage_max,
    wageUnit: j.wage_unit,
    hours: j.hours || '',
    location: j.location || '',
    housing: j.housing || '',
    headcount: j.headcount,
    description: j.description || '',
    contract: j.contract_template_url || '',
    // 'pending' until a counsellor or admin approves it, 'approved', or '' (no review asked).
    review: (j.review && j.review.status) || '',
    reviewedBy: (j.review && (j.review.by_name || j.review.by)) || '',
  };
}

// Room fields from GET /rooms/{id} (a ROOM with jobs, pinned and counts), a
// rooms list item (a ROOM), or a welcome's snapshot (the stored room under
// "room", the pinned JOB as "pinned_job"): signaling/schema/out/.
export function roomOf(data) {
  const snapshot = typeof data.room === 'object';
  const r = snapshot ? data.room : data;
  const pinned = snapshot ? data.pinned_job : data.pinned;
  return {
    id: r.id,
    title: r.title,
    status: r.status,
    startsAt: Number(r.scheduled_at),
    jobs: (data.jobs || []).map(jobOf),
    pinnedId: pinned ? String(pinned.id) : (r.pinned_job || null),
    pinnedJob: pinned ? jobOf(pinned) : null,
    counts: data.counts || {},
    requireReview: Boolean(r.require_review === true || r.require_review === '1'),
  };
}

// A replay from GET /rooms/{id}/recordings ({recordings: [{url, started_ms,
// duration_s, pins: [{offset_s, job_id, title}]}]}): the MP4 pieces in order
// and the job chapters (piece index + seconds into it).
export function recordingOf(data, jobsList = []) {
  const pieces = [...data.recordings].sort((a, b) => a.started_ms - b.started_ms)
    .map((p) => ({ url: p.url, duration: p.duration_s, startedMs: p.started_ms, pins: p.pins, captions: p.captions_url || null }));
  const chapters = [];
  pieces.forEach((p, piece) => {
    for (const pin of p.pins) {
      const job = jobsList.find((j) => String(j.id) === String(pin.job_id));
      chapters.push({ piece, at: Math.max(0, pin.offset_s), jobId: pin.job_id, title: pin.title || (job && job.title) || String(pin.job_id) });
    }
  });
  return { pieces, chapters };
}
