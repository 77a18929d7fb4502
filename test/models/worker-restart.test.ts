// A model worker that cannot start (its native binding fails to load) is started again after a growing
// delay, not as fast as it dies: a model added by a config reload fails to load and answers 503, the
// other routes keep serving, and the process does not spin restarting the worker. One that crashes
// mid-run fails only the runs it held; the next loads the live model again and answers the same.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { envWithPreload, spawnServe } from '../helpers/cli.js';
import { writeConfig } from '../helpers/proxy.js';
import { startUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait-for.js';

const preload = fileURLToPath(new URL('../fixtures/model-worker-fault.cjs', import.meta.url));
const model = fileURLToPath(new URL('../../models/fraud-a.onnx', import.meta.url));

test('a model worker that dies as it starts restarts at once, then after 1 s, 2 s ...; the other routes keep serving', async () => {
  const upstream = await startUpstream();
  const web = { name: 'web', match: { pathPrefix: '/web' }, variants: [{ name: 'origin', target: upstream.url, weight: 1 }] };
  const scored = { name: 'fraud', match: { pathPrefix: '/v2/models/fraud' }, variants: [{ name: 'model', target: 'model:fraud', weight: 1 }] };
  const configPath = writeConfig({ modelPool: { workers: 1 }, routes: [web] });
  const serve = await spawnServe(configPath, [], 30_000, envWithPreload(preload));
  try {
    // Each worker that started and died logs its cause, with the time.
    const exits = () =>
      serve
        .output()
        .split('\n')
        .filter((line) => line.includes('native addons cannot load in this thread'))
        .map((line) => Date.parse((JSON.parse(line) as { time: string }).time));
    writeFileSync(configPath, stringify({ listen: '127.0.0.1:0', admin: '127.0.0.1:0', modelPool: { workers: 1 }, models: { fraud: { path: model } }, routes: [web, scored] }));
    await waitFor(() => /cannot load .*fraud-a\.onnx: model worker exited \(code 1\)/.test(serve.output()), 'the added model to fail to load', 20_000);
    await waitFor(() => exits().length >= 3, 'a third worker to die', 20_000);
    await sleep(1_500); // within the 2 s the third waits
    const times = exits();
    assert.equal(times.length, 3, `workers died at ${times.map((t) => t - (times[0] ?? 0)).join(', ')} ms (restarted as it died, one makes hundreds)`);
    assert.ok((times[2] ?? 0) - (times[1] ?? 0) >= 950, 'the third worker started 1 s after the second died');
    assert.match(serve.output(), /model worker exited \(code 1\); it starts again now/);
    assert.match(serve.output(), /starts again in 1 s/);
    assert.match(serve.output(), /starts again in 2 s/);
    const res = await fetch(`http://127.0.0.1:${serve.port}/web/ping`);
    assert.equal(res.status, 200, 'the running config still serves');
    await res.arrayBuffer();
    const infer = await fetch(`http://127.0.0.1:${serve.port}/v2/models/fraud/infer`, { method: 'POST', body: '{"inputs":[]}' });
    assert.equal(infer.status, 503, 'the model that could not load answers 503');
    assert.equal(((await infer.json()) as { code?: string }).code, 'ABPROXY_MODEL_NOT_READY');
  } finally {
    serve.kill();
    await serve.exited;
    await upstream.close();
  }
});

test('a model worker that crashes mid-run fails only its runs; the next loads the model again and answers the same', async () => {
  const scored = { name: 'fraud', match: { pathPrefix: '/v2/models/fraud' }, variants: [{ name: 'model', target: 'model:fraud', weight: 1 }] };
  const configPath = writeConfig({ modelPool: { workers: 1 }, models: { fraud: { path: model } }, routes: [scored] });
  const serve = await spawnServe(configPath, [], 30_000, { ...envWithPreload(preload), MODEL_WORKER_CRASH_AFTER_MS: '4000' });
  try {
    await waitFor(async () => (await fetch(`http://127.0.0.1:${serve.adminPort}/readyz`)).status === 200, 'the model to load', 20_000);
    const body = JSON.stringify({ inputs: [{ name: 'transaction', shape: [1, 29], datatype: 'FP32', data: new Array(29).fill(0.25) }] });
    const outputs = new Set<number>();
    const failures = new Set<string>();
    let afterRestart = 0;
    const deadline = Date.now() + 20_000;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (afterRestart < 40 && Date.now() < deadline) {
          const restarted = serve.output().includes('it starts again now');
          const res = await fetch(`http://127.0.0.1:${serve.port}/v2/models/fraud/infer`, { method: 'POST', body });
          const json = (await res.json()) as { outputs?: { data: number[] }[]; code?: string };
          if (res.status !== 200) failures.add(`${res.status} ${json.code}`);
          else if (restarted) afterRestart++;
          const value = json.outputs?.[0]?.data[0];
          if (value !== undefined) outputs.add(value);
        }
      }),
    );
    assert.match(serve.output(), /the model worker crashed/);
    assert.ok(afterRestart >= 40, `40 answers from the restarted worker, got ${afterRestart} (failures: ${[...failures].join(', ')})`);
    assert.equal(outputs.size, 1, 'the restarted worker answers as the first did');
    // Runs in flight at a crash fail; if the restarted worker crashes too, runs wait 1 s with no worker.
    for (const failure of failures) assert.ok(['500 ABPROXY_MODEL_FAILED', '503 ABPROXY_MODEL_UNAVAILABLE'].includes(failure), failure);
  } finally {
    serve.kill();
    await serve.exited;
  }
});
