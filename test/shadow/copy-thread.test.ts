// shadowCopies: HTTP copies sent from the shadow worker thread or from the data plane's thread behave
// the same: the copy arrives as sent, the exchange is compared and logged, maxInFlight bounds the copies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { shadowComparisonsTotal, shadowRequestsTotal } from '../../src/metrics/registry.js';
import type { ShadowLogRecord } from '../../src/shadow/log-record.js';
import { metricValue } from '../helpers/metric-value.js';
import { runLoad, waitFor } from '../helpers/load.js';
import { startProxy } from '../helpers/proxy.js';
import { delayedAnswer, startUpstream } from '../helpers/upstream.js';

const ANSWER = JSON.stringify({ model_name: 'm', outputs: [{ name: 'score', shape: [1, 1], datatype: 'FP32', data: [0.25] }] });

for (const from of ['main', 'worker'] as const) {
  test(`shadowCopies ${from}: the copy is sent, compared and logged; maxInFlight bounds the copies`, async (t) => {
    const primary = await startUpstream((_req, res) => res.end(ANSWER));
    const held = delayedAnswer(ANSWER, 50);
    const shadow = await startUpstream(held.handler);
    const path = join(mkdtempSync(join(tmpdir(), 'abproxy-copies-')), 'shadow.jsonl');
    const route = `from-${from}`;
    const proxy = await startProxy({
      shadowCopies: from,
      shadowLog: { path, maxBytes: 1_048_576 },
      routes: [{ name: route, match: { pathPrefix: `/${route}` }, variants: [{ name: 'champion', target: primary.url, weight: 1 }], shadows: [{ name: 'candidate', target: shadow.url, maxInFlight: 3 }] }],
    });
    t.after(async () => {
      await proxy.close();
      await Promise.all([primary.close(), shadow.close()]);
    });

    const res = await fetch(`${proxy.url}/${route}/infer`, { method: 'POST', body: '{"inputs":[]}', headers: { 'x-request-id': `one-${from}` } });
    assert.equal(await res.text(), ANSWER);
    assert.ok(await waitFor(() => proxy.proxy.shadows.log?.written === 1, 5_000), 'compared and logged');
    const [record] = readFileSync(path, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as ShadowLogRecord);
    assert.equal(record?.requestId, `one-${from}`);
    assert.equal(record?.shadows[0]?.outcome, 'ok');
    assert.equal(record?.shadows[0]?.comparison?.result, 'match');
    assert.equal(shadow.received[0]?.headers['x-abproxy-shadow'], `${route}/candidate`);
    assert.equal(shadow.received[0]?.body.toString(), '{"inputs":[]}');
    assert.equal(await metricValue(shadowComparisonsTotal, { route, shadow: 'candidate', result: 'match' }), 1);

    const run = await runLoad(proxy.url, `/${route}/infer`, { requests: 60, concurrency: 30, body: '{"inputs":[]}' });
    assert.deepEqual(new Set(run.statuses), new Set([200]));
    assert.ok(await waitFor(() => proxy.proxy.shadows.inFlight(route, 'candidate') === 0, 10_000));
    const ok = await metricValue(shadowRequestsTotal, { route, shadow: 'candidate', outcome: 'ok' });
    const dropped = await metricValue(shadowRequestsTotal, { route, shadow: 'candidate', outcome: 'dropped' });
    assert.ok(held.peak() <= 3, `the shadow saw ${held.peak()} copies at once`);
    assert.equal(ok + dropped, 61);
    assert.equal(shadow.received.length, ok);
    assert.ok(dropped > 0, 'copies beyond maxInFlight were dropped');
  });
}
