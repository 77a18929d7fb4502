// Inference never blocks the data plane: while a ~50 ms model runs back to back in the worker pool,
// proxied requests on another route are delayed by a few milliseconds at most. A run is bounded like a
// remote upstream: past limits.upstreamTimeoutMs it answers 504.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { stringify } from 'yaml';
import { startProxy } from '../helpers/proxy.js';
import { startUpstream } from '../helpers/upstream.js';
import { modelDir, slowModel } from '../helpers/onnx-models.js';

const slowBody = JSON.stringify({ inputs: [{ name: 'x', shape: [1], datatype: 'FP32', data: [1] }] });

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

test('a ~50 ms model does not delay concurrent proxied requests on another route', async () => {
  const upstream = await startUpstream();
  const proxy = await startProxy({
    modelPool: { workers: 1 },
    models: { slow: { path: slowModel(modelDir()) } },
    routes: [
      { name: 'web', match: { pathPrefix: '/web' }, variants: [{ name: 'origin', target: upstream.url, weight: 1 }] },
      { name: 'slow', match: { pathPrefix: '/v2/models/slow-route' }, variants: [{ name: 'model', target: 'model:slow', weight: 1 }] },
    ],
  });
  const timeWeb = async (): Promise<number> => {
    const started = performance.now();
    const res = await fetch(`${proxy.url}/web/ping`);
    await res.arrayBuffer();
    assert.equal(res.status, 200);
    return performance.now() - started;
  };
  try {
    for (let i = 0; i < 10; i++) await timeWeb(); // warm the connection pools
    const idle: number[] = [];
    for (let i = 0; i < 30; i++) idle.push(await timeWeb());

    let stop = false;
    const modelMs: number[] = [];
    const modelLoad = Array.from({ length: 2 }, async () => {
      for (let i = 0; i < 500 && !stop; i++) {
        const started = performance.now();
        const res = await fetch(`${proxy.url}/v2/models/slow-route/infer`, { method: 'POST', body: slowBody });
        assert.equal(res.status, 200);
        await res.arrayBuffer();
        modelMs.push(performance.now() - started);
      }
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const lag = monitorEventLoopDelay({ resolution: 1 });
    lag.enable();
    const busy: number[] = [];
    for (let i = 0; i < 30; i++) busy.push(await timeWeb());
    lag.disable();
    stop = true;
    await Promise.all(modelLoad);

    const slowRun = median(modelMs);
    assert.ok(slowRun >= 25, `the model really is slow (median ${slowRun.toFixed(1)} ms a request)`);
    // The proxy runs in this process: a run on the main thread would stall its event loop for the whole run.
    const lagP90Ms = lag.percentile(90) / 1e6;
    assert.ok(lagP90Ms < slowRun / 2, `event loop p90 delay ${lagP90Ms.toFixed(1)} ms while ${slowRun.toFixed(0)} ms model requests ran`);
    const delay = median(busy) - median(idle);
    // In-thread, each proxied request would wait for the run in progress (about half a run on average, with
    // two model clients most of a run). Off-thread, what remains is CPU contention: on two cores the model's
    // threads and this process share them (a 10 ms delay was seen beside a 50 ms model). The bound stays
    // below the half run that blocking would add.
    const allowedMs = Math.max(10, slowRun * 0.4);
    assert.ok(delay < allowedMs, `proxied requests were delayed by ${delay.toFixed(2)} ms, allowed ${allowedMs.toFixed(0)} (median idle ${median(idle).toFixed(2)} ms, busy ${median(busy).toFixed(2)} ms)`);
  } finally {
    await proxy.close();
    await upstream.close();
  }
});

test('a run longer than limits.upstreamTimeoutMs answers 504 at the bound, as a remote upstream would; a longer bound (reloaded) lets it answer', async () => {
  const routes = [{ name: 'slow', match: { pathPrefix: '/v2/models/slow-route' }, variants: [{ name: 'model', target: 'model:slow', weight: 1 }] }];
  const models = { slow: { path: slowModel(modelDir()) } };
  const proxy = await startProxy({ modelPool: { workers: 1 }, limits: { upstreamTimeoutMs: 5 }, models, routes });
  try {
    const started = performance.now();
    const res = await fetch(`${proxy.url}/v2/models/slow-route/infer`, { method: 'POST', body: slowBody });
    const answer = (await res.json()) as { error: string; code: string };
    assert.equal(res.status, 504);
    assert.deepEqual(answer, { error: 'model "slow" did not answer within 5 ms', code: 'ABPROXY_UPSTREAM_TIMEOUT' });
    assert.ok(performance.now() - started < 1_000, 'answered at the bound, not when the run ended');

    writeFileSync(proxy.configPath, stringify({ listen: '127.0.0.1:0', admin: '127.0.0.1:0', modelPool: { workers: 1 }, models, routes }));
    assert.equal(proxy.proxy.reloader.reload('SIGHUP').result, 'success');
    const again = await fetch(`${proxy.url}/v2/models/slow-route/infer`, { method: 'POST', body: slowBody });
    assert.equal(again.status, 200, 'the default 30 s bound lets the run answer');
    await again.arrayBuffer();
  } finally {
    await proxy.close();
  }
});
