// The report's figures come from metrics JSON: this process's registry, or several processes' registries
// merged (as a cluster's primary merges its workers'), where requests, latency buckets and rewards add up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AggregatorRegistry } from 'prom-client';
import { buildReport } from '../../src/admin/report-model.js';
import { configSchema } from '../../src/config/schema.js';
import { recordReward } from '../../src/metrics/feedback-metrics.js';
import { recordRequest } from '../../src/metrics/request-metrics.js';
import { localMetrics, readSnapshot, type MetricsJson } from '../../src/metrics/snapshot.js';
import { RouteTable } from '../../src/routing/route-table.js';

const routes = new RouteTable(
  configSchema.parse({
    routes: [
      {
        name: 'merged',
        match: { pathPrefix: '/m' },
        variants: [
          { name: 'control', target: 'http://127.0.0.1:9', weight: 1 },
          { name: 'challenger', target: 'http://127.0.0.1:9', weight: 1 },
        ],
      },
    ],
  }),
);

test('one process: requests by code, 5xx, latency buckets and rewards read back exactly', async () => {
  for (let i = 0; i < 6; i++) recordRequest('merged', 'control', 200, 0.0015);
  recordRequest('merged', 'control', 502, 0.003);
  for (let i = 0; i < 7; i++) recordRequest('merged', 'challenger', 200, 0.0008);
  for (const reward of [1, 0, 1, 1]) recordReward('merged', 'control', reward);
  for (const reward of [1, 1, 1, 0]) recordReward('merged', 'challenger', reward);
  const figures = (await readSnapshot()).get('merged');
  assert.ok(figures);
  const control = figures.variants.get('control');
  assert.ok(control);
  assert.equal(control.requests, 7);
  assert.equal(control.errors, 1);
  assert.deepEqual(control.feedback, { count: 4, sum: 3, sumSquares: 3 });
  assert.equal(control.nonBinaryRewards, 0);
  assert.deepEqual(control.latency.filter((b) => b.le <= 0.005).map((b) => [b.le, b.count]), [
    [0.00025, 0],
    [0.0005, 0],
    [0.001, 0],
    [0.002, 6],
    [0.005, 7],
  ]);
});

test('merged registries of two processes: counts double, shares and means stay, the report sees both', async () => {
  const one = await localMetrics();
  const merged = (): Promise<MetricsJson> => AggregatorRegistry.aggregate([one, one]).getMetricsAsJSON();
  const route = routes.byName.get('merged');
  assert.ok(route);
  const single = buildReport(route, (await readSnapshot()).get('merged'));
  const both = buildReport(route, (await readSnapshot(merged)).get('merged'));
  assert.equal(both.requests, 2 * single.requests);
  for (const [index, variant] of both.variants.entries()) {
    const alone = single.variants[index];
    assert.ok(alone);
    assert.equal(variant.requests, 2 * alone.requests);
    assert.equal(variant.feedback, 2 * alone.feedback);
    assert.equal(variant.share, alone.share);
    assert.equal(variant.rewardMean, alone.rewardMean);
    assert.equal(variant.errorRate, alone.errorRate);
    assert.equal(variant.p50Ms, alone.p50Ms);
  }
});
