// The Alerts page: firing and pending alerts across the fleet, grouped by name, then region.
import { alertTable } from './alert-table.js';
import { api } from './api.js';
import { $, el, errorBox } from './dom.js';
import { Refresh } from './refresh.js';

export function alertsPage() {
  async function refresh() {
    const box = $('alerts');
    let d;
    try { d = await api('alerts'); } catch (e) { box.replaceChildren(errorBox(e, 'Could not load alerts')); throw e; }
    const alerts = (d.alerts || []).filter(a => a.state === 'firing' || a.state === 'pending');
    box.dataset.count = String(alerts.length);
    if (!alerts.length) {
      let rules = null;
      try { const r = await api('rules', { type: 'alert' }); rules = (r.groups || []).reduce((n, g) => n + (g.rules || []).length, 0); } catch (e) { /* rules endpoint optional */ }
      box.replaceChildren(el('div', { class: 'panel empty', id: 'alerts-empty' },
        el('p', { text: '✓ No alerts are firing or pending across the fleet.' }),
        el('p', { class: 'hint', text: rules === 0 || rules === null ? 'No alerting rules are loaded yet, so nothing can fire. Cluster health on the Fleet page still shows down and degraded clusters.' : rules + ' alerting rules are loaded; none is active.' })));
      return;
    }
    const byName = new Map();
    for (const a of alerts) {
      const n = (a.labels && a.labels.alertname) || '(no alertname)';
      if (!byName.has(n)) byName.set(n, []);
      byName.get(n).push(a);
    }
    const groups = [...byName.entries()].sort((p, q) => q[1].length - p[1].length || p[0].localeCompare(q[0]));
    box.replaceChildren(...groups.map(([n, list]) => {
      const firing = list.filter(a => a.state === 'firing').length;
      const byRegion = new Map();
      for (const a of list) { const r = (a.labels && a.labels.region) || '(no region)'; if (!byRegion.has(r)) byRegion.set(r, []); byRegion.get(r).push(a); }
      return el('section', { class: 'alert-group', dataset: { alertname: n } },
        el('h2', {}, n + ' ', firing ? el('span', { class: 'badge', dataset: { state: 'firing' }, text: firing + ' firing' }) : null, ' ',
          list.length - firing ? el('span', { class: 'badge', dataset: { state: 'pending' }, text: (list.length - firing) + ' pending' }) : null),
        alertTable([...byRegion.entries()].sort((p, q) => p[0].localeCompare(q[0])).map(([r, rl]) => [r + ' · ' + rl.length, rl]), true));
    }));
  }
  Refresh.setup(refresh);
}
