// recordRequest updates prom-client's records in place: the exported histogram and counter must equal
// what the public API would have produced, also after a metric was reset.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { recordRequest } from '../../src/metrics/request-metrics.js';
import { requestDuration, requestsTotal } from '../../src/metrics/registry.js';

async function durationSeries(route: string, variant: string) {
  const { values } = await requestDuration.get();
  const mine = values.filter((v) => v.labels.route === route && v.labels.variant === variant);
  const buckets = mine.filter((v) => v.metricName === 'abproxy_request_duration_seconds_bucket');
  return {
    buckets: buckets.map((v) => ({ le: String((v.labels as Record<string, unknown>).le), value: v.value })),
    sum: mine.find((v) => v.metricName === 'abproxy_request_duration_seconds_sum')?.value,
    count: mine.find((v) => v.metricName === 'abproxy_request_duration_seconds_count')?.value,
  };
}

async function requestCount(route: string, variant: string, code: string): Promise<number | undefined> {
  const { values } = await requestsTotal.get();
  return values.find((v) => v.labels.route === route && v.labels.variant === variant && v.labels.code === code)?.value;
}

test('histogram buckets, sum and count and the per-code counters match the recorded requests', async () => {
  const seconds: number[] = [];
  for (let i = 0; i < 2_000; i++) seconds.push(((i * 7919) % 1000) / 10_000 + (i % 97 === 0 ? 100 : 0)); // 0..0.1 s, some beyond every bound
  for (const [i, value] of seconds.entries()) recordRequest('fast-metrics', 'a', i % 10 === 0 ? 503 : 200, value);
  const series = await durationSeries('fast-metrics', 'a');
  assert.equal(series.count, seconds.length);
  assert.ok(Math.abs((series.sum ?? 0) - seconds.reduce((a, b) => a + b, 0)) < 1e-6);
  assert.ok(series.buckets.length > 5);
  for (const { le, value } of series.buckets) {
    const bound = le === '+Inf' ? Infinity : Number(le);
    assert.equal(value, seconds.filter((s) => s <= bound).length, `bucket le=${le}`);
  }
  assert.equal(await requestCount('fast-metrics', 'a', '200'), 1_800);
  assert.equal(await requestCount('fast-metrics', 'a', '503'), 200);
});

test('a reset metric counts again from zero on the next request', async () => {
  recordRequest('fast-reset', 'b', 200, 0.001);
  recordRequest('fast-reset', 'b', 200, 0.002);
  requestsTotal.reset();
  requestDuration.reset();
  recordRequest('fast-reset', 'b', 200, 0.003);
  recordRequest('fast-reset', 'b', 200, 0.004);
  assert.equal(await requestCount('fast-reset', 'b', '200'), 2);
  const series = await durationSeries('fast-reset', 'b');
  assert.equal(series.count, 2);
  assert.ok(Math.abs((series.sum ?? 0) - 0.007) < 1e-9);
});
