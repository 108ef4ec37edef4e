extension DashboardAssets {
    /// Page logic. Everything that comes from the API reaches the DOM through textContent or
    /// attribute setters, never through HTML parsing: cluster names and labels are untrusted.
    static let appJS = appCommonJS + appOverviewJS + appClusterJS + appAlertsJS + appExploreJS + appStartJS

    static let appCommonJS = #"""
    'use strict';
    (function () {
    const FS = window.FSChart;
    const HEALTHS = ['down', 'degraded', 'catching_up', 'stale', 'healthy'];
    // One character per cluster in /api/v1/fleet/grid.
    const HEALTH_CHARS = { h: 'healthy', d: 'degraded', c: 'catching_up', D: 'down', s: 'stale' };
    function healthText(hv) { return String(hv || 'unknown').replace('_', ' '); }
    // ?kiosk=1: for a wall display, no controls, a bigger heat map and only the worst clusters.
    const KIOSK = new URLSearchParams(location.search).get('kiosk') === '1';

    function el(tag, attrs, ...children) {
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
    const $ = id => document.getElementById(id);

    class APIError extends Error {
      constructor(status, errorType, message) { super(message); this.status = status; this.errorType = errorType; }
    }
    // Prometheus envelope: resolves to the whole body (status, data, warnings) or throws its error.
    async function apiBody(path, params) {
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
      let body = null;
      const text = await r.text();
      try { body = JSON.parse(text); } catch (e) { /* not JSON */ }
      if (!body || typeof body !== 'object') throw new APIError(r.status, 'http', 'HTTP ' + r.status + ': ' + text.slice(0, 300));
      if (body.status !== 'success') throw new APIError(r.status, body.errorType || 'error', body.error || ('HTTP ' + r.status));
      return body;
    }
    async function api(path, params) { return (await apiBody(path, params)).data; }

    function promString(s) { return '"' + String(s).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') + '"'; }
    function formatLabels(m, skip) {
      const name = m.__name__ || '';
      const parts = Object.keys(m).filter(k => k !== '__name__' && !(skip && skip.has(k))).sort().map(k => k + '=' + promString(m[k]));
      if (!parts.length) return name || '{}';
      return name + '{' + parts.join(', ') + '}';
    }
    // Legend text: only the labels that tell this chart's series apart.
    function varyingLabelFn(result) {
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
    function ago(unix) {
      if (!unix) return 'never';
      const s = Math.max(0, Date.now() / 1000 - unix);
      if (s < 60) return Math.round(s) + ' s ago';
      if (s < 3600) return Math.round(s / 60) + ' min ago';
      if (s < 86400) return (s / 3600).toFixed(s < 36000 ? 1 : 0) + ' h ago';
      return (s / 86400).toFixed(1) + ' d ago';
    }
    // "clock ahead by 3 h": a cluster whose samples are refused because its clock runs ahead.
    function clockAhead(seconds) {
      if (seconds === null || seconds === undefined) return null;
      const s = seconds, text = s < 3600 ? Math.round(s / 60) + ' min' : s < 86400 * 2 ? (s / 3600).toFixed(1) + ' h'
        : s < 86400 * 730 ? Math.round(s / 86400) + ' d' : Math.round(s / 86400 / 365) + ' years';
      return el('span', { class: 'problem h-down', title: 'Samples from this cluster are refused: its clock is ahead of the collector\'s. Fix its time (NTP).', text: 'clock ahead by ' + text });
    }
    function pct(v) { return v === null || v === undefined ? '–' : (Math.round(v * 10) / 10).toFixed(1) + '%'; }
    function num(v, d) { if (v === null || v === undefined) return '–'; return Number(v).toLocaleString(undefined, { maximumFractionDigits: d === undefined ? 1 : d }); }
    function healthBadge(hv) { return el('span', { class: 'badge', dataset: { health: hv || 'unknown' }, text: healthText(hv) }); }
    function spanText(s) {
      return s < 90 ? Math.round(s) + ' s' : s < 5400 ? Math.round(s / 60) + ' min' : s < 86400 * 2 ? (s / 3600).toFixed(1) + ' h' : Math.round(s / 86400) + ' d';
    }
    // An edge delivering its backlog: how far behind its newest sample is, how fast the gap closes.
    function catchingUp(c) {
      if (c.health !== 'catching_up' || c.behind_seconds == null) return null;
      const r = c.catch_up_rate;
      let text = spanText(c.behind_seconds) + ' behind';
      if (r != null && r > 0) text += ', closing ' + (r >= 10 ? Math.round(r) : r.toFixed(1)) + ' s/s (about ' + spanText(c.behind_seconds / r) + ' left)';
      else if (r != null) text += ', not closing';
      return el('span', { class: 'problem h-catching_up', title: 'Requests arrive, but the newest sample is old: the cluster is sending its backlog.', text });
    }
    function clusterHref(name) { return '/clusters/' + encodeURIComponent(name); }
    function errorBox(err, prefix) {
      const box = el('div', { class: 'error', role: 'alert' });
      if (prefix) box.append(el('div', { text: prefix }));
      box.append(el('span', { class: 'etype', text: (err.errorType || 'error') + ': ' }), el('pre', { text: err.message }));
      return box;
    }
    function meter(v) {
      if (v === null || v === undefined) return el('span', { class: 'muted', text: '–' });
      const cls = v >= 90 ? 'fill crit' : v >= 75 ? 'fill warn' : 'fill';
      const fill = el('span', { class: cls }); fill.style.width = Math.max(0, Math.min(100, v)) + '%';
      return el('span', { class: 'meter' }, el('span', { text: pct(v) }), el('span', { class: 'bar', 'aria-hidden': 'true' }, fill));
    }

    // ---------- URL state ----------
    function getParams() { return new URLSearchParams(location.search); }
    function setParams(obj, push) {
      const p = getParams();
      for (const [k, v] of Object.entries(obj)) { if (v === null || v === undefined || v === '') p.delete(k); else p.set(k, v); }
      const s = p.toString();
      const url = location.pathname + (s ? '?' + s : '');
      if (push) history.pushState(null, '', url); else history.replaceState(null, '', url);
    }

    // ---------- theme ----------
    function effectiveTheme() {
      const t = document.documentElement.getAttribute('data-theme');
      if (t) return t;
      return window.matchMedia && matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
    }
    function setupTheme() {
      const b = $('theme-toggle');
      const label = () => { const next = effectiveTheme() === 'dark' ? 'light' : 'dark'; b.textContent = next === 'dark' ? '☾ Dark' : '☀ Light'; b.setAttribute('aria-label', 'Switch to ' + next + ' theme'); };
      b.addEventListener('click', () => {
        const next = effectiveTheme() === 'dark' ? 'light' : 'dark';
        document.documentElement.setAttribute('data-theme', next);
        try { localStorage.setItem('fleetscope.theme', next); } catch (e) { /* ignore */ }
        label(); FS.redrawAll(); document.dispatchEvent(new Event('fs-theme'));
      });
      if (window.matchMedia) matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => { label(); FS.redrawAll(); document.dispatchEvent(new Event('fs-theme')); });
      label();
    }

    // ---------- auto-refresh ----------
    const Refresh = {
      fn: null, timer: null, running: false,
      seconds() {
        const u = getParams().get('refresh');
        if (u !== null && /^\d+$/.test(u)) return parseInt(u, 10);
        try { const v = localStorage.getItem('fleetscope.refresh'); if (v !== null && /^\d+$/.test(v)) return parseInt(v, 10); } catch (e) { /* ignore */ }
        return 30;
      },
      setup(fn) {
        this.fn = fn;
        const sel = $('refresh');
        const s = String(this.seconds());
        if (![...sel.options].some(o => o.value === s)) sel.append(el('option', { value: s, text: s + ' s' }));
        sel.value = s;
        sel.addEventListener('change', () => {
          try { localStorage.setItem('fleetscope.refresh', sel.value); } catch (e) { /* ignore */ }
          if (getParams().has('refresh')) setParams({ refresh: sel.value });
          this.schedule();
        });
        document.addEventListener('visibilitychange', () => { if (!document.hidden) this.schedule(); });
        this.now();
      },
      schedule() {
        clearTimeout(this.timer);
        // A hand-edited ?refresh=1 must not hammer the collector from every open tab.
        const v = parseInt($('refresh').value, 10) || 0;
        const s = v > 0 ? Math.max(5, v) : 0;
        if (s > 0) this.timer = setTimeout(() => { if (document.hidden) return; this.now(); }, s * 1000);
      },
      async now() {
        if (!this.fn) return;
        // A change (range, filter) while a refresh is in flight must not be lost: run once more after it.
        if (this.running) { this.again = true; return; }
        this.running = true;
        const u = $('updated');
        try {
          await this.fn();
          // Time from navigation to the first complete render, for benchmarks and tests to read.
          if (!document.body.dataset.firstRenderMs) document.body.dataset.firstRenderMs = String(Math.round(performance.now()));
          u.textContent = 'Updated ' + new Date().toLocaleTimeString();
          u.classList.remove('failed');
        } catch (e) {
          u.textContent = 'Update failed: ' + e.message;
          u.classList.add('failed');
          console.error(e);
        } finally {
          this.running = false;
          if (this.again) { this.again = false; setTimeout(() => this.now(), 0); } else this.schedule();
        }
      },
    };

    // ---------- time range picker (shared by cluster page and Explore) ----------
    const RANGES = ['5m', '15m', '30m', '1h', '3h', '6h', '12h', '1d', '2d', '7d', '30d'];
    function parseDuration(s) {
      const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)$/.exec(String(s || '').trim());
      if (!m) return null;
      return parseFloat(m[1]) * { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000 }[m[2]];
    }
    function durationString(sec) {
      for (const [u, d] of [['d', 86400], ['h', 3600], ['m', 60]]) if (sec >= d && sec % d === 0) return (sec / d) + u;
      return Math.max(1, Math.round(sec)) + 's';
    }
    // { range seconds, end unix or null for "now" } kept in the URL as range= and end=.
    function timeRange(defaultRange) {
      const p = getParams();
      const range = parseDuration(p.get('range') || defaultRange) || parseDuration(defaultRange);
      const endRaw = p.get('end');
      const end = endRaw && /^\d+(\.\d+)?$/.test(endRaw) ? parseFloat(endRaw) : null;
      return { range, end };
    }
    function resolveRange(tr) { const end = tr.end || Date.now() / 1000; return { start: end - tr.range, end }; }
    // defaultRange may be a function: the cluster page fits it to the cluster's age.
    function rangePicker(container, defaultRangeArg, onChange) {
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
    function stepFor(range, width) { return Math.max(1, Math.ceil(range / Math.max(60, Math.min(600, (width || 600) / 2)))); }
    """#
}
