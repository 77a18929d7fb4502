// HTTP/2 request heads against limits.maxHeaderBytes (16 384, the default), sent with node's http2 client
// on real sockets: a header list over the limit, as RFC 9113 §6.5.2 counts it, is a JSON 431 (414 when
// :path alone is over it; gRPC: RESOURCE_EXHAUSTED) whether or not the client has acknowledged the
// SETTINGS yet, counted, never forwarded, and the session serves on; node resets a list over twice the
// limit itself once they are acknowledged, counted in abproxy_http2_streams_refused_total; node's 128-field
// default no longer resets a list within the limit; a 404 quotes at most 200 characters of the path.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, constants, type ClientHttp2Session, type IncomingHttpHeaders, type OutgoingHttpHeaders, type Http2Session } from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { http2StreamsRefusedTotal, requestsTotal } from '../../src/metrics/registry.js';
import { grpcClient, modelInfer, startGrpcUpstream, type GrpcUpstream, type InferenceClient } from '../helpers/grpc-upstream.js';
import { metricValue } from '../helpers/metric-value.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { startRawUpstream, type RawUpstream } from '../helpers/raw-upstream.js';
import { waitFor } from '../helpers/wait-for.js';

const MAX_HEADER_BYTES = 16_384;
/** Every request names this authority, so a header list's size does not depend on the port. */
const AUTHORITY = 'abproxy.test';
/** The fields node's client sends for a GET of /rest/x: :method GET (42), :authority (54), :scheme http (43), :path /rest/x (44). */
const GET_REST_X_BYTES = 183;
const GRPC_INFER = '/inference.GRPCInferenceService/ModelInfer';
/** The REST upstream's answer; it closes, so each request it receives is a connection of its own. */
const OK = 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok';

let proxy: TestProxy;
/** Records each forwarded request's bytes as sent (a node:http upstream would refuse heads over its own 16 KiB). */
let plain: RawUpstream;
let champion: GrpcUpstream;
let h2Url: string;
/** Server sessions whose SETTINGS the client has acknowledged (node applies maxHeaderListSize from then on). */
const acknowledged = new WeakSet<Http2Session>();
/** For each stream node delivered to the proxy, in order: had its session's SETTINGS been acknowledged. */
const deliveredAfterAck: boolean[] = [];
let lastServerSession: Http2Session | undefined;

before(async () => {
  [plain, champion] = await Promise.all([startRawUpstream((socket) => socket.end(OK)), startGrpcUpstream('champion')]);
  proxy = await startProxy({
    http2: { listen: '127.0.0.1:0' },
    limits: { maxHeaderBytes: MAX_HEADER_BYTES },
    routes: [
      { name: 'rest', match: { pathPrefix: '/rest' }, variants: [{ name: 'only', target: plain.url, weight: 1 }] },
      { name: 'oip-grpc', match: { pathPrefix: '/inference.GRPCInferenceService' }, variants: [{ name: 'champion', target: `http://${champion.address}`, weight: 1 }] },
    ],
  });
  const plane = proxy.proxy.http2Plane;
  assert.ok(plane, 'the HTTP/2 listener is up');
  h2Url = `http://127.0.0.1:${plane.address.port}`;
  plane.server.on('session', (session: Http2Session) => session.once('localSettings', () => acknowledged.add(session)));
  plane.server.on('stream', (stream) => {
    lastServerSession = stream.session;
    deliveredAfterAck.push(stream.session !== undefined && acknowledged.has(stream.session));
  });
});

after(async () => {
  await proxy.close();
  await Promise.all([plain.close(), champion.close()]);
});

/** The request-targets the REST upstream received after its first `from` requests. */
function forwardedSince(from: number): string[] {
  return plain.received.slice(from).map((head) => head.split(' ')[1] ?? '');
}

interface Answer {
  /** The response head, or undefined when the stream was reset unanswered. */
  head: IncomingHttpHeaders | undefined;
  body: string;
  /** The RST_STREAM code the stream closed with (NGHTTP2_NO_ERROR for an answered one). */
  rstCode: number | undefined;
}

/** One request on `session`, to the stream's end or reset. */
async function send(session: ClientHttp2Session, headers: OutgoingHttpHeaders, body?: Buffer): Promise<Answer> {
  const stream = session.request({ ':method': body ? 'POST' : 'GET', ':authority': AUTHORITY, ...headers }, { endStream: !body });
  if (body) stream.end(body);
  const answer: Answer = { head: undefined, body: '', rstCode: undefined };
  stream.on('response', (head: IncomingHttpHeaders) => (answer.head = head));
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => (answer.body += chunk));
  stream.on('error', () => undefined); // a reset stream: rstCode says how
  await new Promise((resolve) => stream.once('close', resolve));
  answer.rstCode = stream.rstCode;
  return answer;
}

function assertJsonError(answer: Answer, status: number, body: { error: string; code: string }): void {
  assert.equal(answer.head?.[':status'], status, `rstCode ${answer.rstCode}`);
  assert.equal(answer.head['content-type'], 'application/json');
  assert.deepEqual(JSON.parse(answer.body), body);
}

async function counted(code: string): Promise<number> {
  const value = await metricValue(requestsTotal, { route: 'none', variant: 'none', code });
  return Number.isNaN(value) ? 0 : value;
}

const refusedByNode = () => metricValue(http2StreamsRefusedTotal, {});

/** Resolves once the client has acknowledged the SETTINGS of the server session that served the last request. */
async function settingsAcknowledged(): Promise<void> {
  const serverSession = lastServerSession;
  await waitFor(() => serverSession !== undefined && acknowledged.has(serverSession), 'the client to acknowledge the SETTINGS');
}

/** A session's first request goes out with the connection preface, before the client can acknowledge the server's SETTINGS. */
function openSession(): ClientHttp2Session {
  const session = connect(h2Url);
  session.on('error', () => undefined); // a session error shows as the failure of the requests on it
  return session;
}

test('414: a 20 000-character :path, sent with the preface and again once the SETTINGS are acknowledged, is a JSON 414 both times, counted, never forwarded; the session serves on', async () => {
  const received = plain.received.length;
  const before414 = await counted('414');
  const delivered = deliveredAfterAck.length;
  const session = openSession();
  try {
    const path = `/rest/${'a'.repeat(19_994)}`; // :path field: 5 + 20 000 + 32 octets
    const expected = { error: 'request URL is too long: its :path field is 20037 bytes, over maxHeaderBytes (16384)', code: 'ABPROXY_URI_TOO_LONG' };
    assertJsonError(await send(session, { ':path': path }), 414, expected);
    assertJsonError(await send(session, { ':path': path }), 414, expected);
    const next = await send(session, { ':path': '/rest/after' });
    assert.equal(next.head?.[':status'], 200);
    assert.deepEqual(deliveredAfterAck.slice(delivered), [false, true, true], 'the first request came before the SETTINGS ACK, the others after it');
  } finally {
    session.close();
  }
  assert.deepEqual(forwardedSince(received), ['/rest/after'], 'only the request within the limit reached the upstream');
  assert.equal(await counted('414'), before414 + 2);
});

test('431: a 20 000-byte header, before and after the SETTINGS ACK, is a JSON 431, counted, never forwarded; the session serves on', async () => {
  const received = plain.received.length;
  const before431 = await counted('431');
  const delivered = deliveredAfterAck.length;
  const session = openSession();
  try {
    const headers = { ':path': '/rest/x', 'x-big': 'c'.repeat(20_000) }; // x-big: 5 + 20 000 + 32, after 183 for the rest
    const expected = { error: 'request headers are too large: the header list is 20220 bytes, over maxHeaderBytes (16384)', code: 'ABPROXY_HEADERS_TOO_LARGE' };
    assertJsonError(await send(session, headers), 431, expected);
    assertJsonError(await send(session, headers), 431, expected);
    assert.equal((await send(session, { ':path': '/rest/after' })).head?.[':status'], 200);
    assert.deepEqual(deliveredAfterAck.slice(delivered), [false, true, true], 'the first request came before the SETTINGS ACK, the others after it');
  } finally {
    session.close();
  }
  assert.deepEqual(forwardedSince(received), ['/rest/after']);
  assert.equal(await counted('431'), before431 + 2);
});

test('a header list of exactly maxHeaderBytes is forwarded whole; one byte more is 431', async () => {
  const session = openSession();
  try {
    const filler = (valueBytes: number) => ({ ':path': '/rest/x', 'x-fill': 'f'.repeat(valueBytes) }); // x-fill: 6 + value + 32
    const exact = MAX_HEADER_BYTES - GET_REST_X_BYTES - 38;
    const whole = await send(session, filler(exact));
    assert.equal(whole.head?.[':status'], 200);
    assert.ok(plain.received.at(-1)?.includes(`\r\nx-fill: ${'f'.repeat(exact)}\r\n`), 'the field reached the upstream whole');
    const over = await send(session, filler(exact + 1));
    assertJsonError(over, 431, { error: 'request headers are too large: the header list is 16385 bytes, over maxHeaderBytes (16384)', code: 'ABPROXY_HEADERS_TOO_LARGE' });
  } finally {
    session.close();
  }
});

test("200 small fields within the limit are forwarded (node's default of 128 fields a list reset them with ENHANCE_YOUR_CALM)", async () => {
  const session = openSession();
  try {
    const many: OutgoingHttpHeaders = { ':path': '/rest/many' };
    for (let i = 0; i < 200; i++) many[`x-f${String(i).padStart(3, '0')}`] = 'v'; // 200 x (6 + 1 + 32) = 7 800 octets
    const answer = await send(session, many);
    assert.equal(answer.head?.[':status'], 200, `rstCode ${answer.rstCode}`);
    assert.equal(plain.received.at(-1)?.match(/\r\nx-f\d{3}: v(?=\r\n)/g)?.length, 200);
  } finally {
    session.close();
  }
});

test('a header list over twice maxHeaderBytes: 431 when it comes with the preface; once the SETTINGS are acknowledged node resets it (ENHANCE_YOUR_CALM), unanswered, counted as refused by node and not as a 431; the session serves on', async () => {
  const received = plain.received.length;
  const before431 = await counted('431');
  const refusedBefore = await refusedByNode();
  const session = openSession();
  try {
    const headers = { ':path': '/rest/x', 'x-big': 'c'.repeat(40_000) };
    assertJsonError(await send(session, headers), 431, { error: 'request headers are too large: the header list is 40220 bytes, over maxHeaderBytes (16384)', code: 'ABPROXY_HEADERS_TOO_LARGE' });
    await settingsAcknowledged();
    const reset = await send(session, headers);
    assert.equal(reset.head, undefined);
    assert.equal(reset.rstCode, constants.NGHTTP2_ENHANCE_YOUR_CALM);
    assert.equal((await send(session, { ':path': '/rest/after' })).head?.[':status'], 200);
  } finally {
    session.close();
  }
  assert.deepEqual(forwardedSince(received), ['/rest/after']);
  assert.equal(await counted('431'), before431 + 1, 'node resets without telling the proxy');
  assert.equal(await refusedByNode(), refusedBefore + 1);
});

test('three times maxHeaderBytes after the SETTINGS ACK: each reset by node is counted once, whether a later request on the session or the client\'s GOAWAY shows it; the session serves on in between', async () => {
  const received = plain.received.length;
  const refusedBefore = await refusedByNode();
  const session = openSession();
  const headers = { ':path': '/rest/x', 'x-big': 'c'.repeat(3 * MAX_HEADER_BYTES) };
  try {
    assert.equal((await send(session, { ':path': '/rest/first' })).head?.[':status'], 200);
    await settingsAcknowledged();
    const reset = await send(session, headers);
    assert.equal(reset.head, undefined);
    assert.equal(reset.rstCode, constants.NGHTTP2_ENHANCE_YOUR_CALM);
    assert.equal((await send(session, { ':path': '/rest/after' })).head?.[':status'], 200);
    assert.equal(await refusedByNode(), refusedBefore + 1, 'counted when the next stream reached the handler');
    assert.equal((await send(session, headers)).rstCode, constants.NGHTTP2_ENHANCE_YOUR_CALM);
  } finally {
    session.close(); // GOAWAY: the last reset comes after the last stream the handler saw
  }
  await waitFor(async () => (await refusedByNode()) === refusedBefore + 2 || undefined, 'the reset before GOAWAY to be counted');
  assert.deepEqual(forwardedSince(received), ['/rest/first', '/rest/after']);
});

test('a gRPC call over the limit is RESOURCE_EXHAUSTED in a Trailers-Only answer (a long :path too), counted as 431 (414), never reaching the upstream; the client calls on', async () => {
  const calls = champion.calls.length;
  const [before414, before431] = [await counted('414'), await counted('431')];
  const grpcHeaders = { 'content-type': 'application/grpc', te: 'trailers' };
  const frame = Buffer.from([0, 0, 0, 0, 0]); // one empty, uncompressed message
  const session = openSession();
  try {
    const metadata = await send(session, { ':path': GRPC_INFER, ...grpcHeaders, 'x-big': 'c'.repeat(20_000) }, frame);
    assert.equal(metadata.head?.[':status'], 200);
    assert.equal(metadata.head['content-type'], 'application/grpc');
    assert.equal(metadata.head['grpc-status'], String(grpc.status.RESOURCE_EXHAUSTED));
    assert.equal(metadata.head['grpc-message'], 'request headers are too large: the header list is 20358 bytes, over maxHeaderBytes (16384)');
    assert.equal(metadata.body, '');
    const longPath = await send(session, { ':path': `/inference.GRPCInferenceService/${'M'.repeat(20_000)}`, ...grpcHeaders }, frame);
    assert.equal(longPath.head?.['grpc-status'], String(grpc.status.RESOURCE_EXHAUSTED));
    assert.equal(longPath.head['grpc-message'], 'request URL is too long: its :path field is 20069 bytes, over maxHeaderBytes (16384)');
  } finally {
    session.close();
  }
  const client: InferenceClient = grpcClient(h2Url.replace('http://', ''));
  try {
    await assert.rejects(modelInfer(client, { model_name: 'fraud', id: 'big' }, { 'x-big': 'c'.repeat(20_000) }), (error: grpc.ServiceError) => {
      assert.equal(error.code, grpc.status.RESOURCE_EXHAUSTED);
      assert.match(error.details, /^request headers are too large: the header list is \d+ bytes, over maxHeaderBytes \(16384\)$/);
      return true;
    });
    const { response } = await modelInfer(client, { model_name: 'fraud', id: 'small' });
    assert.equal(response.id, 'small');
  } finally {
    client.close();
  }
  assert.deepEqual(champion.calls.slice(calls).map((call) => call.method), ['ModelInfer'], 'only the call within the limit reached the upstream');
  assert.deepEqual([await counted('414'), await counted('431')], [before414 + 1, before431 + 2]);
});

test('a 404 quotes the first 200 characters of a path that matches no route, then an ellipsis', async () => {
  const session = openSession();
  try {
    const path = `/nowhere/${'b'.repeat(10_000)}`;
    assertJsonError(await send(session, { ':path': path }), 404, { error: `no route matches ${path.slice(0, 200)}…`, code: 'ABPROXY_NO_ROUTE' });
    const grpcCall = await send(session, { ':path': `/other.Service/${'b'.repeat(10_000)}`, 'content-type': 'application/grpc', te: 'trailers' }, Buffer.from([0, 0, 0, 0, 0]));
    assert.equal(grpcCall.head?.['grpc-status'], String(grpc.status.UNIMPLEMENTED));
    assert.equal(grpcCall.head['grpc-message'], `no route matches /other.Service/${'b'.repeat(185)}%E2%80%A6`);
  } finally {
    session.close();
  }
});
