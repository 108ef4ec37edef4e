// The collector's HTTP API as the pages use it: same origin, Prometheus' JSON envelope.

export class APIError extends Error {
  constructor(status, errorType, message) { super(message); this.status = status; this.errorType = errorType; }
}
// Prometheus envelope: resolves to the whole body (status, data, warnings) or throws its error.
export async function apiBody(path, params) {
  let qs = '';
  if (params) {
    const u = new URLSearchParams();
    for (const [k, v] of (Array.isArray(params) ? params : Object.entries(params))) if (v !== undefined && v !== null && v !== '') u.append(k, v);
    qs = '?' + u.toString();
  }
  let r;
  // Absolute from location.origin: a page opened with user:password@ in its address has them in its
  // base URL, and fetch refuses relative URLs that would inherit them.
  try { r = await fetch(location.origin + '/api/v1/' + path + qs, { headers: { Accept: 'application/json' }, credentials: 'same-origin' }); }
  catch (e) { throw new APIError(0, 'network', 'cannot reach the collector: ' + e.message); }
  return envelope(r);
}
// The whole body of a success, or its error thrown.
async function envelope(r) {
  let body = null;
  const text = await r.text();
  try { body = JSON.parse(text); } catch (e) { /* not JSON */ }
  if (!body || typeof body !== 'object') throw new APIError(r.status, 'http', 'HTTP ' + r.status + ': ' + text.slice(0, 300));
  if (body.status !== 'success') throw new APIError(r.status, body.errorType || 'error', body.error || ('HTTP ' + r.status));
  return body;
}
export async function api(path, params) { return (await apiBody(path, params)).data; }
// A change through the admin API: a JSON body (the collector refuses other types for changes, so
// a cross-site form cannot make one) from this origin; resolves to data or throws its error.
export async function apiSend(method, path, body) {
  const init = { method, headers: { Accept: 'application/json' }, credentials: 'same-origin' };
  if (body !== undefined) { init.headers['Content-Type'] = 'application/json'; init.body = JSON.stringify(body); }
  let r;
  try { r = await fetch(location.origin + '/api/v1/' + path, init); }
  catch (e) { throw new APIError(0, 'network', 'cannot reach the collector: ' + e.message); }
  return (await envelope(r)).data;
}
