// The alerts table, shared by the Alerts page and the cluster page.
import { el } from './dom.js';
import { ago, clusterHref, num } from './format.js';

// sections: [[heading or null, alerts]]; one table keeps the columns aligned across regions.
export function alertTable(sections, showCluster) {
  const cols = showCluster ? 6 : 5;
  return el('table', { class: 'alerts' }, el('thead', {}, el('tr', {},
      showCluster ? el('th', { text: 'Cluster' }) : null, el('th', { text: 'State' }), el('th', { text: 'Active since' }),
      el('th', { class: 'num', text: 'Value' }), el('th', { text: 'Summary' }), el('th', { text: 'Labels' }))),
    sections.map(([heading, alerts]) => el('tbody', {},
      heading ? el('tr', { class: 'group-row' }, el('th', { colspan: cols, scope: 'rowgroup' }, el('h3', { text: heading }))) : null,
      alerts.map(a => {
        const l = a.labels || {}, ann = a.annotations || {};
        const rest = Object.keys(l).filter(k => !['alertname', 'cluster', 'region'].includes(k)).sort();
        return el('tr', { dataset: { state: a.state || '', cluster: l.cluster || '' } },
          showCluster ? el('td', {}, l.cluster ? el('a', { href: clusterHref(l.cluster), text: l.cluster }) : el('span', { class: 'muted', text: 'no cluster label' })) : null,
          el('td', {}, el('span', { class: 'badge', dataset: { state: a.state || '' }, text: a.state || '' })),
          el('td', { title: a.activeAt || '', text: a.activeAt ? ago(Date.parse(a.activeAt) / 1000) : '–' }),
          el('td', { class: 'num', title: a.value !== undefined ? String(a.value) : '', text: a.value !== undefined ? num(parseFloat(a.value), 3) : '' }),
          el('td', { title: ann.description || ann.summary || '', text: ann.summary || ann.description || '' }),
          el('td', { class: 'chips' }, rest.map(k => el('span', { class: 'label-chip', text: k + '=' + l[k] }))));
      }))));
}
