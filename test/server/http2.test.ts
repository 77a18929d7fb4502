// The HTTP/2 listener with real gRPC peers (@grpc/grpc-js client and servers, the Open Inference
// Protocol's gRPC service): calls are assigned by their metadata key like HTTP/1.1 requests, answers
// and trailers (grpc-status, grpc-message) come back whole, a bidirectional stream is relayed message
// by message, a cancelled call is cancelled upstream, the proxy's own failures are gRPC statuses, other
// HTTP/2 requests are forwarded to HTTP/1.1 upstreams, and a drain lets an open call finish.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, constants, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { CONNECT_REFUSED } from '../../src/http/errors.js';
import { requestsTotal } from '../../src/metrics/registry.js';
import { variantForKey } from '../../src/routing/assign.js';
import { grpcClient, modelInfer, startGrpcUpstream, type GrpcUpstream, type InferenceClient, type StreamInferResponse } from '../helpers/grpc-upstream.js';
import { metricValue } from '../helpers/metric-value.js';
import { http2PortOf, startProxy, type TestProxy } from '../helpers/proxy.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait-for.js';

let proxy: TestProxy;
let champion: GrpcUpstream;
let challenger: GrpcUpstream;
let plain: TestUpstream;
let client: InferenceClient;
let h2Address: string;

before(async () => {
  [champion, challenger, plain] = await Promise.all([startGrpcUpstream('champion'), startGrpcUpstream('challenger'), startUpstream()]);
  proxy = await startProxy({
    http2: { listen: '127.0.0.1:0' },
    limits: { upstreamTimeoutMs: 1_000 },
    routes: [
      {
        name: 'oip-grpc',
        match: { pathPrefix: '/inference.GRPCInferenceService' },
        sticky: [{ header: 'x-session-id' }],
        variants: [
          { name: 'champion', target: `http://${champion.address}`, weight: 70 },
          { name: 'challenger', target: `http://${challenger.address}`, weight: 30 },
        ],
      },
      { name: 'gone', match: { pathPrefix: '/gone.Service' }, variants: [{ name: 'nobody', target: 'http://127.0.0.1:1', weight: 1 }] },
      { name: 'rest', match: { pathPrefix: '/rest' }, sticky: [{ header: 'x-session-id' }], variants: [{ name: 'only', target: plain.url, weight: 1 }] },
    ],
  });
  h2Address = `127.0.0.1:${http2PortOf(proxy.proxy)}`;
  client = grpcClient(h2Address);
});

after(async () => {
  client.close();
  await proxy.close();
  await Promise.all([champion.close(), challenger.close(), plain.close()]);
});

/** One raw HTTP/2 request through the proxy (no :path when `path` is empty, as for CONNECT): the response head, body and trailers. */
async function h2Request(path: string, headers: Record<string, string | string[]>, body?: Buffer): Promise<{ headers: IncomingHttpHeaders; body: string; trailers: IncomingHttpHeaders }> {
  const session: ClientHttp2Session = connect(`http://${h2Address}`);
  try {
    const stream = session.request({ ...(path ? { ':path': path } : {}), ':method': body ? 'POST' : 'GET', ...headers }, { endStream: !body });
    if (body) stream.end(body);
    let trailers: IncomingHttpHeaders = {};
    stream.on('trailers', (received: IncomingHttpHeaders) => (trailers = received));
    const [head] = (await once(stream, 'response')) as [IncomingHttpHeaders];
    let text = '';
    for await (const chunk of stream) text += String(chunk);
    return { headers: head, body: text, trailers };
  } finally {
    session.close();
  }
}

test('unary calls go to the variant their metadata key gets, sticky, with the variant and request id in the response metadata', async () => {
  const route = proxy.proxy.holder.current.routes.byName.get('oip-grpc');
  assert.ok(route);
  const countedBefore = await metricValue(requestsTotal, { route: 'oip-grpc', variant: 'champion', code: '200' });
  let championCalls = 0;
  for (let i = 0; i < 40; i++) {
    const key = `user-${i}`;
    const expected: string = variantForKey(route, key).name;
    for (let repeat = 0; repeat < 2; repeat++) {
      const { response, headers } = await modelInfer(client, { model_name: 'fraud', id: `req-${i}-${repeat}` }, { 'x-session-id': key });
      assert.equal(response.model_name, expected, `${key} is answered by ${expected}`);
      assert.equal(response.id, `req-${i}-${repeat}`);
      assert.deepEqual(headers.get('x-abproxy-variant'), [expected]);
      assert.equal(headers.get('x-request-id').length, 1);
      if (expected === 'champion') championCalls++;
    }
  }
  assert.ok(championCalls > 0 && championCalls < 80, 'both variants served some keys');
  assert.equal((await metricValue(requestsTotal, { route: 'oip-grpc', variant: 'champion', code: '200' })) - (Number.isNaN(countedBefore) ? 0 : countedBefore), championCalls);
  const seen = champion.calls.at(-1)?.metadata ?? challenger.calls.at(-1)?.metadata;
  assert.ok(seen);
  assert.deepEqual(seen.get('x-forwarded-for'), ['127.0.0.1']);
  assert.deepEqual(seen.get('x-forwarded-proto'), ['http']);
  assert.equal(seen.get('x-request-id').length, 1);
});

test("an upstream's error status and message reach the client (a Trailers-Only answer stays one), counted as the HTTP status it stands for", async () => {
  const route = proxy.proxy.holder.current.routes.byName.get('oip-grpc');
  assert.ok(route);
  const labels = { route: 'oip-grpc', variant: variantForKey(route, 'user-1').name, code: '404' };
  const counted = await metricValue(requestsTotal, labels);
  await assert.rejects(modelInfer(client, { model_name: 'missing', id: 'x' }, { 'x-session-id': 'user-1' }), (error: grpc.ServiceError) => {
    assert.equal(error.code, grpc.status.NOT_FOUND);
    assert.match(error.details, /^model missing is not loaded on (champion|challenger)$/);
    return true;
  });
  assert.equal((await metricValue(requestsTotal, labels)) - (Number.isNaN(counted) ? 0 : counted), 1, 'NOT_FOUND counts as a 404');
});

test('a bidirectional stream is relayed message by message, both ways', async () => {
  const call = client.ModelStreamInfer(new grpc.Metadata({}));
  const answers: StreamInferResponse[] = [];
  call.on('data', (answer: StreamInferResponse) => answers.push(answer));
  for (let i = 1; i <= 3; i++) {
    call.write({ model_name: 'fraud', id: `s${i}` });
    // The next message is written only once the answer to this one is back: nothing waits for the stream's end.
    await waitFor(() => answers.length === i, `the answer to message ${i}`, 5_000);
    assert.equal(answers[i - 1]?.infer_response.id, `s${i}`);
  }
  call.end();
  await once(call, 'status');
});

test('a stream whose server speaks first is forwarded before the client sends anything', async () => {
  const metadata = new grpc.Metadata();
  metadata.set('x-server-first', '1');
  const greeted = client.ModelStreamInfer(metadata);
  const [greeting] = (await once(greeted, 'data')) as [StreamInferResponse];
  assert.equal(greeting.error_message, 'greeting');
  greeted.end();
  await once(greeted, 'status');
});

test('a call the client cancels is cancelled upstream', async () => {
  const cancelledBefore = champion.cancelled + challenger.cancelled;
  const call = client.ModelStreamInfer(new grpc.Metadata());
  call.on('error', () => undefined);
  const answered = new Promise((resolve) => call.once('data', resolve));
  call.write({ model_name: 'fraud', id: 'c1' });
  await answered;
  call.cancel();
  await waitFor(() => champion.cancelled + challenger.cancelled > cancelledBefore, 'the upstream call to be cancelled', 5_000);
});

test("the proxy's own failures are gRPC statuses with a message", async () => {
  await assert.rejects(modelInfer(client, { model_name: 'hang', id: 'h' }, { 'x-session-id': 'user-2' }), (error: grpc.ServiceError) => {
    assert.equal(error.code, grpc.status.DEADLINE_EXCEEDED);
    assert.match(error.details, /upstream/);
    return true;
  });
  const grpcHeaders = { 'content-type': 'application/grpc', te: 'trailers' };
  const frame = Buffer.from([0, 0, 0, 0, 0]); // one empty, uncompressed message
  const noRoute = await h2Request('/grpc.health.v1.Health/Check', grpcHeaders, frame);
  assert.equal(noRoute.headers[':status'], 200);
  assert.equal(noRoute.headers['grpc-status'], String(grpc.status.UNIMPLEMENTED));
  assert.equal(noRoute.headers['grpc-message'], 'no route matches /grpc.health.v1.Health/Check');
  const refused = await h2Request('/gone.Service/Call', grpcHeaders, frame);
  assert.equal(refused.headers['grpc-status'], String(grpc.status.UNAVAILABLE));
  assert.equal(refused.headers['x-abproxy-variant'], 'nobody');
  assert.match(String(refused.headers['grpc-message']), /refused/);
});

test('other HTTP/2 requests are forwarded to HTTP/1.1 upstreams, without its connection fields and with one Cookie field; a Host that differs from :authority, and CONNECT, are 400', async () => {
  const { headers, body } = await h2Request('/rest/predict?v=1', { 'x-session-id': 'u' });
  assert.equal(headers[':status'], constants.HTTP_STATUS_OK);
  assert.equal(headers['x-abproxy-variant'], 'only');
  assert.equal(headers.connection, undefined);
  assert.equal(headers['keep-alive'], undefined);
  const echoed = JSON.parse(body) as { method: string; url: string; headers: Record<string, string> };
  assert.equal(echoed.method, 'GET');
  assert.equal(echoed.url, '/rest/predict?v=1');
  assert.equal(echoed.headers.host, h2Address, 'Host comes from :authority');
  const sameHost = await h2Request('/rest/predict', { host: h2Address.toUpperCase() });
  assert.equal(sameHost.headers[':status'], constants.HTTP_STATUS_OK, 'a Host equal to :authority is fine');
  const received = plain.received.length;
  const otherHost = await h2Request('/rest/predict', { ':authority': 'a.example', host: 'b.example' });
  assert.equal(otherHost.headers[':status'], 400);
  assert.deepEqual(JSON.parse(otherHost.body), { error: 'Host header differs from :authority (RFC 9113 §8.3.1)', code: 'ABPROXY_BAD_REQUEST' });
  assert.equal(plain.received.length, received, 'a request whose Host and :authority differ is never forwarded');
  const connectRequest = await h2Request('', { ':method': 'CONNECT', ':authority': 'a.example:443' });
  assert.equal(connectRequest.headers[':status'], 400);
  assert.deepEqual(JSON.parse(connectRequest.body), { error: CONNECT_REFUSED, code: 'ABPROXY_BAD_REQUEST' });
  await h2Request('/rest/crumbs', { cookie: ['a=1', 'sid=u42'] });
  const cookies = (plain.received.at(-1)?.rawHeaders ?? []).filter((_v, i, all) => i % 2 === 1 && all[i - 1]?.toLowerCase() === 'cookie');
  assert.deepEqual(cookies, ['a=1; sid=u42'], 'cookie crumbs reach HTTP/1.1 as one field (RFC 9113 §8.2.3)');
  const notFound = await h2Request('/nowhere', {});
  assert.equal(notFound.headers[':status'], 404);
  assert.deepEqual(JSON.parse(notFound.body), { error: 'no route matches /nowhere', code: 'ABPROXY_NO_ROUTE' });
});

test("a body key is read from a call's first OIP message, and a stream keyed so still flows message by message", async (t) => {
  const own = await startProxy({
    http2: { listen: '127.0.0.1:0' },
    limits: { maxBodyBytes: 4_096 },
    routes: [
      {
        name: 'by-session',
        match: { pathPrefix: '/inference.GRPCInferenceService' },
        sticky: [{ body: 'parameters.session_id' }],
        variants: [
          { name: 'champion', target: `http://${champion.address}`, weight: 50 },
          { name: 'challenger', target: `http://${challenger.address}`, weight: 50 },
        ],
      },
    ],
  });
  const keyed = grpcClient(`127.0.0.1:${own.proxy.http2Plane?.address.port}`);
  t.after(async () => {
    keyed.close();
    await own.close();
  });
  const route = own.proxy.holder.current.routes.byName.get('by-session');
  assert.ok(route);
  const session = (id: string) => ({ session_id: { string_param: id } });
  for (let i = 0; i < 20; i++) {
    const { response } = await modelInfer(keyed, { model_name: 'fraud', id: `b${i}`, parameters: session(`card-${i}`) });
    assert.equal(response.model_name, variantForKey(route, `card-${i}`).name, `card-${i}`);
  }
  const stream = keyed.ModelStreamInfer(new grpc.Metadata());
  const answers: StreamInferResponse[] = [];
  stream.on('data', (answer: StreamInferResponse) => answers.push(answer));
  for (let i = 1; i <= 2; i++) {
    stream.write({ model_name: 'fraud', id: `k${i}`, parameters: session('card-7') });
    await waitFor(() => answers.length === i, `the answer to message ${i}`, 5_000);
  }
  stream.end();
  await once(stream, 'status');
  assert.deepEqual(answers.map((a) => a.infer_response.model_name), [variantForKey(route, 'card-7').name, variantForKey(route, 'card-7').name]);
  await assert.rejects(modelInfer(keyed, { model_name: 'fraud', id: 'x'.repeat(5_000), parameters: session('card-1') }), (error: grpc.ServiceError) => {
    assert.equal(error.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.equal(error.details, 'request body exceeds maxBodyBytes (4096 bytes)');
    return true;
  });
});

test('a call whose body streams past maxBodyBytes is RESOURCE_EXHAUSTED', async () => {
  await assert.rejects(modelInfer(client, { model_name: 'fraud', id: 'x'.repeat(1_100_000) }, { 'x-session-id': 'big' }), (error: grpc.ServiceError) => {
    assert.equal(error.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.equal(error.details, 'request body exceeds maxBodyBytes (1048576 bytes)');
    return true;
  });
});

test('an OIP call without a route of its own takes the route of its model, /v2/models/NAME, at its grpcTarget', async (t) => {
  const own = await startProxy({
    http2: { listen: '127.0.0.1:0' },
    routes: [
      {
        name: 'fraud',
        match: { pathPrefix: '/v2/models/fraud' },
        sticky: [{ header: 'x-session-id' }],
        variants: [
          { name: 'champion', target: plain.url, grpcTarget: `http://${champion.address}`, weight: 50 },
          { name: 'challenger', target: plain.url, grpcTarget: `http://${challenger.address}`, weight: 50 },
        ],
      },
      { name: 'other', match: { pathPrefix: '/v2/models/other' }, variants: [{ name: 'only', target: plain.url, grpcTarget: `http://${challenger.address}`, weight: 1 }] },
    ],
  });
  const byModel = grpcClient(`127.0.0.1:${own.proxy.http2Plane?.address.port}`);
  t.after(async () => {
    byModel.close();
    await own.close();
  });
  const route = own.proxy.holder.current.routes.byName.get('fraud');
  assert.ok(route);
  for (let i = 0; i < 10; i++) {
    const key = `user-${i}`;
    const { response, headers } = await modelInfer(byModel, { model_name: 'fraud', id: `m${i}` }, { 'x-session-id': key });
    assert.equal(response.model_name, variantForKey(route, key).name);
    const rest = await fetch(`${own.url}/v2/models/fraud/infer`, { method: 'POST', body: '{}', headers: { 'x-session-id': key } });
    await rest.arrayBuffer();
    assert.deepEqual(headers.get('x-abproxy-variant'), [rest.headers.get('x-abproxy-variant')], 'REST and gRPC calls of one key get one variant');
  }
  assert.equal((await modelInfer(byModel, { model_name: 'other', id: 'o' })).response.model_name, 'challenger');
  await assert.rejects(modelInfer(byModel, { model_name: 'nobody', id: 'n' }), (error: grpc.ServiceError) => {
    assert.equal(error.code, grpc.status.UNIMPLEMENTED);
    assert.equal(error.details, 'no route matches /inference.GRPCInferenceService/ModelInfer or model "nobody" (/v2/models/nobody)');
    return true;
  });
});

test('a drain lets an open call finish and refuses new ones', async () => {
  const own = await startProxy({
    http2: { listen: '127.0.0.1:0' },
    routes: [{ name: 'oip-grpc', match: { pathPrefix: '/inference.GRPCInferenceService' }, variants: [{ name: 'champion', target: `http://${champion.address}`, weight: 1 }] }],
  });
  const address = `127.0.0.1:${own.proxy.http2Plane?.address.port}`;
  const early = grpcClient(address);
  try {
    await modelInfer(early, { model_name: 'fraud', id: 'warm' });
    const callsBefore = champion.calls.length;
    const slow = modelInfer(early, { model_name: 'slow', id: 'in-flight' });
    await waitFor(() => champion.calls.length > callsBefore, 'the slow call to reach the upstream', 5_000);
    const drained = own.close();
    const { response } = await slow;
    assert.equal(response.id, 'in-flight', 'the call open when the drain began is answered');
    await drained;
    const late = grpcClient(address);
    await assert.rejects(modelInfer(late, { model_name: 'fraud', id: 'late' }, {}, 2_000), (error: grpc.ServiceError) => error.code === grpc.status.UNAVAILABLE);
    late.close();
  } finally {
    early.close();
  }
});
