// Shadows of gRPC calls, with real gRPC servers (@grpc/grpc-js) on the Open Inference Protocol's gRPC
// service: copies go over HTTP/2 with the call's metadata, the client's answer is the champion's alone,
// and the shadow log compares the answers tensor by tensor (typed contents against raw bytes alike),
// grpc-status first, logging the messages as JSON. A streaming call is mirrored once the client has
// sent everything, without holding the stream up.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { ShadowLogRecord } from '../../src/shadow/log-record.js';
import { renderTable } from '../../src/shadow/log-table.js';
import { grpcClient, modelInfer, startGrpcUpstream, type GrpcUpstream, type InferenceClient, type StreamInferResponse } from '../helpers/grpc-upstream.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { waitFor } from '../helpers/wait-for.js';

let proxy: TestProxy;
let champion: GrpcUpstream;
let same: GrpcUpstream;
let other: GrpcUpstream;
let client: InferenceClient;
let logPath: string;

// The Wallaroo fraud models' smoke-test outputs (keras champion, xgboost challenger): see fraud-models.test.ts.
const KERAS = 0.00149742;
const XGBOOST = 0.0005067;

before(async () => {
  [champion, same, other] = await Promise.all([
    startGrpcUpstream('champion', { probability: KERAS }),
    startGrpcUpstream('same', { probability: KERAS, raw: true }),
    startGrpcUpstream('other', { probability: XGBOOST }),
  ]);
  logPath = join(mkdtempSync(join(tmpdir(), 'abproxy-grpc-shadow-')), 'shadow.jsonl');
  proxy = await startProxy({
    http2: { listen: '127.0.0.1:0' },
    shadowLog: { path: logPath, maxBytes: 1_048_576 },
    routes: [
      {
        name: 'fraud-grpc',
        match: { pathPrefix: '/inference.GRPCInferenceService' },
        sticky: [{ header: 'x-session-id' }],
        variants: [{ name: 'champion', target: `http://${champion.address}`, weight: 1 }],
        shadows: [
          { name: 'same', target: `http://${same.address}` },
          { name: 'other', target: `http://${other.address}`, tolerance: 0.0001 },
        ],
      },
    ],
  });
  client = grpcClient(`127.0.0.1:${proxy.proxy.http2Plane?.address.port}`);
});

after(async () => {
  client.close();
  await proxy.close();
  await Promise.all([champion.close(), same.close(), other.close()]);
});

function records(): ShadowLogRecord[] {
  if (!existsSync(logPath)) return [];
  return readFileSync(logPath, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as ShadowLogRecord);
}

async function recordOf(requestId: string): Promise<ShadowLogRecord> {
  let found: ShadowLogRecord | undefined;
  await waitFor(() => (found = records().find((r) => r.requestId === requestId)) !== undefined, `the shadow record of ${requestId}`, 5_000);
  return found as ShadowLogRecord;
}

function fp32(value: number): number {
  return new Float32Array([value])[0] ?? NaN;
}

test("a mirrored unary call answers with the champion's tensors; the log compares every shadow tensor by tensor", async () => {
  const { response, headers } = await modelInfer(client, { model_name: 'fraud', id: 'smoke' }, { 'x-session-id': 'card-1', 'x-request-id': 'grpc-shadow-1' });
  assert.equal(response.model_name, 'champion');
  assert.deepEqual(response.outputs?.[0]?.contents?.fp32_contents, [fp32(KERAS)]);
  assert.deepEqual(headers.get('x-abproxy-variant'), ['champion']);

  const record = await recordOf('grpc-shadow-1');
  assert.equal(record.route, 'fraud-grpc');
  assert.equal(record.key, 'card-1');
  assert.equal(record.path, '/inference.GRPCInferenceService/ModelInfer');
  assert.deepEqual(record.input.body?.json, { model_name: 'fraud', id: 'smoke', inputs: [] }, 'the call is logged as the REST request it stands for');
  const primary = record.primary.output as { grpcStatus?: string; json?: { outputs: { name: string; data: number[] }[] } };
  assert.equal(primary.grpcStatus, '0');
  assert.deepEqual(primary.json?.outputs.map((o) => [o.name, o.data]), [['fraud_probability', [fp32(KERAS)]]]);
  const byName = new Map(record.shadows.map((s) => [s.name, s]));
  assert.equal(byName.get('same')?.comparison?.result, 'match', 'typed contents and raw bytes of the same value match');
  assert.equal(byName.get('same')?.comparison?.kind, 'oip');
  const mismatch = byName.get('other')?.comparison;
  assert.equal(mismatch?.result, 'mismatch');
  assert.equal(mismatch?.kind, 'oip');
  assert.ok(Math.abs((mismatch?.maxAbsDiff ?? 0) - (fp32(KERAS) - fp32(XGBOOST))) < 1e-9, `maxAbsDiff ${mismatch?.maxAbsDiff}`);

  for (const shadow of [same, other]) {
    const call = shadow.calls.find((c) => c.metadata.get('x-request-id')[0] === 'grpc-shadow-1');
    assert.ok(call, 'the copy reached the shadow');
    assert.deepEqual(call.metadata.get('x-abproxy-shadow'), [`fraud-grpc/${shadow === same ? 'same' : 'other'}`]);
    assert.deepEqual(call.metadata.get('x-session-id'), ['card-1']);
  }
});

test('gRPC error statuses are compared and logged', async () => {
  await assert.rejects(modelInfer(client, { model_name: 'missing', id: 'e' }, { 'x-request-id': 'grpc-shadow-2' }), (error: grpc.ServiceError) => error.code === grpc.status.NOT_FOUND);
  const record = await recordOf('grpc-shadow-2');
  const primary = record.primary.output as { grpcStatus?: string; grpcMessage?: string };
  assert.equal(primary.grpcStatus, String(grpc.status.NOT_FOUND));
  assert.equal(primary.grpcMessage, 'model missing is not loaded on champion');
  for (const shadow of record.shadows) assert.equal(shadow.comparison?.result, 'match', `${shadow.name}: the same status`);
});

test('a bidirectional stream is mirrored once the client has sent everything, without waiting for the shadows', async () => {
  const metadata = new grpc.Metadata();
  metadata.set('x-request-id', 'grpc-shadow-3');
  const stream = client.ModelStreamInfer(metadata);
  const answers: StreamInferResponse[] = [];
  stream.on('data', (answer: StreamInferResponse) => answers.push(answer));
  for (let i = 1; i <= 2; i++) {
    stream.write({ model_name: 'fraud', id: `m${i}` });
    await waitFor(() => answers.length === i, `the champion's answer to message ${i}`, 5_000);
  }
  assert.ok(!records().some((r) => r.requestId === 'grpc-shadow-3'), 'nothing is mirrored while the client is still sending');
  stream.end();
  await once(stream, 'status');
  const record = await recordOf('grpc-shadow-3');
  const output = record.shadows.find((s) => s.name === 'same')?.output as { json?: { infer_response: { id: string; model_name: string } }[] };
  assert.deepEqual(output.json?.map((m) => [m.infer_response.model_name, m.infer_response.id]), [['same', 'm1'], ['same', 'm2']], 'the shadow got the whole stream');
  assert.equal(record.shadows.find((s) => s.name === 'same')?.comparison?.result, 'mismatch', 'streams compare structurally: model_name differs');
});

test('abproxy shadow-log shows the gRPC answers side by side, errors by their status', () => {
  const table = renderTable(records().filter((r) => r.requestId === 'grpc-shadow-1' || r.requestId === 'grpc-shadow-2'));
  const [, ok, failed] = table.trimEnd().split('\n');
  assert.match(ok ?? '', /champion: fraud_probability=0\.00149742 +fraud_probability=0\.00149742 = +fraud_probability=0\.0005067 != \(diff 0\.00099072\) +1\/2/);
  assert.match(failed ?? '', /champion: grpc-status 5: model missing is not loaded on\.\.\. +grpc-status 5: model missing is not loaded on\.\.\. = .* 2\/2 /);
});
