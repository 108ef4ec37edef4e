// A small canvas time-series chart (uPlot is the speed reference): one canvas for lines,
// one overlay for crosshair and zoom selection, so hovering never redraws the data.
import { formatFullTime, formatValue, timeTicks, valueTicks } from './units.js';
// The pages use the chart and its value formatting through one namespace (import * as FS).
export { formatFullTime, formatValue, guessUnit, scaleFor, timeTicks, valueTicks } from './units.js';

export const PALETTE = ['#3b82f6', '#f59e0b', '#10b981', '#ef4444', '#8b5cf6', '#06b6d4', '#ec4899', '#84cc16',
  '#f97316', '#14b8a6', '#a855f7', '#eab308', '#64748b', '#0ea5e9', '#d946ef', '#22c55e'];
const charts = new Set();

// ---------- helpers ----------
function lowerBound(xs, x) { let lo = 0, hi = xs.length; while (lo < hi) { const m = (lo + hi) >> 1; if (xs[m] < x) lo = m + 1; else hi = m; } return lo; }
function h(tag, cls, text) { const e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; }
function cssVar(name, fallback) { const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim(); return v || fallback; }

// Series: { label: string, labels: object, xs: Float64Array (unix s), ys: Float64Array }.
export class Chart {
  constructor(el, opts) {
    this.el = el;
    this.opts = Object.assign({ unit: 'short', height: 220, step: 0, onZoom: null, onReset: null, maxTooltipRows: 14 }, opts || {});
    this.series = [];
    this.full = null;
    this.view = null;
    this.cursor = null;
    this.drag = null;
    el.classList.add('fschart');
    el.replaceChildren();
    this.plot = h('div', 'fschart-plot');
    this.plot.style.setProperty('--chart-height', (this.opts.height / 15) + 'rem'); // px at the default 15px root
    this.plot.tabIndex = 0;
    this.plot.setAttribute('role', 'img');
    this.base = h('canvas', 'fschart-base');
    this.over = h('canvas', 'fschart-over');
    this.tip = h('div', 'fschart-tip'); this.tip.hidden = true;
    this.empty = h('div', 'fschart-empty'); this.empty.hidden = true;
    this.reset = h('button', 'fschart-reset', 'Reset zoom'); this.reset.type = 'button'; this.reset.hidden = true;
    this.reset.addEventListener('click', () => this.resetZoom());
    this.plot.append(this.base, this.over, this.empty, this.reset, this.tip);
    this.legend = h('div', 'fschart-legend');
    el.append(this.plot, this.legend);
    this.over.addEventListener('mousemove', e => this.onMove(e));
    this.over.addEventListener('mouseleave', () => { if (!this.drag) { this.cursor = null; this.drawOverlay(); } });
    this.over.addEventListener('mousedown', e => this.onDown(e));
    this.over.addEventListener('dblclick', () => this.resetZoom());
    this.onUp = e => this.finishDrag(e);
    this.plot.addEventListener('keydown', e => this.onKey(e));
    this.plot.addEventListener('blur', () => { this.cursor = null; this.drawOverlay(); });
    this.ro = new ResizeObserver(() => this.resize());
    this.ro.observe(this.plot);
    charts.add(this);
    this.resize();
  }
  destroy() { this.ro.disconnect(); charts.delete(this); window.removeEventListener('mouseup', this.onUp); }
  setUnit(u) { this.opts.unit = u; this.draw(); }
  setData(series, xMin, xMax, step) {
    this.series = series.map((s, i) => ({ ...s, color: s.color || PALETTE[i % PALETTE.length], show: true }));
    if (step) this.opts.step = step;
    const prevFull = this.full;
    this.full = [xMin, xMax];
    if (!this.view || !prevFull || (this.view[0] === prevFull[0] && this.view[1] === prevFull[1])) this.view = [xMin, xMax];
    let drawn = 0, points = 0;
    for (const s of this.series) { let n = 0; for (let i = 0; i < s.ys.length; i++) if (Number.isFinite(s.ys[i])) n++; if (n) drawn++; points += n; }
    this.el.dataset.series = String(drawn);
    this.el.dataset.points = String(points);
    this.plot.setAttribute('aria-label', (this.opts.title || 'Chart') + ': ' + drawn + ' series');
    this.buildLegend();
    this.draw();
  }
  showMessage(text) {
    this.series = [];
    this.el.dataset.series = '0';
    this.legend.replaceChildren();
    this.empty.textContent = text;
    this.empty.hidden = false;
    this.draw();
  }
  buildLegend() {
    this.legend.replaceChildren();
    const limit = 60;
    this.series.slice(0, limit).forEach(s => {
      const b = h('button');
      b.type = 'button';
      b.setAttribute('aria-pressed', 'true');
      const sw = h('span', 'sw'); sw.style.background = s.color;
      b.append(sw, h('span', 'lab', s.label));
      b.title = s.label;
      b.addEventListener('click', ev => {
        if (ev.shiftKey || ev.ctrlKey || ev.metaKey) {
          s.show = !s.show;
        } else {
          // Click isolates a series; clicking the isolated one again shows all.
          const only = this.series.every(o => o === s ? o.show : !o.show);
          this.series.forEach(o => { o.show = only || o === s; });
        }
        this.legend.querySelectorAll('button').forEach((bb, i) => bb.setAttribute('aria-pressed', String(this.series[i].show)));
        this.draw();
      });
      this.legend.append(b);
    });
    if (this.series.length > limit) this.legend.append(h('span', 'muted', '+' + (this.series.length - limit) + ' more'));
  }
  resize() {
    const r = this.plot.getBoundingClientRect();
    const dpr = window.devicePixelRatio || 1;
    this.w = Math.max(50, r.width); this.h = Math.max(50, r.height); this.dpr = dpr;
    for (const c of [this.base, this.over]) { c.width = Math.round(this.w * dpr); c.height = Math.round(this.h * dpr); }
    this.draw();
  }
  yRange() {
    let lo = Infinity, hi = -Infinity;
    const [a, b] = this.view || [0, 1];
    for (const s of this.series) {
      if (!s.show) continue;
      const i0 = Math.max(0, lowerBound(s.xs, a) - 1), i1 = Math.min(s.xs.length, lowerBound(s.xs, b) + 1);
      for (let i = i0; i < i1; i++) { const y = s.ys[i]; if (Number.isFinite(y)) { if (y < lo) lo = y; if (y > hi) hi = y; } }
    }
    if (this.opts.unit === 'health') return [-0.2, 4.2];
    if (lo === Infinity) return [0, 1];
    if (lo >= 0 && this.opts.unit !== 'seconds') lo = 0;
    if (hi === lo) { hi = lo === 0 ? 1 : lo + Math.abs(lo) * 0.1; }
    return [lo, hi];
  }
  draw() {
    if (!this.w) return;
    const ctx = this.base.getContext('2d');
    const dpr = this.dpr;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, this.w, this.h);
    const em = (parseFloat(getComputedStyle(document.documentElement).fontSize) || 15) / 15;
    ctx.font = Math.round(11 * em) + 'px system-ui, sans-serif';
    const axis = cssVar('--chart-axis', '#666'), grid = cssVar('--chart-grid', 'rgba(0,0,0,.1)');
    const hasData = this.series.length > 0 && this.view;
    if (hasData) this.empty.hidden = true;
    if (!hasData && this.empty.hidden) { this.empty.textContent = 'No data'; this.empty.hidden = false; }
    const [vx0, vx1] = this.view || [Date.now() / 1000 - 3600, Date.now() / 1000];
    let [lo, hi] = this.yRange();
    let yt = valueTicks(lo, hi, Math.max(2, Math.floor(this.h / 45)), this.opts.unit);
    // Extend the range to the outer ticks so the top line is labelled.
    if (this.opts.unit !== 'health') {
      hi = Math.max(hi, Math.ceil(hi / yt.step - 1e-9) * yt.step);
      if (lo < 0) lo = Math.min(lo, Math.floor(lo / yt.step + 1e-9) * yt.step);
      yt = valueTicks(lo, hi, 0, this.opts.unit, yt.step);
    }
    let labelW = 0;
    for (const t of yt.ticks) labelW = Math.max(labelW, ctx.measureText(t.label).width);
    const L = Math.ceil(labelW) + 10, R = this.w - 8, T = 8, B = this.h - Math.round(20 * em);
    this.box = { L, R, T, B, vx0, vx1, lo, hi };
    const X = x => L + (x - vx0) / (vx1 - vx0 || 1) * (R - L);
    const Y = y => B - (y - lo) / (hi - lo || 1) * (B - T);
    ctx.lineWidth = 1;
    ctx.strokeStyle = grid;
    ctx.fillStyle = axis;
    ctx.textAlign = 'right'; ctx.textBaseline = 'middle';
    ctx.beginPath();
    for (const t of yt.ticks) { const y = Math.round(Y(t.v)) + 0.5; ctx.moveTo(L, y); ctx.lineTo(R, y); ctx.fillText(t.label, L - 6, y); }
    ctx.textAlign = 'center'; ctx.textBaseline = 'top';
    for (const t of timeTicks(vx0, vx1, R - L)) {
      const x = Math.round(X(t.v)) + 0.5, half = ctx.measureText(t.label).width / 2;
      ctx.moveTo(x, T); ctx.lineTo(x, B);
      if (x - half >= L && x + half <= this.w) ctx.fillText(t.label, x, B + 5);
    }
    ctx.stroke();
    ctx.save();
    ctx.beginPath(); ctx.rect(L, T - 1, R - L, B - T + 2); ctx.clip();
    ctx.lineWidth = 1.5; ctx.lineJoin = 'round';
    const gapLimit = (this.opts.step || 0) * 2.5;
    for (const s of this.series) if (s.show) this.drawSeries(ctx, s, X, Y, vx0, vx1, gapLimit);
    ctx.restore();
    this.drawOverlay();
  }
  drawSeries(ctx, s, X, Y, vx0, vx1, gapLimit) {
    const xs = s.xs, ys = s.ys;
    const i0 = Math.max(0, lowerBound(xs, vx0) - 1), i1 = Math.min(xs.length, lowerBound(xs, vx1) + 1);
    ctx.strokeStyle = s.color; ctx.fillStyle = s.color;
    ctx.beginPath();
    let pen = false, prevX = 0, col = -1, cmin = 0, cmax = 0, clast = 0, colCount = 0, runLen = 0, runX = 0, runY = 0;
    const dots = [];
    const flush = () => { if (colCount > 1) { ctx.lineTo(col, cmin); ctx.lineTo(col, cmax); ctx.lineTo(col, clast); } };
    const endRun = () => { flush(); if (pen && runLen === 1) dots.push(runX, runY); pen = false; col = -1; colCount = 0; runLen = 0; };
    for (let i = i0; i < i1; i++) {
      const y = ys[i];
      if (!Number.isFinite(y)) { endRun(); continue; }
      if (pen && gapLimit > 0 && xs[i] - prevX > gapLimit) endRun();
      const px = X(xs[i]), py = Y(y), pc = Math.round(px);
      prevX = xs[i];
      if (!pen) { ctx.moveTo(px, py); pen = true; col = pc; cmin = cmax = clast = py; colCount = 1; runLen = 1; runX = px; runY = py; continue; }
      runLen++;
      // Many points in one pixel column collapse to its min/max: the line looks the same, costs less.
      if (pc === col) { if (py < cmin) cmin = py; if (py > cmax) cmax = py; clast = py; colCount++; continue; }
      flush();
      ctx.lineTo(px, py);
      col = pc; cmin = cmax = clast = py; colCount = 1;
    }
    endRun();
    ctx.stroke();
    for (let k = 0; k < dots.length; k += 2) { ctx.beginPath(); ctx.arc(dots[k], dots[k + 1], 2, 0, 2 * Math.PI); ctx.fill(); }
  }
  xToTime(px) { const b = this.box; return b.vx0 + (px - b.L) / (b.R - b.L) * (b.vx1 - b.vx0); }
  timeToX(t) { const b = this.box; return b.L + (t - b.vx0) / (b.vx1 - b.vx0 || 1) * (b.R - b.L); }
  onMove(e) {
    const r = this.over.getBoundingClientRect();
    const x = e.clientX - r.left, y = e.clientY - r.top;
    if (this.drag) { this.drag.x1 = Math.max(this.box.L, Math.min(this.box.R, x)); this.drawOverlay(); return; }
    if (!this.box || x < this.box.L || x > this.box.R) { this.cursor = null; this.drawOverlay(); return; }
    this.cursor = { t: this.xToTime(x), y };
    this.drawOverlay();
  }
  onDown(e) {
    if (e.button !== 0 || !this.box || !this.series.length) return;
    const r = this.over.getBoundingClientRect();
    const x = e.clientX - r.left;
    if (x < this.box.L || x > this.box.R) return;
    e.preventDefault();
    this.drag = { x0: x, x1: x };
    window.addEventListener('mouseup', this.onUp);
  }
  finishDrag() {
    window.removeEventListener('mouseup', this.onUp);
    const d = this.drag; this.drag = null;
    if (!d) return;
    if (Math.abs(d.x1 - d.x0) < 5) { this.drawOverlay(); return; }
    const a = this.xToTime(Math.min(d.x0, d.x1)), b = this.xToTime(Math.max(d.x0, d.x1));
    this.zoomTo(a, b);
  }
  zoomTo(a, b) {
    this.view = [a, b];
    this.reset.hidden = false;
    this.draw();
    if (this.opts.onZoom) this.opts.onZoom(a, b);
  }
  resetZoom() {
    if (!this.full) return;
    const zoomed = !this.reset.hidden;
    this.view = this.full.slice();
    this.reset.hidden = true;
    this.draw();
    if (zoomed && this.opts.onReset) this.opts.onReset();
  }
  onKey(e) {
    if (!this.box || !this.series.length) return;
    const b = this.box, span = b.vx1 - b.vx0;
    if (e.key === 'ArrowLeft' || e.key === 'ArrowRight') {
      const t = this.cursor ? this.cursor.t : (b.vx0 + b.vx1) / 2;
      const dt = span / 50 * (e.key === 'ArrowLeft' ? -1 : 1);
      this.cursor = { t: Math.max(b.vx0, Math.min(b.vx1, t + dt)), y: b.T + 10 };
      this.drawOverlay(); e.preventDefault();
    } else if (e.key === 'Escape') { this.resetZoom(); this.cursor = null; this.drawOverlay(); }
    else if ((e.key === '+' || e.key === '=') && this.cursor) { const t = this.cursor.t; this.zoomTo(Math.max(b.vx0, t - span / 4), Math.min(b.vx1, t + span / 4)); e.preventDefault(); }
    else if (e.key === '-') { this.resetZoom(); }
  }
  nearest(s, t) {
    const xs = s.xs; if (!xs.length) return -1;
    let i = lowerBound(xs, t);
    if (i >= xs.length) i = xs.length - 1;
    if (i > 0 && Math.abs(xs[i - 1] - t) < Math.abs(xs[i] - t)) i--;
    const tol = Math.max((this.opts.step || 0) * 1.5, (this.box.vx1 - this.box.vx0) / (this.box.R - this.box.L) * 8);
    return Math.abs(xs[i] - t) <= tol ? i : -1;
  }
  drawOverlay() {
    if (!this.w) return;
    const ctx = this.over.getContext('2d');
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    ctx.clearRect(0, 0, this.w, this.h);
    const b = this.box;
    if (!b) return;
    if (this.drag) {
      const a = Math.min(this.drag.x0, this.drag.x1), w = Math.abs(this.drag.x1 - this.drag.x0);
      ctx.fillStyle = 'rgba(100,150,255,0.18)'; ctx.fillRect(a, b.T, w, b.B - b.T);
      ctx.strokeStyle = 'rgba(100,150,255,0.8)'; ctx.strokeRect(a + 0.5, b.T + 0.5, w, b.B - b.T);
      this.tip.hidden = true;
      return;
    }
    if (!this.cursor || !this.series.length) { this.tip.hidden = true; return; }
    const t = this.cursor.t;
    const hits = [];
    let snapT = null;
    for (const s of this.series) {
      if (!s.show) continue;
      const i = this.nearest(s, t);
      if (i < 0 || !Number.isFinite(s.ys[i])) continue;
      hits.push({ s, v: s.ys[i], x: s.xs[i] });
      if (snapT === null || Math.abs(s.xs[i] - t) < Math.abs(snapT - t)) snapT = s.xs[i];
    }
    const cx = Math.round(this.timeToX(snapT === null ? t : snapT)) + 0.5;
    ctx.strokeStyle = cssVar('--chart-axis', '#888'); ctx.lineWidth = 1; ctx.setLineDash([3, 3]);
    ctx.beginPath(); ctx.moveTo(cx, b.T); ctx.lineTo(cx, b.B); ctx.stroke(); ctx.setLineDash([]);
    const Y = y => b.B - (y - b.lo) / (b.hi - b.lo || 1) * (b.B - b.T);
    for (const hit of hits) { ctx.fillStyle = hit.s.color; ctx.beginPath(); ctx.arc(this.timeToX(hit.x), Y(hit.v), 3, 0, 2 * Math.PI); ctx.fill(); }
    hits.sort((p, q) => q.v - p.v);
    const tip = this.tip;
    tip.replaceChildren(h('div', 'time', formatFullTime(snapT === null ? t : snapT)));
    const max = this.opts.maxTooltipRows;
    for (const hit of hits.slice(0, max)) {
      const row = h('div', 'row');
      const sw = h('span', 'sw'); sw.style.background = hit.s.color;
      row.append(sw, h('span', 'lab', hit.s.label), h('span', 'val', formatValue(this.opts.unit, hit.v)));
      tip.append(row);
    }
    if (hits.length > max) tip.append(h('div', 'muted', '+' + (hits.length - max) + ' more'));
    if (!hits.length) tip.append(h('div', 'muted', 'no samples here'));
    tip.hidden = false;
    const tw = tip.offsetWidth, th = tip.offsetHeight;
    let left = cx + 14; if (left + tw > this.w) left = Math.max(0, cx - 14 - tw);
    let top = Math.max(0, Math.min(this.h - th, this.cursor.y - th / 2));
    tip.style.left = left + 'px'; tip.style.top = top + 'px';
  }
}

// Prometheus matrix → chart series: [[t, "v"], ...] becomes typed arrays.
export function fromMatrix(result, labelFn) {
  return result.map(r => {
    const n = r.values ? r.values.length : 0;
    const xs = new Float64Array(n), ys = new Float64Array(n);
    for (let i = 0; i < n; i++) { xs[i] = r.values[i][0]; ys[i] = parseFloat(r.values[i][1]); }
    return { label: labelFn ? labelFn(r.metric) : JSON.stringify(r.metric), labels: r.metric, xs, ys };
  });
}

export function redrawAll() { for (const c of charts) c.draw(); }
