// Text for the pages: health names, PromQL label sets, durations, numbers. No DOM, so node tests it.

export const HEALTHS = ['down', 'degraded', 'catching_up', 'stale', 'healthy'];
// One character per cluster in /api/v1/fleet/grid.
export const HEALTH_CHARS = { h: 'healthy', d: 'degraded', c: 'catching_up', D: 'down', s: 'stale' };
export function healthText(hv) { return String(hv || 'unknown').replace('_', ' '); }

export function promString(s) { return '"' + String(s).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') + '"'; }
export function formatLabels(m, skip) {
  const name = m.__name__ || '';
  const parts = Object.keys(m).filter(k => k !== '__name__' && !(skip && skip.has(k))).sort().map(k => k + '=' + promString(m[k]));
  if (!parts.length) return name || '{}';
  return name + '{' + parts.join(', ') + '}';
}
// Legend text: only the labels that tell this chart's series apart.
export function varyingLabelFn(result) {
  const keys = new Set(); result.forEach(r => Object.keys(r.metric).forEach(k => keys.add(k)));
  const same = new Set();
  for (const k of keys) { const v0 = result[0] && result[0].metric[k]; if (result.every(r => r.metric[k] === v0)) same.add(k); }
  const context = new Set(['__name__', 'cluster', 'region', 'job']);
  return m => {
    let parts = Object.keys(m).filter(k => !same.has(k) && k !== '__name__').sort().map(k => k + '=' + m[k]);
    // One series (or identical label sets): name it by what is not page context.
    if (!parts.length) parts = Object.keys(m).filter(k => !context.has(k)).sort().map(k => k + '=' + m[k]);
    return parts.length ? parts.join(', ') : (m.__name__ || '');
  };
}
export function ago(unix) {
  if (!unix) return 'never';
  const s = Math.max(0, Date.now() / 1000 - unix);
  if (s < 60) return Math.round(s) + ' s ago';
  if (s < 3600) return Math.round(s / 60) + ' min ago';
  if (s < 86400) return (s / 3600).toFixed(s < 36000 ? 1 : 0) + ' h ago';
  return (s / 86400).toFixed(1) + ' d ago';
}
export function pct(v) { return v === null || v === undefined ? '–' : (Math.round(v * 10) / 10).toFixed(1) + '%'; }
export function num(v, d) { if (v === null || v === undefined) return '–'; return Number(v).toLocaleString(undefined, { maximumFractionDigits: d === undefined ? 1 : d }); }
export function spanText(s) {
  return s < 90 ? Math.round(s) + ' s' : s < 5400 ? Math.round(s / 60) + ' min' : s < 86400 * 2 ? (s / 3600).toFixed(1) + ' h' : Math.round(s / 86400) + ' d';
}
export function clusterHref(name) { return '/clusters/' + encodeURIComponent(name); }

export function parseDuration(s) {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)$/.exec(String(s || '').trim());
  if (!m) return null;
  return parseFloat(m[1]) * { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000 }[m[2]];
}
export function durationString(sec) {
  for (const [u, d] of [['d', 86400], ['h', 3600], ['m', 60]]) if (sec >= d && sec % d === 0) return (sec / d) + u;
  return Math.max(1, Math.round(sec)) + 's';
}
export function stepFor(range, width) { return Math.max(1, Math.ceil(range / Math.max(60, Math.min(600, (width || 600) / 2)))); }
