// The fleet overview: health summary cards, the heat map and the sortable, filterable cluster table.
import { api } from './api.js';
import * as FS from './chart.js';
import { $, catchingUp, clockAhead, el, errorBox, healthBadge, meter } from './dom.js';
import { HEALTHS, ago, clusterHref, healthText, num } from './format.js';
import { HeatMap } from './heatmap.js';
import { Refresh } from './refresh.js';
import { KIOSK, getParams, setParams } from './url.js';

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

export function overviewPage() {
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
