// The dashboard's text formatting, run by node (make js-check): these modules touch no DOM.
import test from 'node:test';
import assert from 'node:assert/strict';
import { ago, durationString, formatLabels, healthText, parseDuration, pct, promString, spanText, stepFor, varyingLabelFn }
  from '../../../Sources/Dashboard/Web/format.js';

test('promString quotes like PromQL', () => {
  assert.equal(promString('edge-1'), '"edge-1"');
  assert.equal(promString('a"b\\c\nd'), '"a\\"b\\\\c\\nd"');
});

test('formatLabels: name, then sorted labels; skip drops labels', () => {
  assert.equal(formatLabels({ __name__: 'up', job: 'node', cluster: 'c1' }), 'up{cluster="c1", job="node"}');
  assert.equal(formatLabels({ __name__: 'up' }), 'up');
  assert.equal(formatLabels({}), '{}');
  assert.equal(formatLabels({ __name__: 'up', job: 'x', cluster: 'c' }, new Set(['cluster'])), 'up{job="x"}');
});

test('varyingLabelFn names series by the labels that differ', () => {
  const result = [{ metric: { __name__: 'up', cluster: 'c', instance: 'a' } }, { metric: { __name__: 'up', cluster: 'c', instance: 'b' } }];
  const f = varyingLabelFn(result);
  assert.equal(f(result[0].metric), 'instance=a');
  // One series: its labels that are not page context.
  const one = [{ metric: { __name__: 'up', cluster: 'c', job: 'node', instance: 'a' } }];
  assert.equal(varyingLabelFn(one)(one[0].metric), 'instance=a');
  const bare = [{ metric: { __name__: 'up', cluster: 'c' } }];
  assert.equal(varyingLabelFn(bare)(bare[0].metric), 'up');
});

test('durations: parse and print Prometheus durations', () => {
  assert.equal(parseDuration('90s'), 90);
  assert.equal(parseDuration('1.5h'), 5400);
  assert.equal(parseDuration('250ms'), 0.25);
  assert.equal(parseDuration('2w'), 1209600);
  assert.equal(parseDuration('1h30m'), null);
  assert.equal(parseDuration(''), null);
  assert.equal(durationString(86400), '1d');
  assert.equal(durationString(7200), '2h');
  assert.equal(durationString(90), '90s');
  assert.equal(durationString(0.2), '1s');
});

test('spanText and ago pick a readable unit', () => {
  assert.equal(spanText(30), '30 s');
  assert.equal(spanText(600), '10 min');
  assert.equal(spanText(7200), '2.0 h');
  assert.equal(spanText(86400 * 3), '3 d');
  assert.equal(ago(0), 'never');
  assert.equal(ago(Date.now() / 1000 - 30), '30 s ago');
  assert.equal(ago(Date.now() / 1000 - 120), '2 min ago');
});

test('pct, healthText and stepFor', () => {
  assert.equal(pct(12.345), '12.3%');
  assert.equal(pct(null), '–');
  assert.equal(healthText('catching_up'), 'catching up');
  assert.equal(healthText(undefined), 'unknown');
  // About one point per two pixels, at least one minute's worth of points, at most 600.
  assert.equal(stepFor(3600, 1200), 6);
  assert.equal(stepFor(3600, 40), 60);
});
