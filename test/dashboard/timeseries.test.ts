// The live series behind the dashboard: ring buffer bounds, histogram quantiles against hand-computed
// values, and sampler deltas driven through the real metrics registry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RingBuffer } from '../../src/admin/ring-buffer.js';
import { histogramQuantile } from '../../src/admin/histogram-quantile.js';
import { TimeSeries, type SeriesSource } from '../../src/admin/timeseries.js';
import { recordRequest } from '../../src/metrics/request-metrics.js';
import { LATENCY_BUCKETS, requestsTotal, shadowComparisonsTotal } from '../../src/metrics/registry.js';

test('a full ring buffer overwrites its oldest items and counts them', () => {
  const ring = new RingBuffer<number>(3);
  for (let i = 1; i <= 5; i++) ring.push(i);
  assert.deepEqual(ring.toArray(), [3, 4, 5]);
  assert.deepEqual(ring.toArray(2), [4, 5]);
  assert.deepEqual(ring.toArray(10), [3, 4, 5]);
  assert.equal(ring.size, 3);
  assert.equal(ring.evicted, 2);
  assert.throws(() => new RingBuffer(0), RangeError);
});

test('histogram quantiles interpolate inside the bucket that holds the rank', () => {
  // 10 observations <= 0.01, 10 more <= 0.1, 0 beyond.
  const buckets = [
    { le: 0.01, count: 10 },
    { le: 0.1, count: 20 },
    { le: Infinity, count: 20 },
  ];
  assert.equal(histogramQuantile(0.5, buckets), 0.01); // rank 10: the top of the first bucket
  assert.ok(Math.abs((histogramQuantile(0.75, buckets) ?? 0) - 0.055) < 1e-12); // rank 15: halfway through (0.01, 0.1]
  assert.ok(Math.abs((histogramQuantile(0.25, buckets) ?? 0) - 0.005) < 1e-12); // rank 5: halfway through (0, 0.01]
  assert.equal(histogramQuantile(0.99, [{ le: 1, count: 0 }, { le: Infinity, count: 4 }]), 1); // only +Inf: the highest finite bound
  assert.equal(histogramQuantile(0.5, [{ le: 1, count: 0 }, { le: Infinity, count: 0 }]), null);
  assert.equal(histogramQuantile(0.5, []), null);
});

function sourceFor(route: string, weights: [number, number], shadows: string[] = []): () => SeriesSource {
  return () => ({ generation: 7, routes: [{ name: route, variants: [{ name: 'a', weight: weights[0] }, { name: 'b', weight: weights[1] }], shadows }] });
}

test('each point holds the interval deltas: rate, error rate, realized and configured split, latency quantiles', async () => {
  let now = 1_000_000;
  const series = new TimeSeries(sourceFor('deltas', [3, 1]), { clock: () => now, capacity: 10 });
  recordRequest('deltas', 'a', 200, 0.002); // before the baseline: not in any point
  await series.sample();
  assert.deepEqual(series.points('deltas'), [], 'the first sample only sets the baseline');

  for (let i = 0; i < 6; i++) recordRequest('deltas', 'a', 200, 0.003);
  for (let i = 0; i < 2; i++) recordRequest('deltas', 'a', 503, 0.003);
  for (let i = 0; i < 2; i++) recordRequest('deltas', 'b', 200, 0.02);
  recordRequest('other-route', 'a', 200, 0.5); // another route's traffic never leaks in
  now += 2_000;
  await series.sample();

  const [point] = series.points('deltas');
  assert.ok(point);
  assert.equal(point.t, now);
  assert.equal(point.generation, 7);
  const [a, b] = point.variants;
  assert.ok(a && b);
  assert.deepEqual([a.name, a.requests, a.rps, a.errorRate, a.share, a.configuredShare], ['a', 8, 4, 0.25, 0.8, 0.75]);
  assert.deepEqual([b.name, b.requests, b.rps, b.errorRate, b.share, b.configuredShare], ['b', 2, 1, 0, 0.2, 0.25]);
  // All of a's 8 observations sit in the bucket (lo, hi] holding 3 ms: p50 is rank 4 of 8 -> lo + (hi - lo) * 4/8.
  const hi = LATENCY_BUCKETS.find((le) => le >= 0.003) ?? 0;
  const lo = LATENCY_BUCKETS[LATENCY_BUCKETS.indexOf(hi) - 1] ?? 0;
  assert.ok(Math.abs((a.p50Ms ?? 0) - (lo + (hi - lo) / 2) * 1000) < 1e-9, `p50 ${a.p50Ms}`);
  assert.ok(a.p99Ms !== null && a.p99Ms > lo * 1000 && a.p99Ms <= hi * 1000, `p99 ${a.p99Ms}`);
  assert.ok(b.p50Ms !== null && b.p50Ms > 10 && b.p50Ms <= 25, `b p50 ${b.p50Ms}`);

  now += 1_000;
  await series.sample();
  const quiet = series.points('deltas').at(-1);
  assert.ok(quiet);
  assert.deepEqual(
    quiet.variants.map((v) => [v.requests, v.rps, v.errorRate, v.p50Ms, v.share]),
    [
      [0, 0, null, null, null],
      [0, 0, null, null, null],
    ],
    'an idle interval has zero rate and no latency, error rate or split',
  );
});

test('the ring keeps `capacity` points per route and counts what it overwrote', async () => {
  let now = 0;
  const series = new TimeSeries(sourceFor('bounded', [1, 1]), { clock: () => (now += 1_000), capacity: 4 });
  for (let i = 0; i < 8; i++) {
    recordRequest('bounded', 'b', 200, 0.001);
    await series.sample();
  }
  assert.equal(series.points('bounded').length, 4);
  assert.equal(series.counters.samples, 7);
  assert.equal(series.counters.evictedPoints, 3);
  assert.deepEqual(series.points('bounded', 2).map((p) => p.t), [7_000, 8_000]);
});

test('a counter reset counts the current value as the delta, never a negative rate', async () => {
  let now = 0;
  const series = new TimeSeries(sourceFor('reset', [1, 1]), { clock: () => (now += 1_000) });
  for (let i = 0; i < 5; i++) recordRequest('reset', 'a', 200, 0.001);
  await series.sample();
  requestsTotal.reset();
  recordRequest('reset', 'a', 200, 0.001);
  recordRequest('reset', 'a', 200, 0.001);
  await series.sample();
  const a = series.points('reset').at(-1)?.variants[0];
  assert.equal(a?.requests, 2);
  assert.ok((a?.rps ?? -1) >= 0);
});

test('shadow agreement is matches over compared answers in the interval; incomparable answers are left out', async () => {
  let now = 0;
  const series = new TimeSeries(sourceFor('shadowed', [1, 0], ['candidate']), { clock: () => (now += 1_000) });
  await series.sample();
  shadowComparisonsTotal.labels({ route: 'shadowed', shadow: 'candidate', result: 'match' }).inc(3);
  shadowComparisonsTotal.labels({ route: 'shadowed', shadow: 'candidate', result: 'mismatch' }).inc(1);
  shadowComparisonsTotal.labels({ route: 'shadowed', shadow: 'candidate', result: 'incomparable' }).inc(5);
  await series.sample();
  await series.sample();
  const [busy, idle] = series.points('shadowed');
  assert.deepEqual(busy?.shadows, [{ name: 'candidate', compared: 4, agreement: 0.75 }]);
  assert.deepEqual(idle?.shadows, [{ name: 'candidate', compared: 0, agreement: null }]);
});

test('a route removed from the config loses its series', async () => {
  let routes: SeriesSource['routes'] = [{ name: 'gone', variants: [{ name: 'a', weight: 1 }], shadows: [] }];
  let now = 0;
  const series = new TimeSeries(() => ({ generation: 1, routes }), { clock: () => (now += 1_000) });
  await series.sample();
  await series.sample();
  assert.equal(series.points('gone').length, 1);
  routes = [];
  await series.sample();
  assert.deepEqual(series.points('gone'), []);
});
