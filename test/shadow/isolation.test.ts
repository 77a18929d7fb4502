// A shadow never delays or fails the primary: refusing, hanging, 2 s slow and 500-answering shadow
// targets leave the primary's status, body and latency as they are with shadows off (same run, generous margins).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { shadowRequestsTotal } from '../../src/metrics/registry.js';
import { startProxy } from '../helpers/proxy.js';
import { closedPort } from '../helpers/raw-upstream.js';
import { startUpstream } from '../helpers/upstream.js';
import { percentile, runLoad, waitFor } from '../helpers/load.js';
import { metricValue } from '../helpers/metric-value.js';

const ANSWER = JSON.stringify({ model_name: 'm', outputs: [{ name: 'p', shape: [1, 1], datatype: 'FP32', data: [0.25] }] });
const REQUEST = JSON.stringify({ inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP32', data: [1, 2] }] });

test('refusing, hanging, slow (2 s) and 500 shadows leave the primary unchanged', async (t) => {
  const primary = await startUpstream((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(ANSWER);
  });
  const hanging = await startUpstream(() => undefined);
  const slow = await startUpstream((_req, res) => {
    const timer = setTimeout(() => res.end(ANSWER), 2_000);
    res.on('close', () => clearTimeout(timer));
  });
  const failing = await startUpstream((_req, res) => {
    res.statusCode = 500;
    res.end('{"error":"boom"}');
  });
  const refused = await closedPort();
  const shadowRoute = (name: string, target: string) => ({
    name,
    match: { pathPrefix: `/${name}` },
    variants: [{ name: 'champion', target: primary.url, weight: 1 }],
    shadows: [{ name: 'candidate', target, timeoutMs: 3_000 }],
  });
  const proxy = await startProxy({
    shadowLog: { path: join(mkdtempSync(join(tmpdir(), 'abproxy-shadow-')), 'shadow.jsonl'), maxBytes: 1_048_576 },
    routes: [
      { name: 'iso-off', match: { pathPrefix: '/iso-off' }, variants: [{ name: 'champion', target: primary.url, weight: 1 }] },
      shadowRoute('iso-refuse', `http://127.0.0.1:${refused}`),
      shadowRoute('iso-hang', hanging.url),
      shadowRoute('iso-slow', slow.url),
      shadowRoute('iso-500', failing.url),
    ],
  });
  t.after(async () => {
    await proxy.close();
    await Promise.all([primary.close(), hanging.close(), slow.close(), failing.close()]);
  });

  // Each shadowed run goes side by side with a shadows-off run, so both see the same machine load.
  const load = { requests: 100, concurrency: 5, body: REQUEST };
  for (const name of ['iso-refuse', 'iso-hang', 'iso-slow', 'iso-500']) {
    const [off, run] = await Promise.all([runLoad(proxy.url, '/iso-off/infer', load), runLoad(proxy.url, `/${name}/infer`, load)]);
    assert.equal(off.errors + run.errors, 0, `${name}: client errors`);
    assert.deepEqual(new Set(run.statuses), new Set([200]), `${name}: statuses`);
    assert.deepEqual(new Set(run.bodies), new Set([ANSWER]), `${name}: bodies`);
    const [p50, p99, offP50, offP99] = [percentile(run.latenciesMs, 50), percentile(run.latenciesMs, 99), percentile(off.latenciesMs, 50), percentile(off.latenciesMs, 99)];
    // Waiting for a shadow would add >= 2 s (slow answers at 2 s, hang times out at 3 s); the margins
    // only absorb noise from a shared machine.
    const detail = `${name}: p50 ${p50.toFixed(1)} / p99 ${p99.toFixed(1)} ms vs ${offP50.toFixed(1)} / ${offP99.toFixed(1)} ms with shadows off`;
    assert.ok(p99 < Math.max(2 * offP99, offP99 + 300), detail);
    assert.ok(p50 < Math.max(2 * offP50, offP50 + 100), detail);
  }

  const count = (route: string, outcome: string) => metricValue(shadowRequestsTotal, { route, shadow: 'candidate', outcome });
  const settled = (route: string) => proxy.proxy.shadows.inFlight(route, 'candidate') === 0;
  assert.ok(await waitFor(() => settled('iso-refuse') && settled('iso-500'), 5_000), 'refused and failing copies end at once');
  // They fail as errors; on a loaded machine the shadow worker, below normal priority (shadowPriority:
  // yield), may report them late enough that copies beyond maxInFlight are dropped: each is counted once.
  for (const route of ['iso-refuse', 'iso-500']) {
    const errors = await count(route, 'error');
    assert.ok(errors > 0, `${route}: copies fail as errors`);
    assert.equal(errors + (await count(route, 'dropped')), 100, `${route}: every copy counted`);
  }
  // Copies beyond maxInFlight (64) are dropped; the rest finish (slow) or time out (hang) in the background.
  assert.ok(await waitFor(() => proxy.proxy.shadows.inFlight('iso-hang', 'candidate') === 0 && proxy.proxy.shadows.inFlight('iso-slow', 'candidate') === 0, 15_000));
  const hangTimeouts = await count('iso-hang', 'timeout');
  assert.ok(hangTimeouts > 0, 'hanging copies time out');
  assert.equal(hangTimeouts + (await count('iso-hang', 'dropped')), 100);
  const slowOk = await count('iso-slow', 'ok');
  assert.ok(slowOk > 0, 'slow copies complete');
  // On a loaded machine a 2 s answer can miss the 3 s timeout; every copy is still accounted for.
  assert.equal(slowOk + (await count('iso-slow', 'timeout')) + (await count('iso-slow', 'dropped')), 100);
  assert.equal(primary.received.length, 800, 'every primary request reached the champion once');
});
