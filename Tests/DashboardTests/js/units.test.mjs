// Chart value formatting and axis ticks, run by node (make js-check): no DOM needed.
import test from 'node:test';
import assert from 'node:assert/strict';
import { formatValue, guessUnit, scaleFor, valueTicks } from '../../../Sources/Dashboard/Web/units.js';

test('formatValue scales by unit', () => {
  assert.equal(formatValue('bytes', 1536), '1.5 KiB');
  assert.equal(formatValue('bytesRate', 3 * 1024 * 1024), '3 MiB/s');
  assert.equal(formatValue('percent', 42.123), '42.1%');
  assert.equal(formatValue('seconds', 0.25), '250 ms');
  assert.equal(formatValue('seconds', 7200), '120 min'); // minutes up to 3 h
  assert.equal(formatValue('seconds', 36000), '10 h');
  assert.equal(formatValue('short', 12500), '12.5 k');
  assert.equal(formatValue('rate', 0.004), '0.004/s');
  assert.equal(formatValue('health', 4), 'healthy');
  assert.equal(formatValue('short', Infinity), '+Inf');
  assert.equal(formatValue('short', NaN), '–');
  assert.equal(formatValue('short', null), '–');
});

test('scaleFor uses binary prefixes for bytes, SI otherwise', () => {
  assert.deepEqual(scaleFor('bytes', 2 * 1024 ** 3), { div: 1024 ** 3, suffix: ' GiB' });
  assert.deepEqual(scaleFor('short', 2e6), { div: 1e6, suffix: ' M' });
});

test('guessUnit reads the expression', () => {
  assert.equal(guessUnit('100 * (1 - avg(rate(node_cpu_seconds_total[5m])))'), 'percent');
  assert.equal(guessUnit('rate(node_network_receive_bytes_total[5m])'), 'bytesRate');
  assert.equal(guessUnit('node_memory_MemTotal_bytes'), 'bytes');
  assert.equal(guessUnit('node_boot_time_seconds'), 'seconds');
  assert.equal(guessUnit('rate(http_requests_total[1m])'), 'rate');
  assert.equal(guessUnit('up'), 'short');
});

test('valueTicks steps through round numbers', () => {
  const { ticks, step } = valueTicks(0, 100, 5, 'percent');
  assert.equal(step, 20);
  assert.deepEqual(ticks.map(t => t.label), ['0%', '20%', '40%', '60%', '80%', '100%']);
  assert.deepEqual(valueTicks(0, 4, 5, 'health').ticks.map(t => t.label), ['down', 'stale', 'catching up', 'degraded', 'healthy']);
});
