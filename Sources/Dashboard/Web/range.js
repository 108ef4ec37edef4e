// The time range picker, shared by the cluster page and Explore; range= and end= live in the URL.
import { el } from './dom.js';
import { durationString, parseDuration } from './format.js';
import { getParams, setParams } from './url.js';

export const RANGES = ['5m', '15m', '30m', '1h', '3h', '6h', '12h', '1d', '2d', '7d', '30d'];
// { range seconds, end unix or null for "now" } kept in the URL as range= and end=.
export function timeRange(defaultRange) {
  const p = getParams();
  const range = parseDuration(p.get('range') || defaultRange) || parseDuration(defaultRange);
  const endRaw = p.get('end');
  const end = endRaw && /^\d+(\.\d+)?$/.test(endRaw) ? parseFloat(endRaw) : null;
  return { range, end };
}
export function resolveRange(tr) { const end = tr.end || Date.now() / 1000; return { start: end - tr.range, end }; }
// defaultRange may be a function: the cluster page fits it to the cluster's age.
export function rangePicker(container, defaultRangeArg, onChange) {
  const def = typeof defaultRangeArg === 'function' ? defaultRangeArg : () => defaultRangeArg;
  const tr = timeRange(def());
  const sel = el('select', { id: 'range', 'aria-label': 'Time range' });
  const cur = durationString(tr.range);
  const opts = RANGES.includes(cur) ? RANGES : RANGES.concat([cur]);
  for (const r of opts) sel.append(el('option', { value: r, text: 'last ' + r }));
  sel.value = cur;
  // End time: empty means "now" (the range follows the clock); a value pins it, as zooming does.
  const endInput = el('input', { type: 'datetime-local', step: '1', 'aria-label': 'End time (empty: now)', title: 'End time; empty follows now' });
  const nowBtn = el('button', { type: 'button', text: 'Now' });
  const pad = n => String(n).padStart(2, '0');
  const localValue = t => { const d = new Date(t * 1000); return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + 'T' + pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds()); };
  const refreshEnd = () => {
    const t = timeRange(def());
    endInput.value = t.end ? localValue(t.end) : '';
    nowBtn.hidden = !t.end;
  };
  sel.addEventListener('change', () => { setParams({ range: sel.value }, true); refreshEnd(); onChange(); });
  endInput.addEventListener('change', () => {
    const ms = endInput.value ? new Date(endInput.value).getTime() : NaN;
    setParams({ end: Number.isFinite(ms) ? String(Math.round(ms / 1000)) : null }, true); refreshEnd(); onChange();
  });
  nowBtn.addEventListener('click', () => { setParams({ end: null }, true); refreshEnd(); onChange(); });
  container.replaceChildren(el('span', { class: 'range' }, el('label', {}, 'Range ', sel), el('label', {}, 'until ', endInput), nowBtn));
  refreshEnd();
  return {
    zoom(a, b) { setParams({ range: durationString(Math.max(1, Math.round(b - a))), end: String(Math.round(b)) }, true); const c = durationString(Math.max(1, Math.round(b - a))); if (![...sel.options].some(o => o.value === c)) sel.append(el('option', { value: c, text: 'last ' + c })); sel.value = c; refreshEnd(); onChange(); },
    sync() { const t = timeRange(def()); const c = durationString(t.range); if (![...sel.options].some(o => o.value === c)) sel.append(el('option', { value: c, text: 'last ' + c })); sel.value = c; refreshEnd(); },
  };
}
