// Text of the admin page that node tests: the labels field, tokens grouped by cluster. No DOM.

// "region=eu, site=ber" → { region: 'eu', site: 'ber' }; throws naming the bad part.
export function parseLabelList(text) {
  const out = {};
  for (const part of String(text || '').split(',')) {
    const p = part.trim();
    if (!p) continue;
    const eq = p.indexOf('=');
    if (eq <= 0) throw new Error('label "' + p + '": expected NAME=VALUE, e.g. region=eu');
    const name = p.slice(0, eq).trim(), value = p.slice(eq + 1).trim();
    if (Object.prototype.hasOwnProperty.call(out, name)) throw new Error('label ' + name + ' given more than once');
    out[name] = value;
  }
  return out;
}

// [{cluster, ...}] → [[cluster, tokens]] sorted by cluster, tokens oldest first.
export function tokensByCluster(tokens) {
  const m = new Map();
  for (const t of tokens || []) { if (!m.has(t.cluster)) m.set(t.cluster, []); m.get(t.cluster).push(t); }
  return [...m.entries()].sort((a, b) => a[0].localeCompare(b[0])).map(([c, l]) => [c, l.sort((a, b) => a.id - b.id)]);
}

// { region: 'eu' } → 'region="eu"'; empty → ''.
export function labelText(labels) {
  return Object.keys(labels || {}).sort().map(k => k + '="' + String(labels[k]).replace(/\\/g, '\\\\').replace(/"/g, '\\"') + '"').join(', ');
}
