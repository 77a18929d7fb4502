// Local ONNX models answering gRPC calls (a real @grpc/grpc-js client, the Open Inference Protocol's gRPC
// service) on the Wallaroo fraud models: ModelInfer with typed or raw inputs gives the tutorial's
// expected output as raw_output_contents; health and metadata methods answer; ModelStreamInfer answers
// each message as it arrives; bad input, tensor data against the protocol's rules and unknown methods
// are gRPC errors; a local model shadowing a gRPC call is compared tensor by tensor in the shadow log.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { ShadowLogRecord } from '../../src/shadow/log-record.js';
import { grpcClient, modelInfer, type InferenceClient, type InferRequest, type StreamInferResponse } from '../helpers/grpc-upstream.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { waitFor } from '../helpers/wait-for.js';

const FIXTURE = 'test/fixtures/wallaroo-ccfraud';
const smoke = JSON.parse(readFileSync(join(FIXTURE, 'data/smoke_test.json'), 'utf8')) as { tensor: number[][] };
const expected = JSON.parse(readFileSync(join(FIXTURE, 'expected_outputs.json'), 'utf8')) as { outputs: Record<string, Record<string, number[]>> };
const want = (model: string) => expected.outputs[model]?.['data/smoke_test.json']?.[0] ?? NaN;
const close = (a: number, b: number) => Math.abs(a - b) <= 1e-5 * Math.max(Math.abs(a), Math.abs(b));

let proxy: TestProxy;
let client: InferenceClient;
let logPath: string;

before(async () => {
  logPath = join(mkdtempSync(join(tmpdir(), 'abproxy-grpc-models-')), 'shadow.jsonl');
  proxy = await startProxy({
    http2: { listen: '127.0.0.1:0' },
    shadowLog: { path: logPath, maxBytes: 1_048_576 },
    models: {
      'ccfraud-keras': { path: join(FIXTURE, 'models/keras_ccfraud.onnx') },
      'ccfraud-xgb': { path: join(FIXTURE, 'models/xgboost_ccfraud.onnx') },
    },
    routes: [
      {
        name: 'fraud-grpc',
        match: { pathPrefix: '/inference.GRPCInferenceService' },
        variants: [{ name: 'champion', target: 'model:ccfraud-keras', weight: 1 }],
        shadows: [{ name: 'xgb', target: 'model:ccfraud-xgb' }],
      },
    ],
  });
  client = grpcClient(`127.0.0.1:${proxy.proxy.http2Plane?.address.port}`);
});

after(async () => {
  client.close();
  await proxy.close();
});

const typedInput = (id: string): InferRequest => ({ model_name: 'any-name', id, inputs: [{ name: 'tensor', datatype: 'FP32', shape: [1, 29], contents: { fp32_contents: smoke.tensor.flat() } }] });

function rawInput(id: string): InferRequest {
  const bytes = Buffer.alloc(29 * 4);
  smoke.tensor.flat().forEach((v, i) => bytes.writeFloatLE(v, i * 4));
  return { model_name: 'any-name', id, inputs: [{ name: 'tensor', datatype: 'FP32', shape: [1, 29] }], raw_input_contents: [bytes] };
}

function unary<T>(call: (callback: (error: grpc.ServiceError | null, value?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => call((error, value) => (error ? reject(error) : resolve(value as T))));
}

test("ModelInfer on a model: variant gives the tutorial's output as raw_output_contents, from typed or raw inputs", async () => {
  for (const request of [typedInput('typed'), rawInput('raw')]) {
    const { response, headers } = await modelInfer(client, request);
    assert.equal(response.model_name, 'ccfraud-keras', "the variant's model answers, whatever the message names");
    assert.equal(response.id, request.id);
    assert.deepEqual(headers.get('x-abproxy-variant'), ['champion']);
    const [output] = response.outputs ?? [];
    assert.equal(output?.datatype, 'FP32');
    assert.deepEqual(output?.shape.map(Number), [1, 1]);
    const raw = response.raw_output_contents?.[0];
    assert.equal(raw?.length, 4);
    assert.ok(close(raw.readFloatLE(0), want('keras_ccfraud.onnx')), `${raw.readFloatLE(0)}`);
  }
});

test('health and metadata methods answer for the variant model', async () => {
  assert.deepEqual(await unary<{ live: boolean }>((cb) => client.ServerLive({}, cb)), { live: true });
  assert.deepEqual(await unary<{ ready: boolean }>((cb) => client.ModelReady({ name: 'x' }, cb)), { ready: true });
  const metadata = await unary<{ name: string; platform: string; inputs: { name: string; datatype: string; shape: string[] }[] }>((cb) => client.ModelMetadata({ name: 'x' }, cb));
  assert.equal(metadata.name, 'ccfraud-keras');
  assert.equal(metadata.platform, 'onnx_onnxv1');
  assert.deepEqual(metadata.inputs.map((i) => [i.datatype, i.shape.map(Number).slice(1)]), [['FP32', [29]]]);
});

const wrongShape: InferRequest = { model_name: 'm', id: 'bad', inputs: [{ name: 'tensor', datatype: 'FP32', shape: [1, 3], contents: { fp32_contents: [1, 2, 3] } }] };

test('bad input is a gRPC error with a message', async () => {
  await assert.rejects(modelInfer(client, wrongShape), (error: grpc.ServiceError) => {
    assert.equal(error.code, grpc.status.INVALID_ARGUMENT);
    assert.match(error.details, /shape/);
    return true;
  });
});

test('tensor data the protocol does not allow is INVALID_ARGUMENT saying what is wrong, not run', async () => {
  const raw = rawInput('r');
  const tensor = raw.inputs?.[0];
  assert.ok(tensor && raw.raw_input_contents?.[0]);
  const cases: [string, InferRequest, string][] = [
    ['contents beside raw bytes', { ...raw, inputs: [{ ...tensor, contents: { fp32_contents: smoke.tensor.flat() } }] }, 'input "tensor" has contents beside raw_input_contents; send one or the other'],
    ['more raw entries than inputs', { ...raw, raw_input_contents: [raw.raw_input_contents[0], Buffer.alloc(4)] }, 'raw_input_contents has 2 entries for 1 input; it takes one per input'],
    ["another datatype's contents", { ...typedInput('t'), inputs: [{ ...tensor, contents: { fp64_contents: smoke.tensor.flat() } }] }, 'input "tensor": datatype FP32 takes fp32_contents, not fp64_contents'],
  ];
  for (const [what, request, message] of cases) {
    await assert.rejects(modelInfer(client, request), (error: grpc.ServiceError) => {
      assert.equal(error.code, grpc.status.INVALID_ARGUMENT, what);
      assert.equal(error.details, message, what);
      return true;
    });
  }
});

test('ModelStreamInfer: each message is answered as it arrives, a failed one in error_message, and the stream goes on', async () => {
  const stream = client.ModelStreamInfer(new grpc.Metadata());
  const answers: StreamInferResponse[] = [];
  stream.on('data', (answer: StreamInferResponse) => answers.push(answer));
  const status = new Promise<grpc.StatusObject>((resolve) => stream.on('status', resolve));
  stream.write(typedInput('s1'));
  await waitFor(() => answers.length === 1, 'the first answer while the client still streams', 10_000);
  stream.write(wrongShape);
  stream.write(rawInput('s3'));
  stream.end();
  assert.equal((await status).code, grpc.status.OK);
  assert.deepEqual(answers.map((a) => (a.error_message === '' ? a.infer_response.id : 'failed')), ['s1', 'failed', 's3']);
  for (const i of [0, 2]) {
    const raw = answers[i]?.infer_response.raw_output_contents?.[0];
    assert.ok(raw && close(raw.readFloatLE(0), want('keras_ccfraud.onnx')), `answer ${i}: ${raw?.readFloatLE(0)}`);
    assert.equal(answers[i]?.error_message, '');
  }
  assert.match(answers[1]?.error_message ?? '', /shape/);
});

test('a call of a method local models do not serve is UNIMPLEMENTED with a message', async () => {
  const unknown = await new Promise<grpc.ServiceError>((resolve) => {
    const generic = new grpc.Client(`127.0.0.1:${proxy.proxy.http2Plane?.address.port}`, grpc.credentials.createInsecure());
    generic.makeUnaryRequest('/inference.GRPCInferenceService/RepositoryIndex', (value: Buffer) => value, (value: Buffer) => value, Buffer.alloc(0), (error) => {
      generic.close();
      resolve(error as grpc.ServiceError);
    });
  });
  assert.equal(unknown.code, grpc.status.UNIMPLEMENTED);
  assert.equal(unknown.details, '/inference.GRPCInferenceService/RepositoryIndex is not served by local models');
});

test('a local model shadowing a gRPC call is compared tensor by tensor', async () => {
  await modelInfer(client, typedInput('shadowed'), { 'x-request-id': 'grpc-model-shadow' });
  let record: ShadowLogRecord | undefined;
  const read = () => (existsSync(logPath) ? readFileSync(logPath, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as ShadowLogRecord) : []);
  await waitFor(() => (record = read().find((r) => r.requestId === 'grpc-model-shadow')) !== undefined, 'the shadow record', 10_000);
  const input = record?.input.body?.json as { inputs: { name: string; datatype: string; shape: number[]; data: number[] }[] } | undefined;
  assert.deepEqual(input?.inputs.map((i) => [i.name, i.datatype, i.shape, i.data.length]), [['tensor', 'FP32', [1, 29], 29]], 'the call is logged as the REST request it stands for');
  const shadow = record?.shadows[0];
  assert.equal(shadow?.name, 'xgb');
  assert.equal(shadow?.comparison?.result, 'mismatch');
  assert.equal(shadow?.comparison?.kind, 'oip');
  const diff = want('keras_ccfraud.onnx') - want('xgboost_ccfraud.onnx');
  assert.ok(Math.abs((shadow?.comparison?.maxAbsDiff ?? 0) - diff) < 1e-6, `maxAbsDiff ${shadow?.comparison?.maxAbsDiff} vs ${diff}`);
});
