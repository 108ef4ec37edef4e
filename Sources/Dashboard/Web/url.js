// Page state in the URL's query string.

// ?kiosk=1: for a wall display, no controls, a bigger heat map and only the worst clusters.
export const KIOSK = new URLSearchParams(location.search).get('kiosk') === '1';

export function getParams() { return new URLSearchParams(location.search); }
export function setParams(obj, push) {
  const p = getParams();
  for (const [k, v] of Object.entries(obj)) { if (v === null || v === undefined || v === '') p.delete(k); else p.set(k, v); }
  const s = p.toString();
  const url = location.pathname + (s ? '?' + s : '');
  if (push) history.pushState(null, '', url); else history.replaceState(null, '', url);
}
