extension DashboardAssets {
    static let appOverviewJS = #"""

    // ================= Fleet overview =================
    // The registry ranks health down < degraded < catching_up < stale < healthy, so ascending is worst first.
    const WORST_FIRST = { sort: 'health', order: 'asc' };
    const COLUMNS = [
      { key: 'cluster', label: 'Cluster', sort: 'name' },
      { key: 'region', label: 'Region', sort: 'region' },
      { key: 'health', label: 'Health', sort: 'health' },
      { key: 'last_seen', label: 'Last seen', sort: 'last_seen' },
      { key: 'cpu', label: 'CPU', sort: 'cpu', num: true },
      { key: 'memory', label: 'Memory', sort: 'memory', num: true },
      { key: 'disk', label: 'Disk', sort: 'disk', num: true },
      { key: 'pods', label: 'Pods run/pend/fail', num: true },
      { key: 'alerts', label: 'Alerts', num: true },
      { key: 'sps', label: 'Samples/s', sort: 'samples_per_second', num: true },
    ];

    function overviewPage() {
      const state = {
        search: getParams().get('q') || '',
        health: new Set((getParams().get('health') || '').split(',').filter(x => HEALTHS.includes(x))),
        region: getParams().get('region') || '',
        sort: getParams().get('sort') || WORST_FIRST.sort,
        order: getParams().get('order') === 'asc' ? 'asc' : getParams().get('order') === 'desc' ? 'desc' : (getParams().get('sort') ? 'asc' : WORST_FIRST.order),
        offset: parseInt(getParams().get('offset') || '0', 10) || 0,
        limit: parseInt(getParams().get('limit') || (KIOSK ? '20' : '100'), 10) || 100,
      };
      const heat = new HeatMap($('heatmap-canvas'), $('heatmap-tip'), $('heatmap-live'));
      const saveState = () => setParams({
        q: state.search, health: [...state.health].join(','), region: state.region,
        sort: state.sort === WORST_FIRST.sort && state.order === WORST_FIRST.order ? null : state.sort,
        order: state.sort === WORST_FIRST.sort && state.order === WORST_FIRST.order ? null : state.order,
        offset: state.offset || null, limit: state.limit === 100 ? null : state.limit,
      });

      // filters
      const search = $('f-search');
      search.value = state.search;
      let debounce = null;
      search.addEventListener('input', () => { clearTimeout(debounce); debounce = setTimeout(() => { state.search = search.value.trim(); state.offset = 0; saveState(); loadTable(); }, 250); });
      $('filters').addEventListener('submit', e => e.preventDefault());
      const hf = $('f-health');
      const chips = {};
      for (const hv of HEALTHS) {
        const b = el('button', { type: 'button', class: 'chip', 'aria-pressed': String(state.health.has(hv)), dataset: { health: hv }, text: healthText(hv) });
        b.addEventListener('click', () => { toggleHealth(hv); });
        chips[hv] = b; hf.append(b);
      }
      function toggleHealth(hv, only) {
        if (hv === null) state.health = new Set();
        else if (only) { const isOnly = state.health.size === 1 && state.health.has(hv); state.health = new Set(isOnly ? [] : [hv]); }
        else if (state.health.has(hv)) state.health.delete(hv); else state.health.add(hv);
        for (const k of HEALTHS) chips[k].setAttribute('aria-pressed', String(state.health.has(k)));
        state.offset = 0; saveState(); renderSummary(lastSummary); loadTable();
      }
      const regionSel = $('f-region');
      regionSel.addEventListener('change', () => { state.region = regionSel.value; state.offset = 0; saveState(); loadTable(); });
      const limitSel = $('f-limit');
      if (![...limitSel.options].some(o => o.value === String(state.limit))) limitSel.append(el('option', { text: String(state.limit) }));
      limitSel.value = String(state.limit);
      limitSel.addEventListener('change', () => { state.limit = parseInt(limitSel.value, 10); state.offset = 0; saveState(); loadTable(); });

      // header
      const headRow = document.querySelector('#clusters thead tr');
      for (const c of COLUMNS) {
        const th = el('th', { scope: 'col', class: c.num ? 'num' : null, dataset: { col: c.key } });
        if (c.sort) {
          th.append(el('button', { type: 'button', text: c.label, onclick: () => {
            if (state.sort === c.sort) state.order = state.order === 'asc' ? 'desc' : 'asc';
            else { state.sort = c.sort; state.order = c.sort === 'health' ? WORST_FIRST.order : (c.num || c.sort === 'last_seen' ? 'desc' : 'asc'); }
            state.offset = 0; saveState(); loadTable();
          } }));
        } else th.textContent = c.label;
        headRow.append(th);
      }
      function markSort() {
        for (const th of headRow.children) {
          const c = COLUMNS.find(x => x.key === th.dataset.col);
          if (c && c.sort === state.sort) th.setAttribute('aria-sort', state.order === 'asc' ? 'ascending' : 'descending'); else th.removeAttribute('aria-sort');
        }
      }

      let lastSummary = null;
      function renderSummary(s) {
        const box = $('summary');
        if (!s) return;
        const cards = [el('button', { type: 'button', class: 'card', 'aria-pressed': String(state.health.size === 0), 'aria-label': s.total + ' clusters; show all',
          dataset: { health: 'total', total: String(s.total) }, onclick: () => toggleHealth(null) },
          el('div', { class: 'n', text: num(s.total, 0) }), el('div', { class: 'l', text: 'clusters' }))];
        for (const hv of HEALTHS) {
          const n = (s.by_health && s.by_health[hv]) || 0;
          cards.push(el('button', { type: 'button', class: 'card', 'aria-pressed': String(state.health.size === 1 && state.health.has(hv)),
            'aria-label': n + ' ' + healthText(hv) + ' clusters; show only these', dataset: { health: hv, count: String(n) }, onclick: () => toggleHealth(hv, true) },
            el('div', { class: 'n', text: num(n, 0) }), el('div', { class: 'l', text: healthText(hv) })));
        }
        // Re-rendering must not drop keyboard focus from the card just pressed.
        const focused = box.contains(document.activeElement) ? document.activeElement.dataset.health : null;
        box.replaceChildren(...cards);
        if (focused) { const again = cards.find(c => c.dataset.health === focused); if (again) again.focus(); }
        const cur = regionSel.value || state.region;
        const opts = [el('option', { value: '', text: 'all regions' })];
        for (const r of (s.regions || [])) opts.push(el('option', { value: r.region, text: r.region + ' (' + r.total + ')' }));
        if (cur && !(s.regions || []).some(r => r.region === cur)) opts.push(el('option', { value: cur, text: cur }));
        regionSel.replaceChildren(...opts);
        regionSel.value = cur;
      }

      let tableSeq = 0; // typing in the search box fires requests that may answer out of order
      async function loadTable() {
        markSort();
        const params = { sort: state.sort, order: state.order, limit: state.limit, offset: state.offset };
        if (state.search) params.search = state.search;
        if (state.health.size) params.health = [...state.health].join(',');
        if (state.region) params.region = state.region;
        const tbody = document.querySelector('#clusters tbody');
        const my = ++tableSeq;
        let d;
        try { d = await api('fleet/clusters', params); if (my !== tableSeq) return; }
        catch (e) { if (my !== tableSeq) return; tbody.replaceChildren(el('tr', {}, el('td', { colspan: COLUMNS.length }, errorBox(e, 'Could not load clusters')))); $('pager').replaceChildren(); throw e; }
        const rows = (d.clusters || []).map(c => clusterRow(c));
        if (!rows.length) {
          const msg = d.total === 0 && !state.search && !state.health.size && !state.region
            ? 'No cluster has reported yet. Create an ingest token on the collector host (collector token create --data-dir DATA --cluster NAME) and point an edge scraper\u2019s remote_write at /api/v1/write with it (bearer_token).'
            : 'No cluster matches these filters.';
          rows.push(el('tr', {}, el('td', { colspan: COLUMNS.length, class: 'empty', text: msg })));
        }
        const focusedRow = tbody.contains(document.activeElement) ? document.activeElement.closest('tr').dataset.cluster : null;
        tbody.replaceChildren(...rows);
        if (focusedRow !== null) { const again = rows.find(r => r.dataset.cluster === focusedRow); if (again) again.focus(); }
        tbody.dataset.total = String(d.total);
        renderPager(d);
      }
      function clusterRow(c) {
        const open = () => { location.href = clusterHref(c.cluster); };
        const pods = c.pods || {};
        const tr = el('tr', { tabindex: '0', dataset: { cluster: c.cluster, health: c.health, region: c.region || '' } });
        tr.addEventListener('keydown', e => {
          if (e.key === 'Enter') open();
          else if (e.key === 'ArrowDown' && tr.nextElementSibling) { tr.nextElementSibling.focus(); e.preventDefault(); }
          else if (e.key === 'ArrowUp' && tr.previousElementSibling) { tr.previousElementSibling.focus(); e.preventDefault(); }
        });
        tr.addEventListener('click', e => { if (!e.target.closest('a') && !window.getSelection().toString()) open(); });
        tr.append(
          el('td', { class: 'name', title: c.cluster }, el('a', { href: clusterHref(c.cluster), tabindex: '-1', text: c.cluster }),
            clockAhead(c.clock_ahead_seconds), catchingUp(c)),
          el('td', { text: c.region || '–' }),
          el('td', {}, healthBadge(c.health)),
          el('td', { title: c.last_seen ? FS.formatFullTime(c.last_seen) : '', text: ago(c.last_seen) }),
          el('td', { class: 'num' }, meter(c.cpu_percent)),
          el('td', { class: 'num' }, meter(c.memory_percent)),
          el('td', { class: 'num' }, meter(c.disk_percent)),
          pods.running != null || pods.pending != null || pods.failed != null ? el('td', { class: 'num pods' }, el('span', { title: 'running', text: num(pods.running, 0) }),
            el('span', { title: 'pending', class: pods.pending ? 'h-degraded' : null, text: num(pods.pending, 0) }),
            el('span', { title: 'failed', class: pods.failed ? 'h-down' : null, text: num(pods.failed, 0) }))
            : el('td', { class: 'num muted', title: 'no pod metrics', text: '–' }),
          el('td', { class: 'num' + (c.alerts_firing ? ' h-down' : ''), text: num(c.alerts_firing, 0) }),
          el('td', { class: 'num', text: num(c.samples_per_second, 1) }),
        );
        return tr;
      }
      function renderPager(d) {
        const p = $('pager');
        const from = d.total ? d.offset + 1 : 0, to = Math.min(d.total, d.offset + (d.clusters || []).length);
        const prev = el('button', { type: 'button', text: '‹ Previous', disabled: d.offset <= 0 });
        const next = el('button', { type: 'button', text: 'Next ›', disabled: to >= d.total });
        prev.addEventListener('click', () => { state.offset = Math.max(0, state.offset - state.limit); saveState(); loadTable(); });
        next.addEventListener('click', () => { state.offset += state.limit; saveState(); loadTable(); });
        p.replaceChildren(el('span', { class: 'muted', text: num(from, 0) + '–' + num(to, 0) + ' of ' + num(d.total, 0) }), prev, next);
      }

      async function refresh() {
        const [s, g] = await Promise.allSettled([api('fleet/summary'), api('fleet/grid')]);
        if (s.status === 'fulfilled') { lastSummary = s.value; renderSummary(s.value); }
        else $('summary').replaceChildren(errorBox(s.reason, 'Could not load the fleet summary'));
        if (g.status === 'fulfilled') heat.setData(g.value.regions || []);
        else heat.showError(g.reason);
        await loadTable();
        if (s.status === 'rejected') throw s.reason;
        if (g.status === 'rejected') throw g.reason;
      }
      document.addEventListener('fs-theme', () => heat.draw());
      Refresh.setup(refresh);
    }

    // Dense canvas grid: one cell per cluster from the server's compact per-region string, so
    // 125,000 clusters cost one small request and a few thousand fillRects per colour.
    class HeatMap {
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
    """#
}
