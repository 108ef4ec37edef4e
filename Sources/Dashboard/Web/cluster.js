// The cluster page: facts and tiles from the fleet registry, node, pod and edge-scraper charts, firing alerts.
import { alertTable } from './alert-table.js';
import { api } from './api.js';
import * as FS from './chart.js';
import { $, catchingUp, clockAhead, el, errorBox, healthBadge } from './dom.js';
import { ago, durationString, num, parseDuration, pct, promString, stepFor, varyingLabelFn } from './format.js';
import { RANGES, rangePicker, resolveRange, timeRange } from './range.js';
import { Refresh } from './refresh.js';
import { setParams } from './url.js';

export function clusterPage() {
  const name = document.body.dataset.cluster;
  const sel = 'cluster=' + promString(name);
  const charts = new Map();
  // Without a range in the URL, a young cluster gets a range that fits its age, not 1h of blank.
  let autoRange = '1h';
  const picker = rangePicker($('range-picker'), () => autoRange, () => Refresh.now());
  window.addEventListener('popstate', () => { picker.sync(); Refresh.now(); });
  const zoom = { onZoom: (a, b) => picker.zoom(a, b), onReset: () => { setParams({ end: null, range: null }, true); picker.sync(); Refresh.now(); } };

  // Rate windows: at least a minute so a slow scrape interval still has two samples.
  const NODE = w => [
    { id: 'cpu', title: 'CPU busy by node', unit: 'percent', q: [`100 * (1 - avg by (instance) (rate(node_cpu_seconds_total{${sel},mode="idle"}[${w}])))`] },
    { id: 'mem', title: 'Memory used by node', unit: 'percent', q: [`100 * (1 - node_memory_MemAvailable_bytes{${sel}} / node_memory_MemTotal_bytes{${sel}})`] },
    { id: 'disk', title: 'Disk used by mount', unit: 'percent', q: [`100 * (1 - node_filesystem_avail_bytes{${sel}} / node_filesystem_size_bytes{${sel}})`] },
    { id: 'net', title: 'Network receive (rx) and transmit (tx)', unit: 'bytesRate', q: [
      `sum by (instance) (rate(node_network_receive_bytes_total{${sel},device!="lo"}[${w}]))`,
      `sum by (instance) (rate(node_network_transmit_bytes_total{${sel},device!="lo"}[${w}]))`], prefix: ['rx ', 'tx '] },
    { id: 'up', title: 'Targets up by job', unit: 'short', q: [`sum by (job) (up{${sel}})`] },
    // Written by the collector's fleet registry: the health state over time, one level per state.
    { id: 'health', title: 'Health over time', unit: 'health', q: [
      `(fleetscope_cluster_health{${sel},state="healthy"} == 1) * 4`, `(fleetscope_cluster_health{${sel},state="degraded"} == 1) * 3`,
      `(fleetscope_cluster_health{${sel},state="catching_up"} == 1) * 2`,
      `(fleetscope_cluster_health{${sel},state="stale"} == 1) * 1`, `(fleetscope_cluster_health{${sel},state="down"} == 1) * 0`],
      prefix: ['healthy', 'degraded', 'catching up', 'stale', 'down'], names: true,
      colors: ['--cell-healthy', '--cell-degraded', '--cell-catching_up', '--cell-stale', '--cell-down'] },
    // Written by the collector's fleet registry: how long ago this cluster's last sample arrived.
    { id: 'lastseen', title: 'Time since last sample (last-seen timeline)', unit: 'seconds', q: [`time() - fleetscope_cluster_last_seen_seconds{${sel}}`], prefix: ['since last sample'] },
  ];
  const PODS = w => [
    { id: 'phase', title: 'Pods by phase', unit: 'short', q: [`sum by (phase) (kube_pod_status_phase{${sel}})`] },
    { id: 'podcpu', title: 'Container CPU, top 8 pods (cores)', unit: 'short', q: [`topk(8, sum by (namespace, pod) (rate(container_cpu_usage_seconds_total{${sel}}[${w}])))`] },
    { id: 'podmem', title: 'Container memory working set, top 8 pods', unit: 'bytes', q: [`topk(8, sum by (namespace, pod) (container_memory_working_set_bytes{${sel}}))`] },
    { id: 'restarts', title: 'Container restarts', unit: 'short', q: [`sum by (namespace, pod) (increase(kube_pod_container_status_restarts_total{${sel}}[${w}])) > 0`] },
  ];
  const EDGE = w => [
    { id: 'queue', title: 'Queue backlog', unit: 'bytes', q: [`sum(edge_scraper_queue_bytes{${sel}})`], prefix: ['backlog'] },
    { id: 'pending', title: 'Samples waiting to be sent', unit: 'short', q: [`sum(edge_scraper_queue_pending_samples{${sel}})`], prefix: ['pending'] },
    { id: 'delivery', title: 'Delivery: sent, dropped, retried', unit: 'rate', q: [
      `sum(rate(edge_scraper_samples_sent_total{${sel}}[${w}]))`, `sum(rate(edge_scraper_samples_dropped_total{${sel}}[${w}]))`,
      `sum(rate(edge_scraper_remote_retries_total{${sel}}[${w}]))`], prefix: ['sent ', 'dropped ', 'retries '] },
    { id: 'lastsend', title: 'Time since last successful send', unit: 'seconds', q: [`time() - max(edge_scraper_remote_last_success_timestamp_seconds{${sel}} > 0)`], prefix: ['since last send'] },
  ];

  function panel(container, def) {
    let c = charts.get(def.id);
    if (!c) {
      const body = el('div', { class: 'chart', id: 'chart-' + def.id, dataset: { chart: def.id } });
      container.append(el('div', { class: 'chart-panel' }, el('h3', { text: def.title }), body));
      c = new FS.Chart(body, Object.assign({ unit: def.unit, title: def.title, height: 200 }, zoom));
      charts.set(def.id, c);
    }
    return c;
  }
  async function drawChart(container, def, start, end, step) {
    const chart = panel(container, def);
    try {
      const parts = await Promise.all(def.q.map(q => api('query_range', { query: q, start: start.toFixed(3), end: end.toFixed(3), step: step })));
      let series = [];
      parts.forEach((d, k) => {
        const res = d.result || [];
        const lf = varyingLabelFn(res);
        const part = FS.fromMatrix(res, m => def.names ? def.prefix[k] : ((def.prefix ? def.prefix[k] : '') + lf(m)).trim() || 'value');
        if (def.colors) part.forEach(p => { p.color = getComputedStyle(document.documentElement).getPropertyValue(def.colors[k]).trim(); });
        series = series.concat(part);
      });
      chart.setData(series, start, end, step);
      if (!series.length) chart.showMessage('No data in this range');
    } catch (e) { chart.showMessage(e.errorType + ': ' + e.message); }
  }

  async function loadInfo() {
    let c = null;
    const notice = $('cluster-notice');
    try { c = await api('fleet/clusters/' + encodeURIComponent(name)); notice.hidden = true; }
    catch (e) {
      notice.hidden = false;
      notice.textContent = e.status === 404
        ? 'The fleet registry does not know this cluster (no data from it yet, or outside your access scope). Charts below show whatever series carry cluster="' + name + '".'
        : 'Fleet registry unavailable: ' + e.message;
    }
    if (c && c.first_seen) {
      const age = Date.now() / 1000 - c.first_seen;
      const fit = RANGES.find(r => parseDuration(r) >= age * 1.1) || '1h';
      autoRange = parseDuration(fit) < 3600 ? fit : '1h';
      picker.sync();
    }
    const badge = $('cluster-health');
    const hv = c ? c.health : 'unknown';
    badge.replaceWith(Object.assign(healthBadge(hv), { id: 'cluster-health' }));
    document.body.dataset.health = hv;
    $('crumb-region').textContent = c && c.region ? c.region : '';
    const facts = $('facts');
    facts.replaceChildren();
    if (c) {
      const add = (k, v) => facts.append(el('div', {}, el('dt', { text: k }), el('dd', {}, v)));
      add('Region', c.region || '–');
      add('Last seen', el('span', { title: c.last_seen ? FS.formatFullTime(c.last_seen) : '', text: ago(c.last_seen) }));
      add('First seen', el('span', { title: c.first_seen ? FS.formatFullTime(c.first_seen) : '', text: ago(c.first_seen) }));
      add('Series', num(c.series, 0));
      add('Samples/s', num(c.samples_per_second, 1));
      add('Targets', num(c.targets_up, 0) + ' up, ' + num(c.targets_down, 0) + ' down');
      const clock = clockAhead(c.clock_ahead_seconds);
      if (clock) add('Problem', clock);
      const behind = catchingUp(c);
      if (behind) add('Catching up', behind);
      const labels = Object.entries(c.labels || {}).filter(([k]) => k !== 'cluster' && k !== 'region');
      if (labels.length) add('Labels', el('span', {}, labels.map(([k, v]) => el('span', { class: 'label-chip', text: k + '=' + v }))));
      const pods = c.pods || {};
      const tile = (label, value, cls) => el('div', { class: 'tile' }, el('div', { class: 'n' + (cls ? ' ' + cls : ''), text: value }), el('div', { class: 'l', text: label }));
      $('tiles').replaceChildren(
        tile('CPU', pct(c.cpu_percent)), tile('Memory', pct(c.memory_percent)), tile('Disk', pct(c.disk_percent)),
        tile('Pods running', num(pods.running, 0)), tile('Pods pending', num(pods.pending, 0), pods.pending ? 'h-degraded' : ''),
        tile('Pods failed', num(pods.failed, 0), pods.failed ? 'h-down' : ''), tile('Alerts firing', num(c.alerts_firing, 0), c.alerts_firing ? 'h-down' : ''));
    }
  }

  async function topTable(box, q, unit) {
    try {
      const d = await api('query', { query: q });
      const res = (d.result || []).slice().sort((a, b) => parseFloat(b.value[1]) - parseFloat(a.value[1]));
      if (!res.length) { box.replaceChildren(el('p', { class: 'empty', text: 'No pods reported.' })); return; }
      box.replaceChildren(el('table', {}, el('thead', {}, el('tr', {}, el('th', { text: 'Namespace' }), el('th', { text: 'Pod' }), el('th', { class: 'num', text: unit === 'bytes' ? 'Memory' : 'CPU cores' }))),
        el('tbody', {}, res.map(r => el('tr', {}, el('td', { text: r.metric.namespace || '' }), el('td', { text: r.metric.pod || '' }),
          el('td', { class: 'num', text: FS.formatValue(unit, parseFloat(r.value[1])) }))))));
    } catch (e) { box.replaceChildren(errorBox(e)); }
  }

  async function loadAlerts() {
    const box = $('cluster-alerts');
    try {
      const d = await api('alerts');
      const mine = (d.alerts || []).filter(a => a.labels && a.labels.cluster === name && a.state === 'firing');
      if (!mine.length) { box.replaceChildren(el('p', { class: 'empty', text: 'No alerts firing for this cluster.' })); return; }
      box.replaceChildren(alertTable([[null, mine]], false));
    } catch (e) { box.replaceChildren(errorBox(e)); }
  }

  async function hasSeries(match, start, end) {
    try { return (await api('series', [['match[]', match], ['start', String(Math.floor(start))], ['end', String(Math.ceil(end))]])).length > 0; }
    catch (e) { return false; }
  }
  let edgeKnown = null;
  async function refresh() {
    await loadInfo();
    const tr = timeRange(autoRange);
    const { start, end } = resolveRange(tr);
    const width = ($('charts').clientWidth || 1000) / 2;
    const step = stepFor(tr.range, width);
    const w = durationString(Math.max(60, 4 * step));
    const jobs = [loadAlerts()];
    for (const def of NODE(w)) jobs.push(drawChart($('charts'), def, start, end, step));
    // Clusters without kube-state-metrics or cAdvisor get one line, not six empty panels.
    const hasPods = await hasSeries(`{__name__=~"kube_pod_status_phase|container_cpu_usage_seconds_total",${sel}}`, start, end);
    $('pods-body').hidden = !hasPods;
    $('pods-none').hidden = hasPods;
    $('pods-none').textContent = 'No pod metrics (kube_pod_status_phase, container_*) from this cluster in this range.';
    if (hasPods) {
      jobs.push(topTable($('top-cpu'), `topk(10, sum by (namespace, pod) (rate(container_cpu_usage_seconds_total{${sel}}[5m])))`, 'short'),
        topTable($('top-mem'), `topk(10, sum by (namespace, pod) (container_memory_working_set_bytes{${sel}}))`, 'bytes'));
      for (const def of PODS(w)) jobs.push(drawChart($('pod-charts'), def, start, end, step));
    }
    // The edge scraper's own series exist only where a real agent (not the simulator) reports.
    edgeKnown = await hasSeries(`{__name__=~"edge_scraper_(queue_bytes|samples_sent_total|queue_pending_samples)",${sel}}`, start, end);
    const edge = $('edge');
    if (edgeKnown) {
      if (!edge.classList.contains('charts')) { edge.replaceChildren(); edge.className = 'charts'; }
      for (const def of EDGE(w)) jobs.push(drawChart(edge, def, start, end, step));
    } else {
      for (const def of EDGE(w)) { const c = charts.get(def.id); if (c) { c.destroy(); charts.delete(def.id); } }
      edge.className = '';
      edge.replaceChildren(el('p', { class: 'empty', text: 'No edge-scraper self-metrics (edge_scraper_*) from this cluster in this range. A simulated cluster sends none; a real edge scraper includes them when it scrapes its own /metrics.' }));
    }
    await Promise.all(jobs);
  }
  Refresh.setup(refresh);
}
