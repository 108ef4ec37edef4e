import { api } from './api.js';
import { catchingUp, el, errorBox, healthBadge } from './dom.js';
import { HEALTH_CHARS, ago, clusterHref, healthText, num, pct } from './format.js';
import { KIOSK } from './url.js';

// Dense canvas grid: one cell per cluster from the server's compact per-region string, so
// 125,000 clusters cost one small request and a few thousand fillRects per colour.
export class HeatMap {
  constructor(canvas, tip, live) {
    this.canvas = canvas; this.tip = tip; this.live = live;
    this.regions = []; this.layout = []; this.focus = null; this.cache = new Map(); this.hoverKey = null;
    // Only width matters: drawing sets the height, which must not trigger another draw.
    let lastWidth = 0;
    new ResizeObserver(entries => {
      const w = Math.round(entries[0].contentRect.width);
      if (w !== lastWidth) { lastWidth = w; requestAnimationFrame(() => this.draw()); }
    }).observe(canvas.parentElement);
    canvas.addEventListener('mousemove', e => this.onMove(e));
    canvas.addEventListener('mouseleave', () => { this.hoverKey = null; this.tip.hidden = true; });
    canvas.addEventListener('click', e => { const hit = this.hitAt(e); if (hit) this.open(hit); });
    canvas.addEventListener('keydown', e => this.onKey(e));
    canvas.addEventListener('focus', () => { if (!this.focus && this.total) this.moveFocus(0, 0); else this.draw(); });
    canvas.addEventListener('blur', () => { this.tip.hidden = true; this.draw(); });
  }
  setData(regions) {
    this.regions = regions.map(r => ({ region: r.region, health: String(r.health || '') }));
    this.total = this.regions.reduce((a, r) => a + r.health.length, 0);
    this.cache.clear();
    this.canvas.dataset.cells = String(this.total);
    this.canvas.dataset.regions = String(this.regions.length);
    const counts = { h: 0, d: 0, c: 0, D: 0, s: 0 };
    for (const r of this.regions) for (const ch of r.health) counts[ch] = (counts[ch] || 0) + 1;
    this.canvas.dataset.down = String(counts.D); this.canvas.dataset.degraded = String(counts.d);
    this.canvas.dataset.healthy = String(counts.h); this.canvas.dataset.stale = String(counts.s); this.canvas.dataset.catchingUp = String(counts.c);
    if (this.focus && (this.focus.r >= this.regions.length || this.focus.i >= this.regions[this.focus.r].health.length)) this.focus = null;
    this.draw();
  }
  showError(e) { this.regions = []; this.total = 0; this.error = e; this.draw(); }
  draw() {
    const c = this.canvas;
    const width = c.parentElement.clientWidth || 800;
    const n = this.total || 0;
    const maxH = Math.max(260, window.innerHeight * (KIOSK ? 0.6 : 0.45));
    // Scales with the root font size, which grows on wall displays.
    const em = (parseFloat(getComputedStyle(document.documentElement).fontSize) || 15) / 15;
    const headerH = Math.round(22 * em);
    let size = 28, gap = 2;
    for (const s0 of [28, 24, 20, 18, 16, 14, 12, 10, 8, 6, 5, 4, 3, 2]) {
      const s = s0 >= 8 ? Math.round(s0 * em) : s0;
      size = s; gap = s >= 8 ? 2 : s >= 4 ? 1 : 0;
      const cols = Math.max(1, Math.floor((width + gap) / (s + gap)));
      let h = 0; for (const r of this.regions) h += headerH + Math.ceil(r.health.length / cols) * (s + gap);
      if (h <= maxH) break;
    }
    const pitch = size + gap;
    const cols = Math.max(1, Math.floor((width + gap) / pitch));
    this.layout = []; let y = 0;
    for (const r of this.regions) {
      const rows = Math.ceil(r.health.length / cols);
      this.layout.push({ y0: y + headerH, rows });
      y += headerH + rows * pitch;
    }
    const height = Math.max(this.regions.length ? y : 60, 40);
    Object.assign(this, { size, gap, pitch, cols, headerH });
    const dpr = window.devicePixelRatio || 1;
    c.style.height = height + 'px';
    c.width = Math.round(width * dpr); c.height = Math.round(height * dpr);
    const ctx = c.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const css = getComputedStyle(document.documentElement);
    const colors = { h: css.getPropertyValue('--cell-healthy').trim(), d: css.getPropertyValue('--cell-degraded').trim(),
      D: css.getPropertyValue('--cell-down').trim(), s: css.getPropertyValue('--cell-stale').trim(), c: css.getPropertyValue('--cell-catching_up').trim() };
    ctx.font = '600 ' + Math.round(12 * em) + 'px system-ui, sans-serif'; ctx.textBaseline = 'middle';
    if (!this.regions.length) {
      ctx.fillStyle = css.getPropertyValue('--muted').trim();
      ctx.fillText(this.error ? 'Heat map unavailable: ' + this.error.message : 'No clusters yet.', 4, 20);
      return;
    }
    this.regions.forEach((r, ri) => {
      const L = this.layout[ri];
      const counts = {};
      for (const ch of r.health) counts[ch] = (counts[ch] || 0) + 1;
      ctx.fillStyle = css.getPropertyValue('--fg').trim();
      const title = r.region + '  ·  ' + num(r.health.length, 0) + (counts.D ? '  ·  ' + num(counts.D, 0) + ' down' : '') + (counts.d ? '  ·  ' + num(counts.d, 0) + ' degraded' : '') + (counts.c ? '  ·  ' + num(counts.c, 0) + ' catching up' : '') + (counts.s ? '  ·  ' + num(counts.s, 0) + ' stale' : '');
      ctx.fillText(title, 0, L.y0 - headerH / 2);
      for (const ch of ['h', 'd', 'c', 'D', 's']) {
        ctx.fillStyle = colors[ch] || '#888';
        ctx.beginPath();
        for (let i = 0; i < r.health.length; i++) {
          if (r.health[i] !== ch) continue;
          ctx.rect((i % cols) * pitch, L.y0 + Math.floor(i / cols) * pitch, size, size);
        }
        ctx.fill();
      }
    });
    if (this.focus && document.activeElement === c) {
      const p = this.cellPos(this.focus.r, this.focus.i);
      ctx.lineWidth = 2; ctx.strokeStyle = css.getPropertyValue('--focus').trim();
      ctx.strokeRect(p.x - 2, p.y - 2, size + 4, size + 4);
    }
  }
  cellPos(r, i) { return { x: (i % this.cols) * this.pitch, y: this.layout[r].y0 + Math.floor(i / this.cols) * this.pitch }; }
  hitAt(e) {
    const rect = this.canvas.getBoundingClientRect();
    const x = e.clientX - rect.left, y = e.clientY - rect.top;
    for (let r = 0; r < this.layout.length; r++) {
      const L = this.layout[r];
      if (y < L.y0 || y >= L.y0 + L.rows * this.pitch) continue;
      const col = Math.floor(x / this.pitch), row = Math.floor((y - L.y0) / this.pitch);
      if (col >= this.cols || x - col * this.pitch > this.size || y - L.y0 - row * this.pitch > this.size) return null;
      const i = row * this.cols + col;
      if (i < this.regions[r].health.length) return { r, i };
    }
    return null;
  }
  async cluster(hit) {
    const reg = this.regions[hit.r];
    const key = reg.region + '\u0000' + hit.i;
    if (this.cache.has(key)) return this.cache.get(key);
    // Clusters without a region are selected by the literal `""` (an empty parameter means no filter).
    const p = api('fleet/clusters', { region: reg.region === '' ? '""' : reg.region, sort: 'name', order: 'asc', offset: hit.i, limit: 1 })
      .then(d => (d.clusters || [])[0] || null);
    this.cache.set(key, p);
    p.catch(() => this.cache.delete(key));
    return p;
  }
  async open(hit) { const c = await this.cluster(hit); if (c) location.href = clusterHref(c.cluster); }
  onMove(e) {
    const hit = this.hitAt(e);
    if (!hit) { this.hoverKey = null; this.tip.hidden = true; return; }
    const rect = this.canvas.getBoundingClientRect();
    this.showTip(hit, e.clientX - rect.left, e.clientY - rect.top);
  }
  showTip(hit, x, y) {
    const key = hit.r + ':' + hit.i;
    this.placeTip(x, y);
    if (this.hoverKey === key) return;
    this.hoverKey = key;
    const hc = HEALTH_CHARS[this.regions[hit.r].health[hit.i]] || 'unknown';
    this.tip.replaceChildren(el('div', { class: 't-name', text: this.regions[hit.r].region + ' #' + (hit.i + 1) }), healthBadge(hc), el('div', { class: 'muted', text: 'loading…' }));
    this.tip.hidden = false;
    clearTimeout(this.tipTimer);
    // Only ask the server once the pointer rests on a cell.
    this.tipTimer = setTimeout(async () => {
      let c;
      try { c = await this.cluster(hit); } catch (err) { if (this.hoverKey === key) this.tip.replaceChildren(errorBox(err)); return; }
      if (this.hoverKey !== key || !c) return;
      const pods = c.pods || {};
      const rows = [['Region', c.region], ['Last seen', ago(c.last_seen)], ...(catchingUp(c) ? [['Catching up', catchingUp(c).textContent]] : []), ['CPU', pct(c.cpu_percent)], ['Memory', pct(c.memory_percent)],
        ['Disk', pct(c.disk_percent)], ['Pods', num(pods.running, 0) + ' running, ' + num(pods.pending, 0) + ' pending, ' + num(pods.failed, 0) + ' failed'],
        ['Targets', num(c.targets_up, 0) + ' up, ' + num(c.targets_down, 0) + ' down'], ['Alerts', num(c.alerts_firing, 0) + ' firing'], ['Samples/s', num(c.samples_per_second, 1)]];
      this.tip.replaceChildren(el('div', { class: 't-name', text: c.cluster }), healthBadge(c.health),
        el('table', {}, el('tbody', {}, rows.map(([k, v]) => el('tr', {}, el('td', { text: k }), el('td', { text: v }))))));
      this.live.textContent = c.cluster + ', ' + healthText(c.health) + ', last seen ' + ago(c.last_seen);
    }, 120);
  }
  placeTip(x, y) {
    const w = this.canvas.clientWidth;
    const tw = this.tip.offsetWidth || 220;
    this.tip.style.left = (x + 16 + tw > w ? Math.max(0, x - 16 - tw) : x + 16) + 'px';
    this.tip.style.top = (y + 16) + 'px';
  }
  moveFocus(r, i) {
    r = Math.max(0, Math.min(this.regions.length - 1, r));
    const n = this.regions[r].health.length;
    i = Math.max(0, Math.min(n - 1, i));
    this.focus = { r, i };
    this.draw();
    const p = this.cellPos(r, i);
    this.showTip({ r, i }, p.x + this.size / 2, p.y);
  }
  onKey(e) {
    if (!this.regions.length) return;
    const f = this.focus || { r: 0, i: 0 };
    const len = r => this.regions[r].health.length;
    let { r, i } = f;
    switch (e.key) {
      case 'ArrowRight': i++; if (i >= len(r) && r < this.regions.length - 1) { r++; i = 0; } break;
      case 'ArrowLeft': i--; if (i < 0 && r > 0) { r--; i = len(r) - 1; } break;
      case 'ArrowDown': if (i + this.cols < len(r)) i += this.cols; else if (r < this.regions.length - 1) { r++; i = Math.min(i % this.cols, len(r) - 1); } break;
      case 'ArrowUp': if (i - this.cols >= 0) i -= this.cols; else if (r > 0) { r--; const rows = Math.ceil(len(r) / this.cols); i = Math.min((rows - 1) * this.cols + (i % this.cols), len(r) - 1); } break;
      case 'Home': i = 0; break;
      case 'End': i = len(r) - 1; break;
      case 'Enter': case ' ': this.open(f); e.preventDefault(); return;
      case 'Escape': this.tip.hidden = true; return;
      default: return;
    }
    e.preventDefault();
    this.moveFocus(r, i);
  }
}
