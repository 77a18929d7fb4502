// A `model:NAME` variant answering REST requests over HTTP/2 (h2c) in-process, as over HTTP/1.1: the
// Wallaroo keras model's smoke-test output from POST .../infer, ready and metadata by GET, a wrong method
// 405 with Allow, and a local model shadow compared in the log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, readFileSync } from 'node:fs';
import { connect, type IncomingHttpHeaders } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ShadowLogRecord } from '../../src/shadow/log-record.js';
import { startProxy } from '../helpers/proxy.js';
import { waitFor } from '../helpers/wait-for.js';

const FIXTURE = 'test/fixtures/wallaroo-ccfraud';
const smoke = JSON.parse(readFileSync(join(FIXTURE, 'data/smoke_test.json'), 'utf8')) as { tensor: number[][] };
const expected = JSON.parse(readFileSync(join(FIXTURE, 'expected_outputs.json'), 'utf8')) as { outputs: Record<string, Record<string, number[]>> };
const want = (model: string) => expected.outputs[model]?.['data/smoke_test.json']?.[0] ?? NaN;

test('REST over HTTP/2 to a model: variant: infer, ready, metadata, a wrong method, and its shadow compared', async (t) => {
  const logPath = join(mkdtempSync(join(tmpdir(), 'abproxy-h2-rest-')), 'shadow.jsonl');
  const proxy = await startProxy({
    http2: { listen: '127.0.0.1:0' },
    shadowLog: { path: logPath, maxBytes: 1_048_576 },
    models: {
      'ccfraud-keras': { path: join(FIXTURE, 'models/keras_ccfraud.onnx') },
      'ccfraud-xgb': { path: join(FIXTURE, 'models/xgboost_ccfraud.onnx') },
    },
    routes: [{ name: 'fraud', match: { pathPrefix: '/v2/models/fraud' }, variants: [{ name: 'keras', target: 'model:ccfraud-keras', weight: 1 }], shadows: [{ name: 'xgb', target: 'model:ccfraud-xgb' }] }],
  });
  const session = connect(`http://127.0.0.1:${proxy.proxy.http2Plane?.address.port}`);
  t.after(async () => {
    session.close();
    await proxy.close();
  });
  const request = async (method: string, path: string, body?: string) => {
    const stream = session.request({ ':method': method, ':path': path, ...(body ? { 'content-type': 'application/json', 'x-request-id': 'h2-rest-infer' } : {}) }, { endStream: body === undefined });
    if (body !== undefined) stream.end(body);
    const [headers] = (await once(stream, 'response')) as [IncomingHttpHeaders];
    let text = '';
    for await (const chunk of stream) text += String(chunk);
    return { headers, text };
  };

  const infer = JSON.stringify({ id: 'h2-1', inputs: [{ name: 'tensor', datatype: 'FP32', shape: [1, 29], data: smoke.tensor.flat() }] });
  const answer = await request('POST', '/v2/models/fraud/infer', infer);
  assert.equal(answer.headers[':status'], 200);
  assert.equal(answer.headers['x-abproxy-variant'], 'keras');
  assert.equal(answer.headers['content-length'], String(Buffer.byteLength(answer.text)));
  const json = JSON.parse(answer.text) as { model_name: string; id: string; outputs: { data: number[] }[] };
  assert.equal(json.model_name, 'ccfraud-keras');
  assert.equal(json.id, 'h2-1');
  assert.ok(Math.abs((json.outputs[0]?.data[0] ?? NaN) - want('keras_ccfraud.onnx')) < 1e-6, `${json.outputs[0]?.data[0]}`);

  assert.equal((await request('GET', '/v2/models/fraud/ready')).headers[':status'], 200);
  const metadata = await request('GET', '/v2/models/fraud');
  assert.equal((JSON.parse(metadata.text) as { name: string }).name, 'ccfraud-keras');
  const wrong = await request('GET', '/v2/models/fraud/infer');
  assert.equal(wrong.headers[':status'], 405);
  assert.equal(wrong.headers.allow, 'POST');

  // Every routed request is mirrored; the infer is compared tensor by tensor.
  await waitFor(() => proxy.proxy.shadows.log?.written === 4, 'the four mirrored requests to be logged', 15_000);
  const records = readFileSync(logPath, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as ShadowLogRecord);
  const record = records.find((r) => r.requestId === 'h2-rest-infer');
  assert.equal(record?.shadows[0]?.comparison?.result, 'mismatch');
  assert.equal(record?.shadows[0]?.comparison?.kind, 'oip');
  const diff = want('keras_ccfraud.onnx') - want('xgboost_ccfraud.onnx');
  assert.ok(Math.abs((record?.shadows[0]?.comparison?.maxAbsDiff ?? 0) - diff) < 1e-6, `maxAbsDiff ${record?.shadows[0]?.comparison?.maxAbsDiff}`);
});
