// Inference never blocks the data plane: while a ~50 ms model runs back to back in the worker pool,
// proxied requests on another route are delayed by a few milliseconds at most.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
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
    const busy: number[] = [];
    for (let i = 0; i < 30; i++) busy.push(await timeWeb());
    stop = true;
    await Promise.all(modelLoad);

    const slowRun = median(modelMs);
    assert.ok(slowRun >= 25, `the model really is slow (median ${slowRun.toFixed(1)} ms a request)`);
    const delay = median(busy) - median(idle);
    // In-thread, each proxied request would wait for a run in progress (~25 ms on average).
    assert.ok(delay < 8, `proxied requests were delayed by ${delay.toFixed(2)} ms (median idle ${median(idle).toFixed(2)} ms, busy ${median(busy).toFixed(2)} ms)`);
  } finally {
    await proxy.close();
    await upstream.close();
  }
});
