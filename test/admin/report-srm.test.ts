// Sample-ratio mismatch in the report on real sockets: flagged when the override header forces traffic
// onto one variant, not flagged for a healthy 90/10 split of 10 000 distinct keys (assigned by the
// routing code itself) nor of 3 000 keys served through the proxy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pool } from 'undici';
import type { Report } from '../../src/admin/report-model.js';
import { configSchema } from '../../src/config/schema.js';
import { variantForKey } from '../../src/routing/assign.js';
import { RouteTable } from '../../src/routing/route-table.js';
import { sampleRatioMismatch } from '../../src/stats/srm.js';
import { runBounded } from '../helpers/bounded.js';
import { controlChallengerRoute } from '../helpers/routes.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { startUpstream } from '../helpers/upstream.js';

const CONCURRENCY = 16;

async function send(proxy: TestProxy, path: string, headers: Record<string, string>): Promise<{ variant: string; requestId: string }> {
  const res = await fetch(`${proxy.url}${path}`, { headers });
  await res.arrayBuffer();
  assert.equal(res.status, 200);
  return { variant: res.headers.get('x-abproxy-variant') ?? '', requestId: res.headers.get('x-request-id') ?? '' };
}

async function report(proxy: TestProxy, name: string): Promise<Report> {
  const res = await fetch(`${proxy.adminUrl}/admin/report?route=${name}`);
  assert.equal(res.status, 200);
  return (await res.json()) as Report;
}

function variant(r: Report, name: string) {
  const found = r.variants.find((v) => v.name === name);
  assert.ok(found, `variant ${name} in report`);
  return found;
}

test('SRM is flagged when traffic is forced onto one variant through the override header', async () => {
  const upstream = await startUpstream();
  const proxy = await startProxy({ routes: [controlChallengerRoute('forced', [50, 50], upstream.url)] });
  try {
    await runBounded(200, CONCURRENCY, async (i) => {
      await send(proxy, '/forced', { 'x-user': `f-${i}`, 'x-abproxy-variant': 'challenger' });
    });
    const r = await report(proxy, 'forced');
    assert.equal(variant(r, 'challenger').requests, 200);
    assert.equal(variant(r, 'challenger').share, 1);
    assert.equal(r.srm.mismatch, true);
    assert.equal(r.srm.df, 1);
    // All 200 on one side of a 50/50 split: chi-square = 2 * 100² / 100 = 200.
    assert.equal(r.srm.chiSquare, 200);
    assert.match(r.verdict, /not enough feedback yet.*SAMPLE-RATIO MISMATCH/);
  } finally {
    await proxy.close();
    await upstream.close();
  }
});

test('no SRM for a healthy 90/10 split of 10 000 distinct keys (assignment as the data plane does it)', () => {
  const config = configSchema.parse({ routes: [controlChallengerRoute('healthy', [90, 10], 'http://127.0.0.1:9')] });
  const compiled = new RouteTable(config).byName.get('healthy');
  assert.ok(compiled);
  const counts = [0, 0];
  for (let i = 0; i < 10_000; i++) {
    const index = variantForKey(compiled, `key-${i}`).index;
    counts[index] = (counts[index] ?? 0) + 1;
  }
  const srm = sampleRatioMismatch(counts, compiled.variants.map((v) => v.share));
  assert.ok(Math.abs((counts[1] ?? 0) / 10_000 - 0.1) < 0.01, `challenger share ${counts[1]}`);
  assert.equal(srm.mismatch, false, `SRM p = ${srm.pValue}`);
});

test('no SRM in the report for a healthy 90/10 split of 3 000 keys served through the proxy', async () => {
  const upstream = await startUpstream();
  const proxy = await startProxy({ routes: [controlChallengerRoute('healthy', [90, 10], upstream.url)] });
  const pool = new Pool(proxy.url, { connections: CONCURRENCY });
  try {
    await runBounded(3000, CONCURRENCY, async (i) => {
      const res = await pool.request({ method: 'GET', path: '/healthy', headers: { 'x-user': `key-${i}` } });
      await res.body.dump();
      assert.equal(res.statusCode, 200);
    });
    const r = await report(proxy, 'healthy');
    assert.equal(r.requests, 3000);
    const share = variant(r, 'challenger').share ?? 0;
    assert.ok(Math.abs(share - 0.1) < 0.015, `challenger share ${share}`);
    assert.equal(r.srm.mismatch, false, `SRM p = ${r.srm.pValue}`);
    assert.ok(r.srm.pValue !== null && r.srm.pValue >= 0.001);
  } finally {
    await pool.close();
    await proxy.close();
    await upstream.close();
  }
});
