// The three Wallaroo fraud models answer their recorded outputs through OIP requests on the data plane:
// by name, through a routed variant, by position, as a 1 001-row batch, and with precise shape errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startProxy, type TestProxy } from '../helpers/proxy.js';

const fixtures = fileURLToPath(new URL('../fixtures/wallaroo-ccfraud/', import.meta.url));
const expected = JSON.parse(readFileSync(`${fixtures}expected_outputs.json`, 'utf8')) as { outputs: Record<string, Record<string, number[]>> };
const MODELS = { keras: ['keras_ccfraud.onnx', 'dense_input', 'dense_1'], xgb: ['xgboost_ccfraud.onnx', 'feature_input', 'variable'], rf: ['modelA.onnx', 'float_input', 'variable'] } as const;

/** Every data file's rows as 29-float arrays, whatever its layout. */
function rowsOf(file: string): number[][] {
  const raw = JSON.parse(readFileSync(`${fixtures}${file}`, 'utf8')) as unknown;
  const records = (Array.isArray(raw) ? raw : [raw]) as Record<string, number[] | number[][]>[];
  return records.flatMap((record): number[][] => {
    const value = Object.values(record)[0] ?? [];
    return isMatrix(value) ? value : [value];
  });
}

function isMatrix(value: number[] | number[][]): value is number[][] {
  return Array.isArray(value[0]);
}

function inferBody(name: string, rows: number[][], extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ ...extra, inputs: [{ name, shape: [rows.length, 29], datatype: 'FP32', data: rows }] });
}

/** Relative 1e-5; near zero the scale floors at 0.1 (1e-6 absolute): float32 tree sums that cancel to ~1e-4 differ by a few ULPs of their ~1.0 partial sums with summation order. */
function assertClose(actual: number[], wanted: number[], label: string): void {
  assert.equal(actual.length, wanted.length, `${label}: row count`);
  actual.forEach((value, i) => {
    const want = wanted[i] as number;
    assert.ok(Math.abs(value - want) <= 1e-5 * Math.max(Math.abs(want), 0.1), `${label} row ${i}: ${value} vs ${want}`);
  });
}

let proxy: TestProxy;

before(async () => {
  proxy = await startProxy({
    limits: { maxBodyBytes: 4 * 1024 * 1024 },
    models: Object.fromEntries(Object.entries(MODELS).map(([name, [file]]) => [name, { path: `${fixtures}models/${file}` }])),
    routes: [{ name: 'ccfraud', match: { pathPrefix: '/v2/models/ccfraud' }, sticky: [{ header: 'x-session-id' }], variants: [{ name: 'lstm', target: 'model:keras', weight: 1 }] }],
  });
});

after(() => proxy.close());

async function infer(path: string, body: string, headers: Record<string, string> = {}): Promise<{ status: number; json: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(`${proxy.url}${path}`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
  return { status: res.status, json: (await res.json()) as Record<string, unknown>, headers: res.headers };
}

type Outputs = { name: string; shape: number[]; datatype: string; data: number[] }[];

test('each model answers every data file with its expected outputs (rel 1e-5), including the 1 001-row batch', async () => {
  for (const [model, [file, input, output]] of Object.entries(MODELS)) {
    for (const [dataFile, wanted] of Object.entries(expected.outputs[file] ?? {})) {
      const rows = rowsOf(dataFile);
      const { status, json } = await infer(`/v2/models/${model}/infer`, inferBody(input, rows, { id: `${model}-${dataFile}` }));
      assert.equal(status, 200, JSON.stringify(json));
      assert.equal(json.model_name, model);
      assert.equal(json.id, `${model}-${dataFile}`);
      const outputs = json.outputs as Outputs;
      assert.equal(outputs.length, 1);
      assert.deepEqual({ name: outputs[0]?.name, shape: outputs[0]?.shape, datatype: outputs[0]?.datatype }, { name: output, shape: [rows.length, 1], datatype: 'FP32' });
      assertClose(outputs[0]?.data ?? [], wanted, `${model} ${dataFile}`);
    }
  }
  assert.equal(rowsOf('data/cc_data_1k.df.json').length, 1001);
});

test('positional binding: one request naming the input "tensor" is served by all three models', async () => {
  const rows = rowsOf('data/high_fraud.json');
  for (const [model, [file]] of Object.entries(MODELS)) {
    const { status, json } = await infer(`/v2/models/${model}/infer`, inferBody('tensor', rows));
    assert.equal(status, 200, JSON.stringify(json));
    assertClose((json.outputs as Outputs)[0]?.data ?? [], expected.outputs[file]?.['data/high_fraud.json'] ?? [], model);
  }
});

test('a routed variant answers with x-abproxy-variant and the model that answered', async () => {
  const rows = rowsOf('data/smoke_test.json');
  const { status, json, headers } = await infer('/v2/models/ccfraud/infer', inferBody('dense_input', rows), { 'x-session-id': 'user-1', 'x-request-id': 'req-7' });
  assert.equal(status, 200);
  assert.equal(headers.get('x-abproxy-variant'), 'lstm');
  assert.equal(json.model_name, 'keras');
  assert.equal(json.id, 'req-7', 'without a request id, the x-request-id answers as id');
  assertClose((json.outputs as Outputs)[0]?.data ?? [], [0.00149741769], 'routed');
  const meta = (await (await fetch(`${proxy.url}/v2/models/ccfraud`)).json()) as { name: string };
  assert.equal(meta.name, 'keras');
});

test('shape and datatype errors are 400 naming the input and what the model expects', async () => {
  const short = await infer('/v2/models/keras/infer', JSON.stringify({ inputs: [{ name: 'dense_input', shape: [1, 28], datatype: 'FP32', data: new Array(28).fill(0) }] }));
  assert.equal(short.status, 400);
  assert.match(String(short.json.error), /input "dense_input" has shape \[1, 28\]; the model expects \[-1, 29\]/);
  const wrongType = await infer('/v2/models/xgb/infer', JSON.stringify({ inputs: [{ name: 'feature_input', shape: [1, 29], datatype: 'FP64', data: new Array(29).fill(0) }] }));
  assert.equal(wrongType.status, 400);
  assert.match(String(wrongType.json.error), /input "feature_input" has datatype FP64; the model expects FP32/);
  const mismatch = await infer('/v2/models/rf/infer', JSON.stringify({ inputs: [{ name: 'float_input', shape: [2, 29], datatype: 'FP32', data: new Array(29).fill(0) }] }));
  assert.equal(mismatch.status, 400);
  assert.match(String(mismatch.json.error), /shape \[2, 29\] needs 58 elements, data has 29/);
});

test('metadata lists inputs and outputs with -1 for dynamic dimensions', async () => {
  const res = await fetch(`${proxy.url}/v2/models/keras`);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), {
    name: 'keras',
    platform: 'onnx_onnxv1',
    inputs: [{ name: 'dense_input', datatype: 'FP32', shape: [-1, 29] }],
    outputs: [{ name: 'dense_1', datatype: 'FP32', shape: [-1, 1] }],
  });
  assert.equal((await fetch(`${proxy.url}/v2/models/xgb/ready`)).status, 200);
});
