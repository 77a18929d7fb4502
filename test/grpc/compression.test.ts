// gRPC message compression (grpc-encoding gzip or deflate, a message's compressed flag): frames read back
// uncompressed; through the proxy a real @grpc/grpc-js client compressing every message gets its body key
// read, its calls answered by a local model, and its compressed answers compared tensor by tensor with a
// shadow's uncompressed ones; an encoding the proxy cannot read is UNIMPLEMENTED with the ones it can.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, readFileSync } from 'node:fs';
import { connect, createServer, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync, gzipSync } from 'node:zlib';
import protobuf from 'protobufjs';
import { frameMessage, grpcMessages, uncompressedBody } from '../../src/grpc/framing.js';
import { variantForKey } from '../../src/routing/assign.js';
import type { ShadowLogRecord } from '../../src/shadow/log-record.js';
import { grpcClient, modelInfer, startGrpcUpstream, type InferRequest } from '../helpers/grpc-upstream.js';
import { startProxy } from '../helpers/proxy.js';
import { waitFor } from '../helpers/wait-for.js';

const GZIP = { 'grpc.default_compression_algorithm': 2 };
const root = new protobuf.Root().loadSync(fileURLToPath(new URL('../fixtures/grpc/inference.proto', import.meta.url)), { keepCase: true });
const InferResponse = root.lookupType('inference.ModelInferResponse');

/** A frame with the compressed flag set. */
function compressedFrame(bytes: Buffer): Buffer {
  const head = Buffer.from([1, 0, 0, 0, 0]);
  head.writeUInt32BE(bytes.length, 1);
  return Buffer.concat([head, bytes]);
}

test('compressed messages read back by the call\'s grpc-encoding; what cannot be read is undefined', () => {
  const first = Buffer.from('first message');
  const second = Buffer.from('second, sent uncompressed');
  const mixed = Buffer.concat([compressedFrame(gzipSync(first)), frameMessage(second)]);
  assert.deepEqual(grpcMessages(mixed, 'gzip'), [first, second]);
  assert.deepEqual(grpcMessages(compressedFrame(deflateSync(first)), 'deflate'), [first]);
  assert.equal(grpcMessages(mixed, undefined), undefined, 'flagged, with no grpc-encoding');
  assert.equal(grpcMessages(mixed, 'identity'), undefined, 'flagged, in identity');
  assert.equal(grpcMessages(mixed, 'snappy'), undefined, 'an encoding not read here');
  assert.equal(grpcMessages(compressedFrame(gzipSync(Buffer.alloc(10_000))), 'gzip', 1_000), undefined, 'past the bound once decompressed');
  assert.equal(grpcMessages(compressedFrame(Buffer.from('not gzip')), 'gzip'), undefined);
  assert.deepEqual(uncompressedBody(mixed, 'gzip'), Buffer.concat([frameMessage(first), frameMessage(second)]));
  const plain = frameMessage(second);
  assert.equal(uncompressedBody(plain, 'gzip'), plain, 'nothing compressed: the body itself');
});

test('a compressing client: its body key is read, a local model answers it, its answers compare with a shadow\'s', async (t) => {
  const [champion, challenger, shadow] = await Promise.all([startGrpcUpstream('champion'), startGrpcUpstream('challenger'), startGrpcUpstream('shadow', { probability: 0.25 })]);
  // A champion answering every ModelInfer with a gzip-compressed message (grpc-js servers never compress).
  const compressing = createServer();
  compressing.on('stream', (stream: ServerHttp2Stream) => {
    stream.resume();
    stream.on('end', () => {
      const answer = InferResponse.encode(InferResponse.fromObject({ model_name: 'gzip-champion', id: 'g', outputs: [{ name: 'fraud_probability', datatype: 'FP32', shape: [1, 1], contents: { fp32_contents: [0.25] } }] })).finish();
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-encoding': 'gzip' }, { waitForTrailers: true });
      stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(compressedFrame(gzipSync(answer)));
    });
  });
  compressing.listen(0, '127.0.0.1');
  await once(compressing, 'listening');
  const compressingUrl = `http://127.0.0.1:${(compressing.address() as AddressInfo).port}`;
  const logPath = join(mkdtempSync(join(tmpdir(), 'abproxy-grpc-gzip-')), 'shadow.jsonl');
  const FIXTURE = 'test/fixtures/wallaroo-ccfraud';
  const proxy = await startProxy({
    http2: { listen: '127.0.0.1:0' },
    shadowLog: { path: logPath, maxBytes: 1_048_576 },
    models: { 'ccfraud-keras': { path: join(FIXTURE, 'models/keras_ccfraud.onnx') } },
    routes: [
      {
        name: 'keyed',
        match: { pathPrefix: '/v2/models/keyed' },
        sticky: [{ body: 'parameters.session_id' }],
        variants: [
          { name: 'champion', target: `http://${champion.address}`, weight: 50 },
          { name: 'challenger', target: `http://${challenger.address}`, weight: 50 },
        ],
      },
      { name: 'local', match: { pathPrefix: '/v2/models/local' }, variants: [{ name: 'keras', target: 'model:ccfraud-keras', weight: 1 }] },
      { name: 'metadata', match: { pathPrefix: '/inference.GRPCInferenceService/ModelMetadata' }, variants: [{ name: 'keras', target: 'model:ccfraud-keras', weight: 1 }] },
      {
        name: 'compared',
        match: { pathPrefix: '/v2/models/compared' },
        variants: [{ name: 'champion', target: compressingUrl, weight: 1 }],
        shadows: [{ name: 'plain', target: `http://${shadow.address}` }],
      },
    ],
  });
  const address = `127.0.0.1:${proxy.proxy.http2Plane?.address.port}`;
  const client = grpcClient(address, undefined, GZIP);
  t.after(async () => {
    client.close();
    await proxy.close();
    compressing.close();
    await Promise.all([champion.close(), challenger.close(), shadow.close()]);
  });

  // The body key: every call routed by model name and keyed by its compressed first message.
  const route = proxy.proxy.holder.current.routes.byName.get('keyed');
  assert.ok(route);
  for (let i = 0; i < 12; i++) {
    const { response } = await modelInfer(client, { model_name: 'keyed', id: `k${i}`, parameters: { session_id: { string_param: `card-${i}` } } });
    assert.equal(response.model_name, variantForKey(route, `card-${i}`).name, `card-${i}`);
  }

  // A local model reads the compressed call.
  const smoke = JSON.parse(readFileSync(join(FIXTURE, 'data/smoke_test.json'), 'utf8')) as { tensor: number[][] };
  const request: InferRequest = { model_name: 'local', id: 'l1', inputs: [{ name: 'tensor', datatype: 'FP32', shape: [1, 29], contents: { fp32_contents: smoke.tensor.flat() } }] };
  const { response } = await modelInfer(client, request);
  const score = response.raw_output_contents?.[0]?.readFloatLE(0) ?? NaN;
  assert.ok(Math.abs(score - 0.00149742) < 1e-6, `keras answered ${score}`);

  // A compressed champion answer compares tensor by tensor with the shadow's uncompressed one.
  const { response: compared } = await modelInfer(client, { model_name: 'compared', id: 'c1', inputs: request.inputs });
  assert.equal(compared.model_name, 'gzip-champion');
  assert.ok(await waitFor(() => proxy.proxy.shadows.log?.written === 1, 'the exchange was logged', 10_000));
  const record = JSON.parse(readFileSync(logPath, 'utf8').trim()) as ShadowLogRecord;
  const comparison = record.shadows[0]?.comparison;
  assert.equal(comparison?.result, 'match', JSON.stringify(comparison));
  assert.equal(comparison?.kind, 'oip');
  assert.deepEqual((record.input.body?.json as { inputs?: { name: string }[] } | undefined)?.inputs?.map((input) => input.name), ['tensor'], 'the compressed call is logged as the request it stands for');

  // A local model refuses an encoding the proxy does not read, naming the ones it reads.
  const session = connect(`http://${address}`);
  t.after(() => session.close());
  const stream = session.request({ ':method': 'POST', ':path': '/inference.GRPCInferenceService/ModelMetadata', 'content-type': 'application/grpc', te: 'trailers', 'grpc-encoding': 'snappy' });
  stream.end(compressedFrame(Buffer.from('snappy bytes')));
  const [head] = (await once(stream, 'response')) as [IncomingHttpHeaders];
  stream.resume();
  assert.equal(head['grpc-status'], '12', 'UNIMPLEMENTED');
  assert.equal(head['grpc-accept-encoding'], 'identity,gzip,deflate');
});
