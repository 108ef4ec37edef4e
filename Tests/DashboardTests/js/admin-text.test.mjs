// The admin page's text helpers, run by node (make js-check).
import test from 'node:test';
import assert from 'node:assert/strict';
import { labelText, parseLabelList, tokensByCluster } from '../../../Sources/Dashboard/Web/admin-text.js';

test('parseLabelList reads NAME=VALUE pairs and names the bad part', () => {
  assert.deepEqual(parseLabelList(''), {});
  assert.deepEqual(parseLabelList(' region=eu, site = ber ,'), { region: 'eu', site: 'ber' });
  assert.deepEqual(parseLabelList('note=a=b'), { note: 'a=b' });
  assert.throws(() => parseLabelList('region'), /label "region": expected NAME=VALUE/);
  assert.throws(() => parseLabelList('=eu'), /expected NAME=VALUE/);
  assert.throws(() => parseLabelList('region=eu, region=us'), /region given more than once/);
});

test('tokensByCluster groups by cluster, oldest token first', () => {
  const g = tokensByCluster([{ id: 3, cluster: 'b' }, { id: 2, cluster: 'a' }, { id: 1, cluster: 'b' }]);
  assert.deepEqual(g.map(([c, l]) => [c, l.map(t => t.id)]), [['a', [2]], ['b', [1, 3]]]);
  assert.deepEqual(tokensByCluster(undefined), []);
});

test('labelText quotes values as PromQL does', () => {
  assert.equal(labelText({ site: 'ber', region: 'e"u' }), 'region="e\\"u", site="ber"');
  assert.equal(labelText({}), '');
});
