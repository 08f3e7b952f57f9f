// The helpers with plain Node: `node --test test_helpers.mjs`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CHUNK_BYTES, Output, OutputClosed, seriesOf, goFloat } from './metrics_renderer_helpers.js';

const gauge = (labelNames) => ({ name: 'queued', kind: 'gauge', labelNames, bounds: [], quantiles: [] });

test('label values are cut at UTF-8 byte offsets', () => {
  // "ü" is two bytes: a UTF-16 slice would cut "ümlaut" wrongly.
  const batch = { labelText: 'ümlautx', labelEnds: [7, 8], values: [1, 2.5], counts: [], sums: [], bucketCounts: [], quantileValues: [], createdMs: [] };
  const got = [...seriesOf(batch, gauge(['queue']))].map((s) => [s.labels, s.value]);
  assert.deepEqual(got, [[[['queue', 'ümlaut']], 1], [[['queue', 'x']], 2.5]]);
});

test('output is chunked and a refusal throws', () => {
  const chunks = [];
  const out = new Output((chunk) => chunks.push(chunk) < 2);
  out.write('a'.repeat(CHUNK_BYTES));
  assert.throws(() => out.write('b'.repeat(CHUNK_BYTES)), OutputClosed);
  assert.deepEqual(chunks.map((c) => c.length), [CHUNK_BYTES, CHUNK_BYTES]);
});

test('numbers are written as Prometheus does', () => {
  assert.deepEqual([1, 1.5, NaN, -Infinity].map(goFloat), ['1', '1.5', 'NaN', '-Inf']);
});
