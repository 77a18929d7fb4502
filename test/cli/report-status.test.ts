// `abproxy report` and `abproxy status` as users run them, against a real proxy's admin API: the table,
// the JSON, the verdict, rates from two samples, and exit 1 with a clear message on every failure.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Report } from '../../src/admin/report-model.js';
import { formatStatus, type StatusDocument } from '../../src/cli/status.js';
import { runCli } from '../helpers/cli.js';
import { fraudSplitRoute } from '../helpers/routes.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

let upstream: TestUpstream;
let proxy: TestProxy;

before(async () => {
  upstream = await startUpstream();
  proxy = await startProxy({
    routes: [fraudSplitRoute(upstream.url, upstream.url, 80)],
  });
  for (let i = 0; i < 40; i++) {
    const res = await fetch(`${proxy.url}/v2/models/fraud/infer`, { method: 'POST', headers: { 'x-session-id': `s-${i}` }, body: '{}' });
    await res.arrayBuffer();
    const variant = res.headers.get('x-abproxy-variant') ?? '';
    const fb = await fetch(`${proxy.adminUrl}/feedback`, { method: 'POST', body: JSON.stringify({ route: 'fraud', variant, reward: (i % 3) / 2 }) });
    await fb.arrayBuffer();
  }
});

after(async () => {
  await proxy.close();
  await upstream.close();
});

test('abproxy report ROUTE --admin URL prints the table, the sample-ratio line and the verdict', async () => {
  const result = await runCli(['report', 'fraud', '--admin', proxy.adminUrl]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^route fraud: 40 requests/);
  assert.match(result.stdout, /variant\s+requests\s+share\s+configured\s+errors\s+p50 ms\s+p95 ms\s+p99 ms\s+feedback/);
  assert.match(result.stdout, /champion \(control\)\s+\d+\s+[\d.]+%\s+80\.0%/);
  assert.match(result.stdout, /challenger\s+\d+\s+[\d.]+%\s+20\.0%/);
  assert.match(result.stdout, /sample ratio: chi-square [\d.]+, df 1, p = [\d.e-]+ \(mismatch below 0\.001\): ok/);
  assert.match(result.stdout, /verdict: .*no sample-ratio mismatch/);
});

test('abproxy report --json prints the admin report as JSON', async () => {
  const result = await runCli(['report', 'fraud', '--admin', proxy.adminUrl, '--json']);
  assert.equal(result.code, 0, result.stderr);
  const report = JSON.parse(result.stdout) as Report;
  assert.equal(report.route, 'fraud');
  assert.equal(report.requests, 40);
  assert.deepEqual(report.variants.map((v) => v.name), ['champion', 'challenger']);
  assert.equal(report.variants.reduce((s, v) => s + v.feedback, 0), 40);
});

test('abproxy report exits 1 with a clear message: unknown route, unreachable admin', async () => {
  const unknown = await runCli(['report', 'nope', '--admin', proxy.adminUrl]);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /404 no route named "nope"/);
  const closed = await startUpstream();
  const deadUrl = closed.url;
  await closed.close();
  const unreachable = await runCli(['report', 'fraud', '--admin', deadUrl]);
  assert.equal(unreachable.code, 1);
  assert.match(unreachable.stderr, /cannot reach the admin API at http:\/\/127\.0\.0\.1:\d+: connection refused \(is abproxy running, with this admin address\?\)/);
});

test('abproxy status shows every route with weights, request rate, errors, p99', async () => {
  const result = await runCli(['status', '--admin', proxy.adminUrl, '--interval-ms', '200']);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^config generation 1, up \d+ s, rates over [\d.]+ s/);
  assert.match(result.stdout, /\nfraud\n/);
  assert.match(result.stdout, /variant\s+weight\s+share\s+req\/s\s+errors\s+p99 ms/);
  assert.match(result.stdout, /champion\s+80\s+80\.0%\s+0\.0\s+-\s+[\d.]+/);
});

test('status rates and error rates come from the difference of two samples', () => {
  const variant = (requests: number, errorRate: number | null) => ({
    name: 'a', weight: 1, requests, share: 1, configuredShare: 1, errorRate, p50Ms: 1, p95Ms: 2, p99Ms: 3,
    feedback: 0, rewardMean: null, rewardCi95: null, lift: null, pValue: null, zPValue: null,
  });
  const doc = (requests: number, errorRate: number): StatusDocument => ({
    generation: 2,
    uptimeSeconds: 10,
    routes: [
      {
        route: 'r', requests, variants: [variant(requests, errorRate)], shadows: [{ name: 's', comparisons: 10, match: 9, mismatch: 1, incomparable: 0, agreementRate: 0.9, dropped: 0 }],
        srm: { chiSquare: null, df: 0, pValue: null, mismatch: false, threshold: 0.001 }, verdict: '',
      },
    ],
  });
  // 100 -> 300 requests in 2 s; errors 10 -> 30 (10% of 300): 100 req/s, 10% over the window.
  const text = formatStatus(doc(100, 0.1), doc(300, 0.1), 2);
  assert.match(text, /a\s+1\s+100\.0%\s+100\.0\s+10\.00%\s+3\.0/);
  assert.match(text, /shadow s: agreement 90\.0% of 10 compared/);
});
