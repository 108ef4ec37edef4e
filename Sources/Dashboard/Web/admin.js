// The Admin page (admins only; the collector answers 403 to anyone else): ingest tokens by cluster
// with create and revoke, users with add/change/delete, and the audit log's recent events.
import { labelText, parseLabelList, tokensByCluster } from './admin-text.js';
import { api, apiSend } from './api.js';
import { $, el, errorBox } from './dom.js';
import { ago } from './format.js';
import { Refresh } from './refresh.js';

function when(iso) { return iso ? el('span', { title: iso, text: ago(Date.parse(iso) / 1000) }) : el('span', { class: 'muted', text: 'never' }); }
function showError(id, e) { const box = $(id); if (e) box.replaceChildren(errorBox(e)); box.hidden = !e; }

async function loadTokens() {
  const box = $('tokens');
  let tokens;
  try { tokens = await api('admin/tokens'); } catch (e) { box.replaceChildren(errorBox(e, 'Could not load tokens')); throw e; }
  box.dataset.count = String(tokens.length);
  if (!tokens.length) { box.replaceChildren(el('p', { class: 'empty', text: 'No working ingest tokens. Create one above for each cluster.' })); return; }
  box.replaceChildren(el('table', { class: 'admin-tokens' },
    el('thead', {}, el('tr', {}, el('th', { text: 'Cluster' }), el('th', { class: 'num', text: 'Id' }), el('th', { text: 'Labels' }),
      el('th', { text: 'Created' }), el('th', { text: 'Last used' }), el('th', { text: '' }))),
    tokensByCluster(tokens).map(([cluster, list]) => el('tbody', { dataset: { cluster } }, list.map((t, i) => el('tr', { dataset: { id: String(t.id) } },
      el('td', {}, i === 0 ? cluster : '', i === 0 && list.length > 1
        ? el('button', { type: 'button', class: 'ghost', text: 'revoke all ' + list.length, onclick: () => revoke('admin/tokens?cluster=' + encodeURIComponent(cluster), 'all ' + list.length + ' tokens of ' + cluster) }) : null),
      el('td', { class: 'num', text: String(t.id) }),
      el('td', { class: 'mono', text: labelText(t.labels) }),
      el('td', {}, when(t.created)), el('td', {}, when(t.lastUsed)),
      el('td', {}, el('button', { type: 'button', text: 'Revoke', onclick: () => revoke('admin/tokens/' + t.id, 'token ' + t.id + ' of ' + cluster) }))))))));
}

async function revoke(path, what) {
  if (!confirm('Revoke ' + what + '? Writes with it are refused at once.')) return;
  try { await apiSend('DELETE', path); showError('token-error', null); } catch (e) { showError('token-error', e); }
  Refresh.now();
}

async function createToken(ev) {
  ev.preventDefault();
  const out = $('token-secret');
  out.hidden = true;
  try {
    const t = await apiSend('POST', 'admin/tokens', { cluster: $('token-cluster').value.trim(), labels: parseLabelList($('token-labels').value) });
    showError('token-error', null);
    out.replaceChildren(el('p', { text: 'Token for ' + t.cluster + (labelText(t.labels) ? ' {' + labelText(t.labels) + '}' : '') + '. Copy it now: it is not shown again.' }),
      el('code', { class: 'mono', id: 'token-value', text: t.token }));
    out.hidden = false;
    $('token-form').reset();
  } catch (e) { showError('token-error', e); }
  Refresh.now();
}

async function loadUsers() {
  const box = $('users');
  let users;
  try { users = await api('admin/users'); } catch (e) { box.replaceChildren(errorBox(e, 'Could not load users')); throw e; }
  box.replaceChildren(el('table', { class: 'admin-users' },
    el('thead', {}, el('tr', {}, el('th', { text: 'Name' }), el('th', { text: 'Role' }), el('th', { text: 'Scope' }),
      el('th', { text: 'Updated' }), el('th', { text: '' }))),
    el('tbody', {}, users.map(u => el('tr', { dataset: { user: u.name } },
      el('td', { text: u.name }), el('td', {}, el('span', { class: 'badge', text: u.role })), el('td', { class: 'mono', text: u.scope }),
      el('td', {}, when(u.updated)),
      el('td', {}, el('button', { type: 'button', class: 'ghost', text: 'Edit', onclick: () => editUser(u) }), ' ',
        el('button', { type: 'button', text: 'Delete', onclick: () => deleteUser(u.name) })))))));
}

function editUser(u) {
  $('user-name').value = u.name; $('user-role').value = u.role; $('user-scope').value = u.scope; $('user-password').value = '';
  $('user-name').focus();
}

async function deleteUser(name) {
  if (!confirm('Delete user ' + name + '?')) return;
  try { await apiSend('DELETE', 'admin/users/' + encodeURIComponent(name)); showError('user-error', null); } catch (e) { showError('user-error', e); }
  Refresh.now();
}

// Adds the user, or changes role, scope and (when given) password of an existing one.
async function saveUser(ev) {
  ev.preventDefault();
  const name = $('user-name').value, role = $('user-role').value, scope = $('user-scope').value.trim(), password = $('user-password').value;
  try {
    const exists = (await api('admin/users')).some(u => u.name === name);
    if (exists) {
      const change = { role };
      if (scope) change.scope = scope;
      if (password) change.password = password;
      await apiSend('PATCH', 'admin/users/' + encodeURIComponent(name), change);
    } else {
      const user = { name, role, password };
      if (scope) user.scope = scope;
      await apiSend('POST', 'admin/users', user);
    }
    showError('user-error', null);
    $('user-form').reset();
  } catch (e) { showError('user-error', e); }
  Refresh.now();
}

async function loadAudit() {
  const box = $('audit');
  let events;
  try { events = await api('admin/audit', { limit: 50 }); } catch (e) { box.replaceChildren(errorBox(e, 'Could not load the audit log')); throw e; }
  if (!events.length) { box.replaceChildren(el('p', { class: 'empty', text: 'No changes yet.' })); return; }
  box.replaceChildren(el('table', { class: 'admin-audit' },
    el('thead', {}, el('tr', {}, el('th', { text: 'When' }), el('th', { text: 'Who' }), el('th', { text: 'From' }),
      el('th', { text: 'Action' }), el('th', { text: 'Target' }), el('th', { text: 'Detail' }))),
    el('tbody', {}, events.map(e => el('tr', { dataset: { action: e.action } },
      el('td', {}, when(e.time)), el('td', { text: e.actor }), el('td', { class: 'mono', text: e.remoteAddress || 'local' }),
      el('td', { text: e.action }), el('td', { text: e.target }), el('td', { text: e.detail }))))));
}

export function adminPage() {
  $('token-form').addEventListener('submit', createToken);
  $('user-form').addEventListener('submit', saveUser);
  Refresh.setup(() => Promise.all([loadTokens(), loadUsers(), loadAudit()]));
}
