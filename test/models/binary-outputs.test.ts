// Binary outputs from local models (the answer side of Triton's extension_binary_data): KServe's binary
// output requests (fixtures 09 and 09b) answer with the JSON part, then the tensor bytes, and
// Inference-Header-Content-Length; per-output binary_data overrides the request's binary_data_output;
// every datatype's bytes are the tensor's own, FP16 included; a model: shadow's binary answer is compared
// tensor by tensor.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readBinaryBody } from '../../src/models/binary-tensors.js';
import { halfToNumber, numberToHalf } from '../../src/models/datatypes.js';
import type { ShadowLogRecord } from '../../src/shadow/log-record.js';
import { identityModel, irisModel, modelDir, sumModel } from '../helpers/onnx-models.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { waitFor } from '../helpers/load.js';

const example = (file: string) => readFileSync(new URL(`../fixtures/oip/examples/${file}`, import.meta.url), 'utf8');
const demoModel = (name: string) => fileURLToPath(new URL(`../../models/${name}.onnx`, import.meta.url));

interface BinaryAnswer {
  status: number;
  contentType: string | null;
  jsonLength: number | undefined;
  json: { outputs: { name: string; datatype: string; shape: number[]; data?: unknown[]; parameters?: { binary_data_size?: number } }[] };
  /** The bytes after the JSON part. */
  tensors: Buffer;
  body: Buffer;
}

let proxy: TestProxy;
let logPath: string;

before(async () => {
  const dir = modelDir();
  logPath = join(mkdtempSync(join(tmpdir(), 'abproxy-binary-out-')), 'shadow.jsonl');
  proxy = await startProxy({
    models: {
      'sklearn-irisv2': { path: irisModel(dir) },
      'sum-model': { path: sumModel(dir) },
      identity: { path: identityModel(dir) },
      'fraud-a': { path: demoModel('fraud-a') },
      'fraud-b': { path: demoModel('fraud-b') },
    },
    shadowLog: { path: logPath, maxBytes: 1_048_576 },
    routes: [
      {
        name: 'fraud',
        match: { pathPrefix: '/v2/models/fraud' },
        variants: [{ name: 'champion', target: 'model:fraud-a', weight: 1 }],
        shadows: [{ name: 'mlp', target: 'model:fraud-b' }],
      },
    ],
  });
});

after(() => proxy.close());

async function infer(model: string, body: string | Buffer, headers: Record<string, string> = { 'content-type': 'application/json' }): Promise<BinaryAnswer> {
  const res = await fetch(`${proxy.url}/v2/models/${model}/infer`, { method: 'POST', headers, body });
  const bytes = Buffer.from(await res.arrayBuffer());
  const header = res.headers.get('inference-header-content-length');
  const jsonLength = header === null ? undefined : Number(header);
  return {
    status: res.status,
    contentType: res.headers.get('content-type'),
    jsonLength,
    json: JSON.parse(bytes.toString('utf8', 0, jsonLength)) as BinaryAnswer['json'],
    tensors: bytes.subarray(jsonLength ?? bytes.length),
    body: bytes,
  };
}

test('09 KServe iris, binary_data on output-0: the JSON part names the size, the bytes are the INT64 classes [1, 1]', async () => {
  for (const file of ['09-kserve-iris-binary-output.request.json', '09b-kserve-iris-all-binary-output.request.json']) {
    const answer = await infer('sklearn-irisv2', example(file));
    assert.equal(answer.status, 200, answer.body.toString());
    assert.equal(answer.contentType, 'application/octet-stream', file);
    assert.equal(answer.jsonLength, answer.body.length - 16, 'Inference-Header-Content-Length is the JSON part');
    assert.deepEqual(answer.json.outputs, [{ name: 'output-0', shape: [2], datatype: 'INT64', parameters: { binary_data_size: 16 } }], file);
    assert.deepEqual(Array.from(new BigInt64Array(answer.tensors.buffer.slice(answer.tensors.byteOffset, answer.tensors.byteOffset + 16))), [1n, 1n]);
  }
  const plain = await infer('sklearn-irisv2', example('08-kserve-sklearn-iris.request.json'));
  assert.deepEqual([plain.contentType, plain.jsonLength], ['application/json', undefined], 'without the switches the answer stays JSON');
});

test('per-output binary_data overrides the request-level binary_data_output, in both directions', async () => {
  const inputs = [{ name: 'input-0', shape: [1, 3], datatype: 'INT32', data: [1, 2, 3] }];
  const mixed = await infer(
    'sum-model',
    JSON.stringify({ inputs, parameters: { binary_data_output: true }, outputs: [{ name: 'output-0' }, { name: 'requested-output-0', parameters: { binary_data: false } }] }),
  );
  assert.deepEqual(mixed.json.outputs, [
    { name: 'output-0', shape: [1], datatype: 'FP32', parameters: { binary_data_size: 4 } },
    { name: 'requested-output-0', shape: [1], datatype: 'FP32', data: [6] },
  ]);
  assert.equal(mixed.tensors.readFloatLE(0), 6);
  const one = await infer('sum-model', JSON.stringify({ inputs, parameters: { binary_data_output: false }, outputs: [{ name: 'requested-output-0', parameters: { binary_data: true } }] }));
  assert.deepEqual(one.json.outputs, [{ name: 'requested-output-0', shape: [1], datatype: 'FP32', parameters: { binary_data_size: 4 } }]);
});

test('every datatype: binary inputs come back as the same bytes, and read back as the JSON answer does', async () => {
  const values: Record<string, unknown[]> = {
    BOOL: [true, false],
    INT8: [-128, 127],
    INT16: [-32768, 32767],
    INT32: [-2147483648, 2147483647],
    INT64: [-9007199254740991, 9007199254740991],
    UINT8: [0, 255],
    UINT16: [0, 65535],
    UINT32: [0, 4294967295],
    UINT64: [0, 9007199254740991],
    FP16: [0.5, -65504],
    FP32: [0.5, -1.25],
    FP64: [0.1, -1e300],
    BYTES: ['éé', ''],
  };
  const jsonInputs = Object.entries(values).map(([datatype, data]) => ({ name: `in_${datatype}`, shape: [2], datatype, data }));
  const asJson = await infer('identity', JSON.stringify({ inputs: jsonInputs }));
  assert.equal(asJson.status, 200, asJson.body.toString());
  const binary = await infer('identity', JSON.stringify({ inputs: jsonInputs, parameters: { binary_data_output: true } }));
  assert.equal(binary.status, 200, binary.body.toString());
  assert.ok(binary.json.outputs.every((o) => o.data === undefined && typeof o.parameters?.binary_data_size === 'number'), 'no output carries JSON data');
  const read = readBinaryBody(binary.body, binary.jsonLength ?? 0, 'outputs') as BinaryAnswer['json'];
  assert.deepEqual(
    read.outputs.map((o) => [o.name, o.data]),
    asJson.json.outputs.map((o) => [o.name, o.data]),
  );
  // The answer's bytes fed back as binary inputs give the same bytes again.
  const inputs = binary.json.outputs.map((o) => ({ name: `in_${o.name.slice(4)}`, shape: o.shape, datatype: o.datatype, parameters: o.parameters }));
  const head = Buffer.from(JSON.stringify({ inputs, parameters: { binary_data_output: true } }));
  const again = await infer('identity', Buffer.concat([head, binary.tensors]), { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(head.length) });
  assert.equal(again.status, 200, again.body.toString());
  assert.ok(again.tensors.equals(binary.tensors), 'byte for byte');
});

test('FP16 converts to the nearest half, ties to even, and every half converts back to itself', () => {
  for (let bits = 0; bits < 0x10000; bits++) {
    const exponent = (bits >> 10) & 0x1f;
    if (exponent === 0x1f && (bits & 0x3ff) !== 0) continue; // NaN payloads
    assert.equal(numberToHalf(halfToNumber(bits)), bits, `0x${bits.toString(16)}`);
  }
  const cases: [number, number][] = [
    [1 + 2 ** -11, 0x3c00], // halfway between 1 and the next half: to even
    [1 + 3 * 2 ** -11, 0x3c02],
    [65519, 0x7bff],
    [65520, 0x7c00], // rounds past the largest half
    [1e-8, 0x0000],
    [3e-8, 0x0001],
    [-0, 0x8000],
  ];
  for (const [value, bits] of cases) assert.equal(numberToHalf(value), bits, String(value));
  assert.ok(Number.isNaN(halfToNumber(numberToHalf(Number.NaN))));
});

test('binary switches that are not booleans are a 400 naming the parameter; server metadata lists the extension', async () => {
  const inputs = [{ name: 'input-0', shape: [1, 3], datatype: 'INT32', data: [1, 2, 3] }];
  const cases: [unknown, RegExp][] = [
    [{ inputs, parameters: { binary_data_output: 'yes' } }, /parameters\.binary_data_output must be true or false, got "yes"/],
    [{ inputs, outputs: [{ name: 'output-0', parameters: { binary_data: 1 } }] }, /outputs\[0\]\.parameters\.binary_data must be true or false, got 1/],
    [{ inputs, outputs: [{ name: 'output-0', parameters: [] }] }, /outputs\[0\]\.parameters must be an object/],
  ];
  for (const [body, message] of cases) {
    const answer = await infer('sum-model', JSON.stringify(body));
    assert.equal(answer.status, 400);
    assert.match(String((answer.json as unknown as { error: string }).error), message);
  }
  const server = (await (await fetch(`${proxy.url}/v2`)).json()) as { extensions: string[] };
  assert.deepEqual(server.extensions, ['binary_tensor_data']);
});

test('a model: variant and a model: shadow answering in binary are compared tensor by tensor', async () => {
  const request = JSON.parse(readFileSync(new URL('../../config/example-request.json', import.meta.url), 'utf8')) as Record<string, unknown>;
  const answer = await infer('fraud', JSON.stringify({ ...request, id: 'bin-1', parameters: { binary_data_output: true } }));
  assert.equal(answer.status, 200, answer.body.toString());
  assert.equal(answer.contentType, 'application/octet-stream');
  assert.equal(answer.json.outputs[0]?.parameters?.binary_data_size, 4);
  assert.ok(await waitFor(() => proxy.proxy.shadows.log?.written === 1, 15_000));
  const record = JSON.parse(readFileSync(logPath, 'utf8').trim()) as ShadowLogRecord;
  const comparison = record.shadows[0]?.comparison;
  assert.equal(comparison?.kind, 'oip', JSON.stringify(comparison));
  assert.equal(typeof comparison?.maxAbsDiff, 'number', 'the champion and the shadow scores were read from their bytes');
});
