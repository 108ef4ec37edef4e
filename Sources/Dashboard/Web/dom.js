// Building DOM without HTML parsing, and the small widgets several pages show.
import { healthText, pct, spanText } from './format.js';

export function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  if (attrs) for (const k of Object.keys(attrs)) {
    const v = attrs[k];
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : String(c));
  }
  return e;
}
export const $ = id => document.getElementById(id);

// "clock ahead by 3 h": a cluster whose samples are refused because its clock runs ahead.
export function clockAhead(seconds) {
  if (seconds === null || seconds === undefined) return null;
  const s = seconds, text = s < 3600 ? Math.round(s / 60) + ' min' : s < 86400 * 2 ? (s / 3600).toFixed(1) + ' h'
    : s < 86400 * 730 ? Math.round(s / 86400) + ' d' : Math.round(s / 86400 / 365) + ' years';
  return el('span', { class: 'problem h-down', title: 'Samples from this cluster are refused: its clock is ahead of the collector\'s. Fix its time (NTP).', text: 'clock ahead by ' + text });
}
export function healthBadge(hv) { return el('span', { class: 'badge', dataset: { health: hv || 'unknown' }, text: healthText(hv) }); }
// An edge delivering its backlog: how far behind its newest sample is, how fast the gap closes.
export function catchingUp(c) {
  if (c.health !== 'catching_up' || c.behind_seconds == null) return null;
  const r = c.catch_up_rate;
  let text = spanText(c.behind_seconds) + ' behind';
  if (r != null && r > 0) text += ', closing ' + (r >= 10 ? Math.round(r) : r.toFixed(1)) + ' s/s (about ' + spanText(c.behind_seconds / r) + ' left)';
  else if (r != null) text += ', not closing';
  return el('span', { class: 'problem h-catching_up', title: 'Requests arrive, but the newest sample is old: the cluster is sending its backlog.', text });
}
export function errorBox(err, prefix) {
  const box = el('div', { class: 'error', role: 'alert' });
  if (prefix) box.append(el('div', { text: prefix }));
  box.append(el('span', { class: 'etype', text: (err.errorType || 'error') + ': ' }), el('pre', { text: err.message }));
  return box;
}
export function meter(v) {
  if (v === null || v === undefined) return el('span', { class: 'muted', text: '–' });
  const cls = v >= 90 ? 'fill crit' : v >= 75 ? 'fill warn' : 'fill';
  const fill = el('span', { class: cls }); fill.style.width = Math.max(0, Math.min(100, v)) + '%';
  return el('span', { class: 'meter' }, el('span', { text: pct(v) }), el('span', { class: 'bar', 'aria-hidden': 'true' }, fill));
}
