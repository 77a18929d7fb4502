// Metrics are exact after a known sequence of requests: counts per route, variant and code, latency
// counts, upstream failures and unkeyed requests, with every known label set present at zero beforehand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy } from '../helpers/proxy.js';
import { closedPort } from '../helpers/raw-upstream.js';
import { startUpstream } from '../helpers/upstream.js';
import { parseMetrics, sampleValue, samplesOf } from '../helpers/prom-text.js';

test('requests_total, request_duration_seconds, upstream_errors_total and unkeyed_requests_total after a known sequence', async () => {
  const upstream = await startUpstream((req, res) => {
    res.statusCode = Number(req.headers['x-status'] ?? 200);
    res.end('ok');
  });
  const dead = await closedPort();
  const proxy = await startProxy({
    routes: [
      {
        name: 'exact',
        match: { pathPrefix: '/exact' },
        sticky: [{ header: 'x-user' }],
        variants: [
          { name: 'a', target: upstream.url, weight: 50 },
          { name: 'b', target: upstream.url, weight: 50 },
          { name: 'dead', target: `http://127.0.0.1:${dead}`, weight: 0 },
        ],
      },
      { name: 'solo', match: { pathPrefix: '/solo' }, sticky: [{ header: 'x-user' }], variants: [{ name: 'only', target: upstream.url, weight: 1 }] },
    ],
  });
  try {
    const scrape = async () => parseMetrics(await (await fetch(`${proxy.adminUrl}/metrics`)).text());
    const before = await scrape();
    // Known label sets exist at zero before any traffic.
    for (const variant of ['a', 'b', 'dead']) {
      for (const code of ['200', '500', '502', '503', '504']) {
        assert.equal(sampleValue(before, 'abproxy_requests_total', { route: 'exact', variant, code }), 0, `${variant} ${code} at zero`);
      }
      assert.equal(sampleValue(before, 'abproxy_request_duration_seconds_count', { route: 'exact', variant }), 0);
      assert.equal(sampleValue(before, 'abproxy_upstream_errors_total', { route: 'exact', variant, reason: 'refused' }), 0);
      assert.equal(sampleValue(before, 'abproxy_feedback_reward_count', { route: 'exact', variant }), 0);
    }
    assert.equal(sampleValue(before, 'abproxy_unkeyed_requests_total', { route: 'solo' }), 0);
    for (const code of ['414', '431']) assert.equal(sampleValue(before, 'abproxy_requests_total', { route: 'none', variant: 'none', code }), 0, `unrouted ${code} at zero`);
    assert.equal(sampleValue(before, 'abproxy_config_reloads_total', { result: 'rejected' }), 0);

    const send = async (path: string, headers: Record<string, string>) => {
      const res = await fetch(`${proxy.url}${path}`, { headers });
      await res.arrayBuffer();
      return res.status;
    };
    for (let i = 0; i < 3; i++) assert.equal(await send('/exact/x', { 'x-abproxy-variant': 'a', 'x-user': `u${i}` }), 200);
    for (let i = 0; i < 2; i++) assert.equal(await send('/exact/x', { 'x-abproxy-variant': 'b' }), 200);
    assert.equal(await send('/exact/x', { 'x-abproxy-variant': 'b', 'x-status': '503' }), 503);
    assert.equal(await send('/exact/x', { 'x-abproxy-variant': 'a', 'x-status': '404' }), 404);
    assert.equal(await send('/exact/x', { 'x-abproxy-variant': 'dead' }), 502);
    assert.equal(await send('/nowhere', {}), 404);
    assert.equal(await send('/solo', {}), 200);
    assert.equal(await send('/solo', { 'x-user': 'k' }), 200);

    const after = await scrape();
    const requests = (variant: string): Record<string, number> =>
      Object.fromEntries(samplesOf(after, 'abproxy_requests_total', { route: 'exact', variant }).filter((s) => s.value > 0).map((s) => [s.labels.code ?? '', s.value] as const));
    assert.deepEqual(requests('a'), { '200': 3, '404': 1 });
    assert.deepEqual(requests('b'), { '200': 2, '503': 1 });
    assert.deepEqual(requests('dead'), { '502': 1 });
    assert.equal(sampleValue(after, 'abproxy_request_duration_seconds_count', { route: 'exact', variant: 'a' }), 4);
    assert.equal(sampleValue(after, 'abproxy_request_duration_seconds_count', { route: 'exact', variant: 'b' }), 3);
    assert.equal(sampleValue(after, 'abproxy_request_duration_seconds_bucket', { route: 'exact', variant: 'b', le: '+Inf' }), 3);
    assert.equal(sampleValue(after, 'abproxy_upstream_errors_total', { route: 'exact', variant: 'dead', reason: 'refused' }), 1);
    assert.equal(samplesOf(after, 'abproxy_upstream_errors_total', { route: 'exact' }).reduce((s, x) => s + x.value, 0), 1, 'only the refused one');
    assert.equal(sampleValue(after, 'abproxy_requests_total', { route: 'none', variant: 'none', code: '404' }), 1);
    assert.equal(sampleValue(after, 'abproxy_unkeyed_requests_total', { route: 'solo' }), 1);
    assert.equal(sampleValue(after, 'abproxy_requests_total', { route: 'solo', variant: 'only', code: '200' }), 2);
    assert.equal(sampleValue(after, 'abproxy_variant_weight', { route: 'exact', variant: 'a' }), 50);
    assert.equal(sampleValue(after, 'abproxy_variant_weight', { route: 'exact', variant: 'dead' }), 0);
    assert.equal(sampleValue(after, 'abproxy_config_generation'), 1);
    // No user key ever becomes a label value.
    assert.ok(!after.some((s) => Object.values(s.labels).some((v) => /^u\d$|^k$/.test(v))), 'sticky keys never appear in labels');
  } finally {
    await proxy.close();
    await upstream.close();
  }
});
