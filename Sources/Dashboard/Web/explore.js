// Explore: a PromQL box with a graph and a table view, its state kept in the URL.
import { api, apiBody } from './api.js';
import * as FS from './chart.js';
import { $, el } from './dom.js';
import { durationString, formatLabels, parseDuration, stepFor } from './format.js';
import { rangePicker, resolveRange, timeRange } from './range.js';
import { Refresh } from './refresh.js';
import { getParams, setParams } from './url.js';

export function explorePage() {
  const expr = $('expr'), stepIn = $('step'), unitSel = $('unit');
  const p0 = getParams();
  expr.value = p0.get('expr') || '';
  stepIn.value = p0.get('step') || '';
  unitSel.value = p0.get('unit') || 'auto';
  let tab = p0.get('tab') === 'table' ? 'table' : 'graph';
  const chart = new FS.Chart($('explore-chart'), { unit: 'short', height: 360, title: 'Query result',
    onZoom: (a, b) => picker.zoom(a, b), onReset: () => { setParams({ end: null }, true); picker.sync(); run(false); } });
  const picker = rangePicker($('range-picker'), '1h', () => run(false));

  function selectTab(t, focus) {
    tab = t;
    for (const [name, other] of [['graph', 'table'], ['table', 'graph']]) {
      const b = $('tab-' + name);
      b.setAttribute('aria-selected', String(name === t)); b.tabIndex = name === t ? 0 : -1;
      $('view-' + name).hidden = name !== t;
      if (name === t && focus) b.focus();
    }
  }
  $('tab-graph').addEventListener('click', () => { selectTab('graph'); setParams({ tab: null }, true); run(false); });
  $('tab-table').addEventListener('click', () => { selectTab('table'); setParams({ tab: 'table' }, true); run(false); });
  document.querySelector('.tabs').addEventListener('keydown', e => {
    if (e.key !== 'ArrowLeft' && e.key !== 'ArrowRight') return;
    const t = tab === 'graph' ? 'table' : 'graph';
    selectTab(t, true); setParams({ tab: t === 'table' ? 'table' : null }, true); run(false);
  });
  selectTab(tab);
  $('explore-form').addEventListener('submit', e => { e.preventDefault(); run(true); });
  expr.addEventListener('keydown', e => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey || !e.shiftKey)) { e.preventDefault(); run(true); } });
  unitSel.addEventListener('change', () => { setParams({ unit: unitSel.value === 'auto' ? null : unitSel.value }); chart.setUnit(unitFor()); });
  window.addEventListener('popstate', () => {
    const p = getParams(); expr.value = p.get('expr') || ''; stepIn.value = p.get('step') || ''; unitSel.value = p.get('unit') || 'auto';
    selectTab(p.get('tab') === 'table' ? 'table' : 'graph'); picker.sync(); run(false);
  });
  const names = $('metric-names');
  api('label/__name__/values').then(list => {
    for (const n of list) names.append(el('option', { value: n, text: n }));
  }).catch(() => { /* the box works without the list */ });
  names.addEventListener('change', () => {
    if (!names.value) return;
    const s = expr.selectionStart, v = expr.value;
    expr.value = v.slice(0, s) + names.value + v.slice(expr.selectionEnd);
    names.value = ''; expr.focus();
  });
  function unitFor() { return unitSel.value === 'auto' ? FS.guessUnit(expr.value) : unitSel.value; }

  const status = $('explore-status'), errBox = $('explore-error');
  function showError(e) {
    errBox.hidden = false;
    // Exactly what the API said: its errorType and error fields, unedited.
    errBox.replaceChildren(el('span', { class: 'etype', text: e.errorType }), el('pre', { id: 'explore-error-text', text: e.message }));
    errBox.dataset.errorType = e.errorType;
  }
  let seq = 0;
  async function run(push) {
    const q = expr.value.trim();
    if (push) setParams({ expr: q || null, step: stepIn.value.trim() || null }, true);
    errBox.hidden = true;
    $('explore-chart').hidden = false;
    if (!q) { status.textContent = 'Enter a PromQL expression and press Run (or Enter).'; chart.showMessage('No query'); $('explore-table').replaceChildren(); return; }
    const my = ++seq;
    const tr = timeRange('1h');
    const { start, end } = resolveRange(tr);
    const t0 = performance.now();
    try {
      if (tab === 'graph') {
        const userStep = parseDuration(stepIn.value) || (/^\d+(\.\d+)?$/.test(stepIn.value.trim()) ? parseFloat(stepIn.value) : null);
        const step = userStep || stepFor(tr.range, $('explore-chart').clientWidth);
        const body = await apiBody('query_range', { query: q, start: start.toFixed(3), end: end.toFixed(3), step: step });
        if (my !== seq) return;
        const res = body.data.result || [];
        const series = FS.fromMatrix(res, m => formatLabels(m));
        chart.opts.unit = unitFor();
        chart.setData(series, start, end, step);
        if (!series.length) chart.showMessage('Empty query result');
        const pts = series.reduce((a, s) => a + s.xs.length, 0);
        status.textContent = series.length + ' series · ' + pts + ' points · step ' + durationString(step) + ' · ' + Math.round(performance.now() - t0) + ' ms' + warnings(body);
        $('view-graph').dataset.series = String(series.length);
      } else {
        const body = await apiBody('query', { query: q, time: tr.end ? tr.end.toFixed(3) : undefined });
        if (my !== seq) return;
        renderTable(body.data);
        status.textContent = body.data.resultType + ' · ' + rowCount(body.data) + ' results · ' + Math.round(performance.now() - t0) + ' ms' + warnings(body);
      }
    } catch (e) {
      if (my !== seq) return;
      showError(e);
      status.textContent = '';
      if (tab === 'graph') { chart.showMessage('Query failed'); $('explore-chart').hidden = true; } else $('explore-table').replaceChildren();
    }
  }
  function warnings(body) { return body.warnings && body.warnings.length ? ' · warnings: ' + body.warnings.join('; ') : ''; }
  function rowCount(d) { return Array.isArray(d.result) ? d.result.length : 1; }
  function renderTable(d) {
    const box = $('explore-table');
    const unit = unitFor();
    box.dataset.resultType = d.resultType;
    if (d.resultType === 'scalar' || d.resultType === 'string') {
      box.replaceChildren(el('table', { class: 'result' }, el('tbody', {}, el('tr', { dataset: { result: '1' } }, el('td', { text: d.resultType }), el('td', { class: 'num', text: String(d.result[1]) })))));
      return;
    }
    const res = d.result || [];
    if (!res.length) { box.replaceChildren(el('p', { class: 'empty', text: 'Empty query result' })); return; }
    const rows = res.slice(0, 2000).map(r => {
      const val = d.resultType === 'matrix'
        ? el('td', { class: 'mono' }, (r.values || []).map(v => el('div', { text: v[1] + ' @' + v[0] })))
        : el('td', { class: 'num', title: FS.formatValue(unit, parseFloat(r.value[1])), text: r.value[1] });
      return el('tr', { dataset: { result: '1' } }, el('td', { class: 'labels', text: formatLabels(r.metric) }), val);
    });
    box.replaceChildren(el('table', { class: 'result' }, el('thead', {}, el('tr', {}, el('th', { text: 'Series' }), el('th', { class: 'num', text: 'Value' }))), el('tbody', {}, rows)));
    if (res.length > 2000) box.append(el('p', { class: 'hint', text: 'Showing 2,000 of ' + res.length + ' results.' }));
  }
  // Explore's refresh re-runs only queries that follow "now".
  let first = true;
  Refresh.setup(async () => { if (first || !timeRange('1h').end) { first = false; await run(false); } });
  if (!expr.value) expr.focus();
}
