// Every error status of the data plane as JSON {"error","code"} on real sockets, and reliability case 8
// (upstream silent -> 504, no listener -> 502 at once, reset mid-body -> cut off, invalid status line -> 502),
// and failed TLS to https:// upstreams said as what to fix. A refused request pipelined behind one still
// in flight is answered after it (RFC 9112 §9.3.2).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { echo, startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { rawRequest } from '../helpers/raw.js';
import { closedPort, startRawUpstream, type RawUpstream } from '../helpers/raw-upstream.js';
import { converse, json, parseResponse } from '../helpers/conversation.js';
import { metricValue } from '../helpers/metric-value.js';
import { CONNECT_REFUSED } from '../../src/http/errors.js';
import { requestsTotal } from '../../src/metrics/registry.js';

const UPSTREAM_TIMEOUT_MS = 1_500;
let good: TestUpstream;
/** Answers like `good` after 200 ms: a pipelined request's answer is still due when the next one is refused. */
let slow: TestUpstream;
/** Answers 1 MB of "x": more than a socket buffers, so node waits for 'drain' while writing it. */
let large: TestUpstream;
let silent: RawUpstream;
let invalid: RawUpstream;
let continuing: RawUpstream;
let resetting: RawUpstream;
let resettingChunked: RawUpstream;
let secure: HttpsServer;
let proxy: TestProxy;
/** A self-signed certificate for 127.0.0.1 (test/fixtures/tls/README.md), which this process does not trust. */
const TLS = fileURLToPath(new URL('../fixtures/tls/', import.meta.url));

function route(name: string, target: string) {
  return { name, match: { pathPrefix: `/${name}` }, variants: [{ name: 'only', target, weight: 1 }] };
}

before(async () => {
  good = await startUpstream();
  slow = await startUpstream((req, res, body) => setTimeout(() => echo(req, res, body), 200));
  large = await startUpstream((_req, res) => res.end('x'.repeat(1_000_000)));
  secure = createHttpsServer({ cert: readFileSync(join(TLS, 'cert.pem')), key: readFileSync(join(TLS, 'key.pem')) }, (_req, res) => res.end('secret'));
  secure.listen(0, '127.0.0.1');
  await once(secure, 'listening');
  silent = await startRawUpstream(() => undefined);
  invalid = await startRawUpstream((socket) => socket.end('HTTP/1.1 abc Broken\r\ncontent-length: 0\r\n\r\n'));
  continuing = await startRawUpstream((socket) => socket.end('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok'));
  resetting = await startRawUpstream((socket) => {
    socket.write('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 100\r\n\r\n0123456789');
    setTimeout(() => socket.resetAndDestroy(), 50);
  });
  resettingChunked = await startRawUpstream((socket) => {
    socket.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\na\r\n0123456789\r\n');
    setTimeout(() => socket.resetAndDestroy(), 50);
  });
  proxy = await startProxy({
    limits: { maxBodyBytes: 1024, upstreamTimeoutMs: UPSTREAM_TIMEOUT_MS, headersTimeoutMs: 1_000, requestTimeoutMs: 2_000 },
    routes: [
      route('good', good.url),
      route('slow', slow.url),
      route('large', large.url),
      route('silent', silent.url),
      route('invalid', invalid.url),
      route('continuing', continuing.url),
      route('reset', resetting.url),
      route('reset-chunked', resettingChunked.url),
      route('refused', `http://127.0.0.1:${await closedPort()}`),
      route('untrusted', `https://127.0.0.1:${(secure.address() as AddressInfo).port}`),
      route('not-tls', good.url.replace('http:', 'https:')),
    ],
  });
});

after(async () => {
  await proxy.close();
  secure.close();
  await Promise.all([good.close(), slow.close(), large.close(), silent.close(), invalid.close(), continuing.close(), resetting.close(), resettingChunked.close()]);
});

function get(path: string, extra = ''): string {
  return `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n${extra}\r\n`;
}

async function expectJsonError(bytes: string, status: number, code: string): Promise<ReturnType<typeof parseResponse>> {
  const raw = await rawRequest(proxy.port, bytes, 5_000);
  const reply = parseResponse(raw.text);
  assert.equal(reply.status, status, raw.text.slice(0, 300));
  assert.equal(reply.headers.get('content-type'), 'application/json');
  const body = JSON.parse(reply.body) as { error: unknown; code: unknown };
  assert.equal(body.code, code);
  assert.equal(typeof body.error, 'string');
  assert.ok((body.error as string).length > 0);
  return reply;
}

test('400: HTTP/1.1 without Host, a target that is neither a path nor an http(s) URL, malformed framing', async () => {
  await expectJsonError('GET /good HTTP/1.1\r\n\r\n', 400, 'ABPROXY_BAD_REQUEST');
  for (const target of ['ftp://a.example/good', 'http://user@a.example/good', 'http:///good', 'http://a.example:80x/good', 'good']) {
    await expectJsonError(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`, 400, 'ABPROXY_BAD_REQUEST');
  }
  await expectJsonError('POST /good HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n', 400, 'ABPROXY_BAD_REQUEST');
  const ok = await rawRequest(proxy.port, 'GET /good HTTP/1.0\r\n\r\n');
  assert.equal(ok.status, 200, 'HTTP/1.0 may omit Host');
  assert.equal(good.received.length, 1);
});

test('400: CONNECT in authority or origin form is answered (node would close the socket unanswered) and never forwarded', async () => {
  const received = good.received.length;
  for (const target of ['a.example:443', '/good']) {
    const reply = await expectJsonError(`CONNECT ${target} HTTP/1.1\r\nHost: a.example:443\r\n\r\n`, 400, 'ABPROXY_BAD_REQUEST');
    assert.equal(json(reply.body).error, CONNECT_REFUSED);
    assert.equal(reply.headers.get('connection'), 'close');
  }
  assert.equal(good.received.length, received);
});

test('404: no route matches; the message quotes the first 200 characters of the path', async () => {
  await expectJsonError(get('/nowhere'), 404, 'ABPROXY_NO_ROUTE');
  await expectJsonError(get('/goodness'), 404, 'ABPROXY_NO_ROUTE'); // prefixes match on segment boundaries
  const path = `/nowhere/${'b'.repeat(10_000)}`;
  const long = await expectJsonError(get(path), 404, 'ABPROXY_NO_ROUTE');
  assert.equal(json(Buffer.from(long.body, 'latin1').toString('utf8')).error, `no route matches ${path.slice(0, 200)}…`); // read as bytes; the JSON is UTF-8
});

test('413: declared body over maxBodyBytes, answered and closed before the body is read', async () => {
  const reply = await expectJsonError(`POST /good HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\n\r\n`, 413, 'ABPROXY_BODY_TOO_LARGE');
  assert.equal(reply.headers.get('connection'), 'close');
});

test('431: a 20 000-byte header', async () => {
  const raw = await rawRequest(proxy.port, get('/good', `X-Big: ${'a'.repeat(20_000)}\r\n`), 5_000);
  assert.ok(raw.closed, 'connection closed');
  const reply = parseResponse(raw.text);
  assert.equal(reply.status, 431);
  assert.equal(json(reply.body).code, 'ABPROXY_HEADERS_TOO_LARGE');
});

test('414: a 20 000-byte URL, also as the second request on a keep-alive connection; a URL just under the limit plus a header is still 431', async () => {
  const received = good.received.length;
  const counted = { route: 'none', variant: 'none', code: '414' };
  const countedBefore = await metricValue(requestsTotal, counted);
  const raw = await rawRequest(proxy.port, get(`/good/${'a'.repeat(20_000)}`), 5_000);
  assert.ok(raw.closed, 'connection closed');
  assert.equal(raw.text.split('\r\n')[0], 'HTTP/1.1 414 URI Too Long');
  assert.deepEqual(json(parseResponse(raw.text).body), { error: 'request URL is too long', code: 'ABPROXY_URI_TOO_LONG' });
  assert.equal(await metricValue(requestsTotal, counted), countedBefore + 1);

  const keptAlive = await converse(proxy.port);
  keptAlive.write('GET /good HTTP/1.1\r\nHost: a\r\n\r\n');
  await keptAlive.waitFor(/"bytes":0\}$/);
  keptAlive.write(get(`/good/${'a'.repeat(20_000)}`));
  await keptAlive.waitClosed();
  assert.match(keptAlive.text, /^HTTP\/1\.1 200 [\s\S]*HTTP\/1\.1 414 URI Too Long\r\n/);

  const under = await rawRequest(proxy.port, get(`/good/${'a'.repeat(16_300)}`, `X-Big: ${'b'.repeat(2_000)}\r\n`), 5_000);
  assert.equal(under.status, 431);
  assert.equal(json(parseResponse(under.text).body).code, 'ABPROXY_HEADERS_TOO_LARGE');
  assert.equal(good.received.length, received + 1, 'only the keep-alive connection\'s first request reached the upstream');
});

/** Splits the back-to-back answers of one connection. */
function answers(text: string): ReturnType<typeof parseResponse>[] {
  return text.split(/(?=HTTP\/1\.1 \d{3} )/).map(parseResponse);
}

test('a 431 or 400 pipelined in the same write behind a GET still in flight comes after the GET\'s 200, then the connection closes; only the GET reaches the upstream', async () => {
  const first = 'GET /slow/first HTTP/1.1\r\nHost: a\r\n\r\n';
  const refused: [string, number, string][] = [
    [`GET /slow/second HTTP/1.1\r\nHost: a\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431, 'ABPROXY_HEADERS_TOO_LARGE'],
    ['POST /slow/second HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx', 400, 'ABPROXY_BAD_REQUEST'],
    ['GET /slow/second HTTP/1.1\r\nHost: a\r\nNo Colon Here\r\n\r\n', 400, 'ABPROXY_BAD_REQUEST'],
    ['CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n', 400, 'ABPROXY_BAD_REQUEST'],
  ];
  for (const [second, status, code] of refused) {
    const received = slow.received.length;
    const raw = await rawRequest(proxy.port, first + second, 5_000);
    const [ok, error, ...rest] = answers(raw.text);
    assert.equal(ok?.status, 200, raw.text.slice(0, 300));
    assert.equal(json(ok.body).url, '/slow/first');
    assert.equal(error?.status, status, raw.text.slice(0, 600));
    assert.equal(json(error.body).code, code);
    assert.equal(error.headers.get('connection'), 'close');
    assert.deepEqual(rest, []);
    assert.ok(raw.closed, 'connection closed after the error');
    assert.deepEqual(slow.received.slice(received).map((r) => r.url), ['/slow/first']);
  }
});

test('a CONNECT pipelined in the same write behind a GET whose 1 MB answer outgrows the socket buffer gets the whole answer, then its 400 (was: the answer stalled for good after ~64 KB, no 400)', async () => {
  const raw = await rawRequest(proxy.port, 'GET /large HTTP/1.1\r\nHost: a\r\n\r\nCONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n', 5_000);
  const [ok, refused, ...rest] = answers(raw.text);
  assert.equal(ok?.status, 200, raw.text.slice(0, 300));
  assert.equal(ok.body.length, 1_000_000);
  assert.equal(refused?.status, 400, raw.text.slice(-600));
  assert.equal(json(refused.body).error, CONNECT_REFUSED);
  assert.deepEqual(rest, []);
  assert.ok(raw.closed);
});

test('bytes pipelined after a `Connection: close` request are not answered: its 200 is the last answer (was a 400 in its place)', async () => {
  const received = slow.received.length;
  const raw = await rawRequest(proxy.port, 'GET /slow/first HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET /slow/second HTTP/1.1\r\nHost: a\r\n\r\n', 5_000);
  assert.deepEqual(answers(raw.text).map((answer) => answer.status), [200], raw.text.slice(0, 300));
  assert.ok(raw.closed);
  assert.deepEqual(slow.received.slice(received).map((r) => r.url), ['/slow/first']);
});

test('a refused request waits for the answer ahead of it no longer than that answer takes: the silent upstream\'s 504 at upstreamTimeoutMs, then the 431, answered and counted once', async () => {
  const counted = { route: 'none', variant: 'none', code: '431' };
  const countedBefore = await metricValue(requestsTotal, counted);
  const received = good.received.length;
  const started = performance.now();
  // headersTimeoutMs (1 000) runs out on the refused head during the wait: node reports it too, and it changes nothing.
  const raw = await rawRequest(proxy.port, `GET /silent HTTP/1.1\r\nHost: a\r\n\r\nGET /good HTTP/1.1\r\nHost: a\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 5_000);
  const elapsed = performance.now() - started;
  assert.deepEqual(answers(raw.text).map((answer) => [answer.status, json(answer.body).code]), [[504, 'ABPROXY_UPSTREAM_TIMEOUT'], [431, 'ABPROXY_HEADERS_TOO_LARGE']]);
  assert.ok(raw.closed);
  assert.ok(elapsed >= UPSTREAM_TIMEOUT_MS * 0.9 && elapsed < UPSTREAM_TIMEOUT_MS + 2_000, `closed after ${elapsed} ms`);
  assert.equal(await metricValue(requestsTotal, counted), countedBefore + 1);
  assert.equal(good.received.length, received, 'the refused request was not forwarded');
});

test('417: an expectation other than 100-continue', async () => {
  await expectJsonError(get('/good', 'Expect: teapot\r\n'), 417, 'ABPROXY_EXPECTATION_FAILED');
});

test('502 at once when nothing listens on the upstream port', async () => {
  const started = performance.now();
  await expectJsonError(get('/refused'), 502, 'ABPROXY_UPSTREAM_REFUSED');
  assert.ok(performance.now() - started < UPSTREAM_TIMEOUT_MS, 'not delayed until the upstream timeout');
});

test('502 that says what to fix when TLS to an https:// upstream fails: a certificate not trusted, a port that does not speak TLS', async () => {
  const untrusted = await expectJsonError(get('/untrusted'), 502, 'ABPROXY_UPSTREAM_REFUSED');
  assert.equal(json(untrusted.body).error, 'upstream TLS certificate is not trusted (DEPTH_ZERO_SELF_SIGNED_CERT): trust its CA with NODE_EXTRA_CA_CERTS');
  const plain = await expectJsonError(get('/not-tls'), 502, 'ABPROXY_UPSTREAM_REFUSED');
  assert.equal(json(plain.body).error, 'upstream did not answer in TLS (is the target http:// rather than https://?)');
});

test('502 when the upstream sends an invalid status line, or a 100 Continue nobody asked for (said as such)', async () => {
  await expectJsonError(get('/invalid'), 502, 'ABPROXY_UPSTREAM_INVALID');
  const reply = await expectJsonError(get('/continuing'), 502, 'ABPROXY_UPSTREAM_INVALID');
  assert.equal(json(reply.body).error, 'upstream sent an interim or unsolicited response (a 100 Continue nobody asked for)');
});

test('504 at upstreamTimeoutMs when the upstream never answers', async () => {
  const started = performance.now();
  const reply = await expectJsonError(get('/silent'), 504, 'ABPROXY_UPSTREAM_TIMEOUT');
  const elapsed = performance.now() - started;
  assert.ok(elapsed >= UPSTREAM_TIMEOUT_MS * 0.9, `answered after ${elapsed} ms`);
  assert.ok(elapsed < UPSTREAM_TIMEOUT_MS + 5_000, `answered after ${elapsed} ms`);
  assert.equal(reply.headers.get('x-abproxy-variant'), 'only');
});

test('upstream reset mid-body: the client response is cut off, never complete-looking; the proxy stays up', async () => {
  const sized = await rawRequest(proxy.port, get('/reset'), 5_000);
  const head = parseResponse(sized.text);
  assert.equal(head.status, 200);
  assert.equal(head.headers.get('content-length'), '100');
  assert.ok(sized.closed, 'connection closed');
  assert.ok(Buffer.byteLength(head.body, 'latin1') < 100, 'fewer bytes than Content-Length promised');

  const chunked = await rawRequest(proxy.port, get('/reset-chunked'), 5_000);
  const chunkedHead = parseResponse(chunked.text);
  assert.equal(chunkedHead.status, 200);
  assert.equal(chunkedHead.headers.get('transfer-encoding'), 'chunked');
  assert.ok(chunked.closed, 'connection closed');
  assert.ok(!chunkedHead.body.endsWith('0\r\n\r\n'), `no terminating chunk: ${JSON.stringify(chunkedHead.body)}`);

  const after = await rawRequest(proxy.port, get('/good'));
  assert.equal(after.status, 200, 'proxy still serves');
});

test('503 while draining', async () => {
  proxy.proxy.state.draining = true;
  try {
    const reply = await expectJsonError(get('/good'), 503, 'ABPROXY_DRAINING');
    assert.equal(reply.headers.get('connection'), 'close');
  } finally {
    proxy.proxy.state.draining = false;
  }
});
