// Value and time formatting for charts: units, axis ticks. No DOM, so node tests it.

// ---------- units ----------
const BIN = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
export function scaleFor(unit, maxAbs) {
  maxAbs = Math.abs(maxAbs) || 0;
  if (unit === 'bytes' || unit === 'bytesRate') {
    let k = 0;
    while (k < BIN.length - 1 && maxAbs >= Math.pow(1024, k + 1)) k++;
    return { div: Math.pow(1024, k), suffix: ' ' + BIN[k] + (unit === 'bytesRate' ? '/s' : '') };
  }
  if (unit === 'percent') return { div: 1, suffix: '%' };
  if (unit === 'seconds') {
    if (maxAbs === 0) return { div: 1, suffix: ' s' };
    if (maxAbs < 1e-3) return { div: 1e-6, suffix: ' µs' };
    if (maxAbs < 1) return { div: 1e-3, suffix: ' ms' };
    if (maxAbs < 180) return { div: 1, suffix: ' s' };
    if (maxAbs < 3 * 3600) return { div: 60, suffix: ' min' };
    if (maxAbs < 3 * 86400) return { div: 3600, suffix: ' h' };
    return { div: 86400, suffix: ' d' };
  }
  const per = unit === 'rate' ? '/s' : '';
  const si = [[1e15, ' P'], [1e12, ' T'], [1e9, ' G'], [1e6, ' M'], [1e3, ' k']];
  for (const [d, s] of si) if (maxAbs >= d) return { div: d, suffix: s + per };
  // Small plain numbers stay plain: "0.004" reads better than "4 m", which looks like minutes.
  return { div: 1, suffix: per };
}
function trimZeros(s) { return s.indexOf('.') < 0 ? s : s.replace(/\.?0+$/, ''); }
// unit 'health': the cluster page plots health states as levels 0..4.
export const HEALTH_LEVELS = ['down', 'stale', 'catching up', 'degraded', 'healthy'];
export function formatValue(unit, v) {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  if (unit === 'health') return HEALTH_LEVELS[Math.round(v)] || String(v);
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  const s = scaleFor(unit, v);
  const x = v / s.div, a = Math.abs(x);
  if (a > 0 && a < 0.01) return trimZeros(x.toPrecision(2)) + s.suffix;
  const d = a >= 100 ? 0 : a >= 10 ? 1 : 2;
  return trimZeros(x.toFixed(d)) + s.suffix;
}
// A unit guess from a PromQL expression, for Explore's "auto".
export function guessUnit(expr) {
  const e = String(expr || '');
  if (/100\s*\*|percent|_ratio\b/.test(e) && !/_bytes/.test(e)) return 'percent';
  const rate = /\b(i?rate|deriv)\s*\(/.test(e);
  if (/_bytes(_total)?\b/.test(e)) return rate ? 'bytesRate' : 'bytes';
  if (/_seconds(_total)?\b/.test(e) && !rate) return 'seconds';
  if (rate) return 'rate';
  return 'short';
}

// ---------- ticks ----------
function niceStep(range, target) {
  const raw = range / Math.max(1, target);
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  const f = raw / p;
  return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * p;
}
export function valueTicks(min, max, target, unit, fixedStep) {
  if (unit === 'health') return { ticks: HEALTH_LEVELS.map((l, i) => ({ v: i, label: l })), step: 1 };
  const sc = scaleFor(unit, Math.max(Math.abs(min), Math.abs(max)));
  const lo = min / sc.div, hi = max / sc.div;
  const step = fixedStep ? fixedStep / sc.div : niceStep(hi - lo, target);
  const first = Math.ceil(lo / step - 1e-9);
  const decimals = Math.max(0, Math.min(6, -Math.floor(Math.log10(step) + 1e-9)));
  const out = [];
  for (let i = first; i * step <= hi + step * 1e-9; i++) {
    const v = i * step;
    out.push({ v: v * sc.div, label: v.toFixed(decimals) + sc.suffix });
  }
  return { ticks: out, step: step * sc.div };
}
const TSTEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800];
function pad(n) { return n < 10 ? '0' + n : '' + n; }
export function timeTicks(min, max, px) {
  const target = Math.max(2, Math.floor(px / 95));
  const range = max - min;
  let step = TSTEPS.find(s => range / s <= target);
  if (!step) step = 86400 * Math.ceil(range / target / 86400);
  const off = new Date(min * 1000).getTimezoneOffset() * 60;
  const out = [];
  for (let t = Math.ceil((min - off) / step) * step + off; t <= max; t += step) out.push({ v: t, label: formatTime(t, step) });
  return out;
}
function formatTime(t, step) {
  const d = new Date(t * 1000);
  const hm = pad(d.getHours()) + ':' + pad(d.getMinutes());
  if (step < 60) return hm + ':' + pad(d.getSeconds());
  if (step >= 86400 || (d.getHours() === 0 && d.getMinutes() === 0)) return (d.getMonth() + 1) + '/' + d.getDate();
  return hm;
}
export function formatFullTime(t) {
  const d = new Date(t * 1000);
  return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + ' ' + pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
}
