// The experiment report end to end on real sockets: the acceptance scenario (2 000 keyed requests on
// 50/50, rewards 0.50 vs 0.56 -> challenger ahead, p < 0.05, no SRM; 300 forced onto control -> SRM),
// shadow agreement, and the report's errors and shape.
import { test } from 'node:test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { Pool } from 'undici';
import type { Report } from '../../src/admin/report-model.js';
import { runBounded } from '../helpers/bounded.js';
import { seededRandom } from '../helpers/prng.js';
import { controlChallengerRoute } from '../helpers/routes.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { startUpstream } from '../helpers/upstream.js';

const CONCURRENCY = 16;

async function send(pool: Pool, path: string, headers: Record<string, string>): Promise<{ variant: string; requestId: string }> {
  const res = await pool.request({ method: 'GET', path, headers });
  await res.body.dump();
  assert.equal(res.statusCode, 200);
  return { variant: String(res.headers['x-abproxy-variant']), requestId: String(res.headers['x-request-id']) };
}

async function report(proxy: TestProxy, name: string): Promise<Report> {
  const res = await fetch(`${proxy.adminUrl}/admin/report?route=${name}`);
  assert.equal(res.status, 200);
  return (await res.json()) as Report;
}

/** Fisher–Yates with the given random source. */
function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}

function variant(r: Report, name: string) {
  const found = r.variants.find((v) => v.name === name);
  assert.ok(found, `variant ${name} in report`);
  return found;
}

test('acceptance: challenger ahead with p < 0.05 and no SRM; 300 forced onto control raise the SRM flag', async (t) => {
  const upstream = await startUpstream();
  const proxy = await startProxy({ routes: [controlChallengerRoute('accept', [50, 50], upstream.url)] });
  const pool = new Pool(proxy.url, { connections: CONCURRENCY });
  try {
    // Serve first, then reward: each variant's rewards are drawn without replacement from an urn holding
    // exactly its mean share of 1s (shuffled by a seeded PRNG), so the realized means are 0.50 and 0.56
    // for every seed. Independent Bernoulli draws would give this test only ~78% power at ~1 000 per arm.
    const served: { variant: string; requestId: string }[] = [];
    await runBounded(2000, CONCURRENCY, async (i) => {
      served[i] = await send(pool, '/accept/predict', { 'x-user': `user-${i}` });
    });
    const random = seededRandom(20261122);
    const urns = new Map<string, number[]>();
    for (const [name, mean] of [['control', 0.5], ['challenger', 0.56]] as const) {
      const count = served.filter((s) => s.variant === name).length;
      urns.set(name, shuffle(Array.from({ length: count }, (_, k) => (k < Math.round(mean * count) ? 1 : 0)), random));
    }
    await runBounded(2000, CONCURRENCY, async (i) => {
      const { variant: name, requestId } = served[i] ?? { variant: '', requestId: '' };
      const reward = urns.get(name)?.pop();
      assert.ok(reward !== undefined, `a reward for ${name}`);
      const res = await pool.request({ method: 'POST', path: '/_abproxy/feedback', body: JSON.stringify({ route: 'accept', requestId, reward }) });
      await res.body.dump();
      assert.equal(res.statusCode, 200);
    });

    const healthy = await report(proxy, 'accept');
    t.diagnostic(`before: ${healthy.verdict}`);
    const control = variant(healthy, 'control');
    const challenger = variant(healthy, 'challenger');
    assert.equal(healthy.requests, 2000);
    assert.equal(control.requests + challenger.requests, 2000);
    assert.equal(control.feedback + challenger.feedback, 2000);
    assert.equal(control.configuredShare, 0.5);
    assert.ok(challenger.rewardMean !== null && control.rewardMean !== null && challenger.rewardMean > control.rewardMean, 'challenger ahead');
    assert.ok(challenger.lift !== null && challenger.lift > 0);
    assert.ok(challenger.pValue !== null && challenger.pValue < 0.05, `Welch p = ${challenger.pValue}`);
    assert.ok(challenger.zPValue !== null && challenger.zPValue < 0.05, `z-test p = ${challenger.zPValue} (rewards are 0/1)`);
    assert.equal(control.pValue, null, 'the control is not tested against itself');
    assert.ok(control.rewardCi95 && control.rewardCi95[0] < 0.5 + 0.05 && control.rewardCi95[1] > 0.5 - 0.05);
    assert.equal(healthy.srm.mismatch, false, `SRM p = ${healthy.srm.pValue}`);
    assert.match(healthy.verdict, /^challenger \+\d+\.\d% reward, p = [0-9.e-]+, no sample-ratio mismatch$/);
    for (const v of [control, challenger]) {
      assert.ok(v.p50Ms !== null && v.p95Ms !== null && v.p99Ms !== null && v.p50Ms <= v.p95Ms && v.p95Ms <= v.p99Ms, 'latency quantiles ordered');
      assert.equal(v.errorRate, 0);
    }

    await runBounded(300, CONCURRENCY, async (i) => {
      const served = await send(pool, '/accept/predict', { 'x-user': `extra-${i}`, 'x-abproxy-variant': 'control' });
      assert.equal(served.variant, 'control');
    });
    const skewed = await report(proxy, 'accept');
    t.diagnostic(`after 300 forced: ${skewed.verdict}`);
    assert.equal(skewed.requests, 2300);
    assert.equal(skewed.srm.mismatch, true, `SRM p = ${skewed.srm.pValue}`);
    assert.ok(skewed.srm.pValue !== null && skewed.srm.pValue < 0.001);
    assert.match(skewed.verdict, /SAMPLE-RATIO MISMATCH/);
  } finally {
    await pool.close();
    await proxy.close();
    await upstream.close();
  }
});

test('report errors and shape: missing route parameter, unknown route, zero traffic', async () => {
  const upstream = await startUpstream();
  const proxy = await startProxy({ routes: [controlChallengerRoute('empty', [3, 1], upstream.url)] });
  try {
    assert.equal((await fetch(`${proxy.adminUrl}/admin/report`)).status, 400);
    const unknown = await fetch(`${proxy.adminUrl}/admin/report?route=nope`);
    assert.equal(unknown.status, 404);
    assert.match(((await unknown.json()) as { error: string }).error, /no route named "nope"/);
    const r = await report(proxy, 'empty');
    assert.equal(r.route, 'empty');
    assert.equal(r.requests, 0);
    assert.deepEqual(
      r.variants.map((v) => [v.name, v.weight, v.configuredShare, v.requests, v.share, v.errorRate, v.p99Ms, v.feedback, v.rewardMean, v.rewardCi95, v.lift, v.pValue]),
      [
        ['control', 3, 0.75, 0, null, null, null, 0, null, null, null, null],
        ['challenger', 1, 0.25, 0, null, null, null, 0, null, null, null, null],
      ],
    );
    assert.deepEqual(r.srm, { chiSquare: null, df: 1, pValue: null, mismatch: false, threshold: 0.001 });
    assert.deepEqual(r.shadows, []);
    const status = (await (await fetch(`${proxy.adminUrl}/admin/status`)).json()) as { generation: number; routes: Report[] };
    assert.equal(status.generation, 1);
    assert.deepEqual(status.routes.map((x) => x.route), ['empty']);
  } finally {
    await proxy.close();
    await upstream.close();
  }
});

test('shadow agreement in the report: a shadow that answers like the primary agrees, one that differs does not', async () => {
  const upstream = await startUpstream((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end('{"score": 0.25}');
  });
  const other = await startUpstream((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end('{"score": 0.75}');
  });
  const proxy = await startProxy({
    shadowLog: { path: join(mkdtempSync(join(tmpdir(), 'abproxy-report-')), 'shadow.jsonl') },
    routes: [
      {
        ...controlChallengerRoute('shadowed', [1, 1], upstream.url),
        shadows: [
          { name: 'twin', target: upstream.url },
          { name: 'different', target: other.url },
        ],
      },
    ],
  });
  try {
    for (let i = 0; i < 10; i++) {
      const res = await fetch(`${proxy.url}/shadowed`, { method: 'POST', headers: { 'x-user': `s-${i}`, 'content-type': 'application/json' }, body: '{"x": 1}' });
      await res.arrayBuffer();
    }
    let r = await report(proxy, 'shadowed');
    // Shadows are never awaited: poll (bounded) until all 20 comparisons are counted.
    for (let i = 0; i < 100 && r.shadows.reduce((sum, s) => sum + s.comparisons, 0) < 20; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      r = await report(proxy, 'shadowed');
    }
    assert.deepEqual(
      r.shadows.map((s) => [s.name, s.comparisons, s.match, s.mismatch, s.agreementRate]),
      [
        ['twin', 10, 10, 0, 1],
        ['different', 10, 0, 10, 0],
      ],
    );
  } finally {
    await proxy.close();
    await upstream.close();
    await other.close();
  }
});
