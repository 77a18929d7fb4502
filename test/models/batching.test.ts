// Dynamic micro-batching: concurrent requests stacked into one run return exactly what unbatched runs
// return (float tolerance), for float features and for every datatype, and runs really are merged.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { identityModel, modelDir } from '../helpers/onnx-models.js';

const fixtures = fileURLToPath(new URL('../fixtures/wallaroo-ccfraud/', import.meta.url));
const rows = (JSON.parse(readFileSync(`${fixtures}data/cc_data_1k.df.json`, 'utf8')) as { tensor: number[] }[]).map((r) => r.tensor);
const keras = `${fixtures}models/keras_ccfraud.onnx`;

let proxy: TestProxy;

before(async () => {
  const identity = identityModel(modelDir());
  proxy = await startProxy({
    models: {
      plain: { path: keras },
      batched: { path: keras, batch: { maxSize: 16, maxDelayMs: 20 } },
      identity: { path: identity, batch: { maxSize: 8, maxDelayMs: 20 } },
    },
    routes: [{ name: 'none', match: { pathPrefix: '/none' }, variants: [{ name: 'a', target: 'model:plain', weight: 1 }] }],
  });
});

after(() => proxy.close());

async function score(model: string, batch: number[][]): Promise<number[]> {
  const res = await fetch(`${proxy.url}/v2/models/${model}/infer`, {
    method: 'POST',
    body: JSON.stringify({ inputs: [{ name: 'dense_input', shape: [batch.length, 29], datatype: 'FP32', data: batch }] }),
  });
  assert.equal(res.status, 200);
  const json = (await res.json()) as { outputs: { shape: number[]; data: number[] }[] };
  assert.deepEqual(json.outputs[0]?.shape, [batch.length, 1]);
  return json.outputs[0]?.data ?? [];
}

async function batchSizeStats(model: string): Promise<{ sum: number; count: number }> {
  const text = await (await fetch(`${proxy.adminUrl}/metrics`)).text();
  const read = (suffix: string) => Number(new RegExp(`^abproxy_model_batch_size_${suffix}\\{model="${model}"\\} (\\S+)$`, 'm').exec(text)?.[1] ?? 'NaN');
  return { sum: read('sum'), count: read('count') };
}

test('48 concurrent requests of 1-3 rows: batched answers equal unbatched ones, in fewer runs', async () => {
  const requests = Array.from({ length: 48 }, (_, i) => rows.slice(i * 3, i * 3 + 1 + (i % 3)));
  const unbatched = await Promise.all(requests.map((r) => score('plain', r)));
  const batched = await Promise.all(requests.map((r) => score('batched', r)));
  batched.forEach((answer, i) => {
    const want = unbatched[i] ?? [];
    assert.equal(answer.length, want.length);
    answer.forEach((v, j) => assert.ok(Math.abs(v - (want[j] ?? NaN)) <= 1e-6 * Math.max(1, Math.abs(want[j] ?? 0)), `request ${i} row ${j}: ${v} vs ${want[j]}`));
  });
  const stats = await batchSizeStats('batched');
  assert.equal(stats.sum, 48, 'every request counted once');
  assert.ok(stats.count < 48, `requests were merged into fewer runs (${stats.count} runs)`);
  const plain = await batchSizeStats('plain');
  assert.equal(plain.count, plain.sum, 'unbatched model runs one request at a time');
});

test('stacking and splitting keep every datatype and each request its own rows', async () => {
  const make = (i: number) => ({
    BOOL: [i % 2 === 0, true],
    INT8: [i, -1 - i],
    INT16: [i * 100, 1],
    INT32: [i * 1000, 2],
    INT64: [i * 1e12, 3],
    UINT8: [i, 4],
    UINT16: [i * 2, 5],
    UINT32: [i * 3, 6],
    UINT64: [i * 4, 7],
    FP16: [i / 4, -8],
    FP32: [i / 2, 8],
    FP64: [i / 3, 9],
    BYTES: [`row-${i}`, `x${i}`],
  });
  const answers = await Promise.all(
    Array.from({ length: 16 }, async (_, i) => {
      const values = make(i);
      const inputs = Object.entries(values).map(([datatype, data]) => ({ name: `in_${datatype}`, shape: [2], datatype, data }));
      const res = await fetch(`${proxy.url}/v2/models/identity/infer`, { method: 'POST', body: JSON.stringify({ inputs }) });
      assert.equal(res.status, 200);
      return { values, json: (await res.json()) as { outputs: { name: string; data: unknown[] }[] } };
    }),
  );
  for (const { values, json } of answers) {
    for (const output of json.outputs) assert.deepEqual(output.data, values[output.name.slice(4) as keyof typeof values]);
  }
  const stats = await batchSizeStats('identity');
  assert.ok(stats.count < 16, `identity requests were merged (${stats.count} runs for 16)`);
});
