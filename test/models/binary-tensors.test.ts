// The Open Inference Protocol binary tensor extension (Triton's extension_binary_data) in local models:
// tensor bytes after the JSON part decode for every datatype, a request's binary inputs bind like JSON
// ones (sizes that do not add up are a 400), and through the proxy a binary request gets the same
// answer as its JSON twin, from a model: variant and a model: shadow alike.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withBinaryData } from '../../src/models/binary-tensors.js';
import { parseInferRequest } from '../../src/models/codec.js';
import type { ShadowLogRecord } from '../../src/shadow/log-record.js';
import { startProxy } from '../helpers/proxy.js';
import { waitFor } from '../helpers/load.js';

const fp32 = (...values: number[]) => Buffer.from(new Float32Array(values).buffer);

/** A binary-extension body: the JSON part, then the tensor bytes; and its Inference-Header-Content-Length. */
function binaryBody(json: unknown, ...tensors: Buffer[]): { body: Buffer; jsonLength: number } {
  const head = Buffer.from(JSON.stringify(json));
  return { body: Buffer.concat([head, ...tensors]), jsonLength: head.length };
}

test('every fixed-size datatype and BYTES decode little-endian, row-major', () => {
  const bytesElements = ['ab', '', 'ü'].map((s) => Buffer.from(s));
  const cases: [string, Buffer, unknown[]][] = [
    ['BOOL', Buffer.from([1, 0, 2]), [true, false, true]],
    ['UINT8', Buffer.from([0, 255]), [0, 255]],
    ['INT8', Buffer.from([0x80, 0x7f]), [-128, 127]],
    ['UINT16', Buffer.from([0x34, 0x12]), [0x1234]],
    ['INT16', Buffer.from([0xfe, 0xff]), [-2]],
    ['UINT32', Buffer.from([1, 0, 0, 0, 0, 0, 0, 0x80]), [1, 2 ** 31]],
    ['INT32', Buffer.from(new Int32Array([-7, 9]).buffer), [-7, 9]],
    ['UINT64', Buffer.from(new BigUint64Array([2n ** 40n]).buffer), [2 ** 40]],
    ['INT64', Buffer.from(new BigInt64Array([-3n]).buffer), [-3]],
    ['FP16', Buffer.from(new Uint16Array([0x3c00, 0xc000, 0x3800, 0x0001, 0x7c00]).buffer), [1, -2, 0.5, 2 ** -24, Infinity]],
    ['FP32', fp32(1.5, -0.25), [1.5, -0.25]],
    ['FP64', Buffer.from(new Float64Array([Math.PI]).buffer), [Math.PI]],
    ['BYTES', Buffer.concat(bytesElements.flatMap((b) => [Buffer.from(new Uint32Array([b.length]).buffer), b])), ['ab', '', 'ü']],
  ];
  for (const [datatype, bytes, expected] of cases) {
    const json = { outputs: [{ name: 'kept', datatype: 'FP32', shape: [1], data: [7] }, { name: 'out', datatype, shape: [expected.length], parameters: { binary_data_size: bytes.length } }] };
    const decoded = withBinaryData(json, 'outputs', bytes) as { outputs: { name: string; data: unknown[] }[] };
    assert.deepEqual(decoded.outputs.map((o) => [o.name, o.data]), [['kept', [7]], ['out', expected]], datatype);
  }
});

test('binary inputs parse like JSON ones, beside JSON inputs; sizes that do not add up are a 400', () => {
  const { body, jsonLength } = binaryBody(
    {
      id: 'b-1',
      inputs: [
        { name: 'x', shape: [1, 2], datatype: 'FP32', parameters: { binary_data_size: 8 } },
        { name: 'n', shape: [1], datatype: 'INT64', data: [3] },
        { name: 'ids', shape: [2], datatype: 'INT64', parameters: { binary_data_size: 16 } },
      ],
    },
    fp32(0.5, -1.25),
    Buffer.from(new BigInt64Array([7n, -9n]).buffer),
  );
  const request = parseInferRequest(body, jsonLength);
  assert.equal(request.id, 'b-1');
  assert.deepEqual(request.inputs.map((i) => [i.name, i.values]), [['x', [0.5, -1.25]], ['n', [3]], ['ids', [7, -9]]]);
  const short = binaryBody({ inputs: [{ name: 'x', shape: [2], datatype: 'FP32', parameters: { binary_data_size: 8 } }] }, fp32(1));
  assert.throws(() => parseInferRequest(short.body, short.jsonLength), /the 4 bytes after the JSON part do not match the inputs' binary_data_size/);
  const counted = binaryBody({ inputs: [{ name: 'x', shape: [3], datatype: 'FP32', parameters: { binary_data_size: 8 } }] }, fp32(1, 2));
  assert.throws(() => parseInferRequest(counted.body, counted.jsonLength), /shape \[3\] needs 3 elements, data has 2/);
});

test('through the proxy: a binary request to a model: variant and a model: shadow answers as its JSON twin does; a field that cannot frame the body is a 400 saying so', async (t) => {
  const model = (name: string) => fileURLToPath(new URL(`../../models/${name}.onnx`, import.meta.url));
  const logPath = join(mkdtempSync(join(tmpdir(), 'abproxy-binary-model-')), 'shadow.jsonl');
  const proxy = await startProxy({
    models: { 'fraud-a': { path: model('fraud-a') }, 'fraud-b': { path: model('fraud-b') } },
    shadowLog: { path: logPath, maxBytes: 1_048_576 },
    routes: [
      {
        name: 'fraud',
        match: { pathPrefix: '/v2/models/fraud' },
        sticky: [{ body: 'parameters.session_id' }],
        variants: [{ name: 'champion', target: 'model:fraud-a', weight: 1 }],
        shadows: [{ name: 'mlp', target: 'model:fraud-b' }],
      },
    ],
  });
  t.after(() => proxy.close());
  const example = JSON.parse(readFileSync(new URL('../../config/example-request.json', import.meta.url), 'utf8')) as { inputs: { name: string; shape: number[]; datatype: string; data: number[] }[] };
  const input = example.inputs[0];
  assert.ok(input);
  const asJson = await fetch(`${proxy.url}/v2/models/fraud/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'same', parameters: { session_id: 'u-1' }, inputs: [input] }) });
  const { data, ...meta } = input;
  const binary = binaryBody({ id: 'same', parameters: { session_id: 'u-1' }, inputs: [{ ...meta, parameters: { binary_data_size: data.length * 4 } }] }, fp32(...data));
  const asBinary = await fetch(`${proxy.url}/v2/models/fraud/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(binary.jsonLength) },
    body: binary.body,
  });
  assert.equal(asBinary.status, 200, await asBinary.clone().text());
  assert.deepEqual(await asBinary.json(), await asJson.json(), 'the same answer, scored from the tensor bytes');
  assert.ok(await waitFor(() => proxy.proxy.shadows.log?.written === 2, 15_000));
  const records = readFileSync(logPath, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as ShadowLogRecord);
  for (const record of records) {
    assert.equal(record.key, 'u-1', 'the body key is read from the JSON part of either form');
    assert.deepEqual([record.shadows[0]?.status, record.shadows[0]?.comparison?.kind], [200, 'oip'], 'the local shadow scored the binary request too');
  }
  assert.deepEqual(records[0]?.shadows[0]?.output?.json, records[1]?.shadows[0]?.output?.json, 'the shadow answered both forms alike');

  const framings: [string, string][] = [
    [String(binary.body.length + 1), `Inference-Header-Content-Length ${binary.body.length + 1} is beyond the body's ${binary.body.length} bytes`],
    ['-5', 'Inference-Header-Content-Length "-5" is not a byte count'],
  ];
  for (const [field, error] of framings) {
    const refused = await fetch(`${proxy.url}/v2/models/fraud/infer`, { method: 'POST', headers: { 'inference-header-content-length': field }, body: binary.body });
    assert.equal(refused.status, 400, field);
    assert.deepEqual(await refused.json(), { error, code: 'ABPROXY_MODEL_BAD_INPUT' }, 'said as the field, not as malformed JSON');
  }
});
