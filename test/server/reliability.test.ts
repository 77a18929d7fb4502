// Reliability cases 1, 2, 3, 5, 6 and 13 of the house rules, on raw sockets against the real proxy
// and recording upstreams: hop-by-hop both ways, Trailer, x-forwarded-* trust, body limits with
// upstream abort (and the 413 read by clients that upload before they read), an upload answered early,
// Host and Expect: 100-continue, absolute-form targets, and path tricks.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import { once } from 'node:events';
import { connect, type AddressInfo } from 'node:net';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { rawRequest } from '../helpers/raw.js';
import { converse, json, parseResponse } from '../helpers/conversation.js';

let echo: TestUpstream;
let internal: TestUpstream;
let based: TestUpstream;
let hoppy: TestUpstream;
let proxy: TestProxy;
let trustingProxy: TestProxy;

/** Requests the aborting upstream has seen: whether each body completed and whether it closed. */
const tracked: { complete: boolean; closed: boolean; bytes: number }[] = [];
const tracker = createServer((req: IncomingMessage, res) => {
  const entry = { complete: false, closed: false, bytes: 0 };
  tracked.push(entry);
  req.on('data', (chunk: Buffer) => (entry.bytes += chunk.length));
  req.on('end', () => {
    entry.complete = true;
    res.end('ok');
  });
  req.on('close', () => (entry.closed = true));
  req.on('error', () => undefined);
});

const LIMITS = { maxBodyBytes: 1024, headersTimeoutMs: 1_000, requestTimeoutMs: 2_000 };

before(async () => {
  echo = await startUpstream();
  internal = await startUpstream();
  based = await startUpstream();
  hoppy = await startUpstream((_req, res) => {
    res.writeHead(200, [
      'Connection', 'X-Resp, x-abproxy-variant',
      'X-Resp', 'secret',
      'Keep-Alive', 'timeout=1',
      'Proxy-Connection', 'keep-alive',
      'Proxy-Authenticate', 'Basic',
      'Upgrade', 'h2c',
      'Trailer', 'X-T',
      'X-Visible', 'yes',
    ]);
    res.end('ok');
  });
  tracker.listen(0, '127.0.0.1');
  await once(tracker, 'listening');
  const trackerUrl = `http://127.0.0.1:${(tracker.address() as AddressInfo).port}`;
  const one = (name: string, prefix: string, target: string, extra: object = {}) => ({
    name,
    match: { pathPrefix: prefix },
    variants: [{ name: 'v', target, weight: 1 }],
    ...extra,
  });
  const routes = [
    one('public', '/public', echo.url),
    one('internal', '/internal', internal.url),
    one('based', '/based', `${based.url}/base`),
    one('hoppy', '/hoppy', hoppy.url),
    one('stream', '/stream', trackerUrl),
    one('keyed', '/keyed', trackerUrl, { sticky: [{ body: 'parameters.session_id' }] }),
  ];
  proxy = await startProxy({ limits: LIMITS, routes });
  trustingProxy = await startProxy({ limits: LIMITS, trustedProxies: ['127.0.0.0/8'], routes });
});

after(async () => {
  await proxy.close();
  await trustingProxy.close();
  await Promise.all([echo.close(), internal.close(), based.close(), hoppy.close()]);
  tracker.closeAllConnections();
  tracker.close();
});

test('case 1: hop-by-hop request headers never reach U, and Connection cannot delete X-Forwarded-* or Host', async () => {
  const before = echo.received.length;
  const raw = await rawRequest(
    proxy.port,
    'GET /public/hop HTTP/1.1\r\nHost: api.example\r\n' +
      'Connection: keep-alive, X-Foo, X-Forwarded-For, X-Forwarded-Proto, X-Forwarded-Host, Host, close\r\n' +
      'X-Foo: 1\r\nKeep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\nTE: trailers\r\nTrailer: X-T\r\n' +
      'Upgrade: foo\r\nProxy-Authorization: Basic Zm9vOmJhcg==\r\nX-Keep: yes\r\n\r\n',
  );
  assert.equal(raw.status, 200);
  const seen = echo.received[before];
  assert.ok(seen);
  // undici sends its own "connection: keep-alive" on the upstream hop; nothing of the client's may pass.
  assert.ok(seen.headers.connection === undefined || seen.headers.connection === 'keep-alive', `connection: ${seen.headers.connection}`);
  for (const name of ['x-foo', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade', 'proxy-authorization']) {
    assert.equal(seen.headers[name], undefined, `${name} reached the upstream`);
  }
  assert.equal(seen.headers['x-keep'], 'yes');
  assert.equal(seen.headers.host, 'api.example');
  assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
  assert.equal(seen.headers['x-forwarded-proto'], 'http');
  assert.equal(seen.headers['x-forwarded-host'], 'api.example');
});

test('case 1: hop-by-hop response headers never reach the client; the proxy keeps its own variant header', async () => {
  const raw = await rawRequest(proxy.port, 'GET /hoppy HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  const reply = parseResponse(raw.text);
  assert.equal(reply.status, 200);
  for (const name of ['x-resp', 'proxy-connection', 'proxy-authenticate', 'upgrade', 'trailer']) assert.equal(reply.headers.get(name), undefined, `${name} reached the client`);
  assert.notEqual(reply.headers.get('keep-alive'), 'timeout=1', "the upstream's Keep-Alive was relayed");
  assert.equal(reply.headers.get('x-visible'), 'yes');
  assert.equal(reply.headers.get('x-abproxy-variant'), 'v');
  assert.equal(reply.body, '2\r\nok\r\n0\r\n\r\n');
});

test('case 2: a request with Trailer answers promptly, with or without a body', async () => {
  const chunked = await rawRequest(
    proxy.port,
    'POST /public/t HTTP/1.1\r\nHost: a\r\nConnection: close\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n5\r\nhello\r\n0\r\nX-Checksum: abc\r\n\r\n',
    3_000,
  );
  assert.equal(chunked.status, 200, chunked.text);
  assert.equal(json(parseResponse(chunked.text).body).bytes, 5);
  const bodiless = await rawRequest(proxy.port, 'GET /public/t HTTP/1.1\r\nHost: a\r\nConnection: close\r\nTrailer: X-Checksum\r\n\r\n', 3_000);
  assert.equal(bodiless.status, 200);
  assert.ok(bodiless.closed, 'answered before the timeout');
});

test('case 3: client X-Forwarded-*/Forwarded are replaced unless the peer is a trusted proxy', async () => {
  const spoof = 'X-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: evil.example\r\nForwarded: for=6.6.6.6\r\n';
  const request = `GET /public/xff HTTP/1.1\r\nHost: api.example\r\nConnection: close\r\n${spoof}\r\n`;
  const untrusted = JSON.parse(parseResponse((await rawRequest(proxy.port, request)).text).body) as { headers: Record<string, string> };
  assert.equal(untrusted.headers['x-forwarded-for'], '127.0.0.1');
  assert.equal(untrusted.headers['x-forwarded-proto'], 'http');
  assert.equal(untrusted.headers['x-forwarded-host'], 'api.example');
  assert.equal(untrusted.headers.forwarded, undefined);
  const trusted = JSON.parse(parseResponse((await rawRequest(trustingProxy.port, request)).text).body) as { headers: Record<string, string> };
  assert.equal(trusted.headers['x-forwarded-for'], '6.6.6.6, 127.0.0.1');
  assert.equal(trusted.headers['x-forwarded-proto'], 'https');
  assert.equal(trusted.headers['x-forwarded-host'], 'evil.example');
});

test('x-request-id is propagated when sane, generated otherwise, and returned to the client', async () => {
  const given = parseResponse((await rawRequest(proxy.port, 'GET /public/id HTTP/1.1\r\nHost: a\r\nConnection: close\r\nX-Request-Id: abc-123\r\n\r\n')).text);
  assert.equal(given.headers.get('x-request-id'), 'abc-123');
  assert.equal((JSON.parse(given.body) as { headers: Record<string, string> }).headers['x-request-id'], 'abc-123');
  const made = parseResponse((await rawRequest(proxy.port, `GET /public/id HTTP/1.1\r\nHost: a\r\nConnection: close\r\nX-Request-Id: ${'x'.repeat(300)}\r\n\r\n`)).text);
  assert.match(made.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
});

async function waitUntil(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  for (let waited = 0; !check(); waited += 20) {
    if (waited > timeoutMs) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test('case 5: a declared body over maxBodyBytes gets 413 before any of it is sent, and U sees nothing', async () => {
  for (const path of ['/stream/x', '/keyed/x']) {
    const start = tracked.length;
    const talk = await converse(proxy.port);
    talk.write(`POST ${path} HTTP/1.1\r\nHost: a\r\nContent-Length: 4096\r\n\r\n`);
    await talk.waitFor(/\r\n\r\n\{.*\}$/s);
    await talk.waitClosed();
    assert.equal(parseResponse(talk.text).status, 413);
    assert.equal(tracked.length, start, `${path}: the upstream saw a request`);
  }
});

test('case 5: a chunked body is cut off with 413 as soon as it crosses maxBodyBytes, and U is aborted', async () => {
  for (const path of ['/stream/x', '/keyed/x']) {
    const start = tracked.length;
    const talk = await converse(proxy.port);
    talk.write(`POST ${path} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n`);
    const chunk = `200\r\n${'a'.repeat(512)}\r\n`;
    talk.write(chunk);
    talk.write(chunk);
    talk.write(chunk); // 1536 bytes > 1024; the body is never finished
    await talk.waitFor(/\r\n\r\n\{.*\}$/s);
    const reply = parseResponse(talk.text);
    assert.equal(reply.status, 413, talk.text);
    assert.equal(json(reply.body).code, 'ABPROXY_BODY_TOO_LARGE');
    await talk.waitClosed();
    await waitUntil(() => tracked.slice(start).every((r) => r.closed), 'upstream requests to close');
    for (const seen of tracked.slice(start)) {
      assert.equal(seen.complete, false, `${path}: the upstream got a complete body`);
      assert.ok(seen.bytes <= 1024, `${path}: the upstream got ${seen.bytes} bytes`);
    }
  }
});

test('case 5: a client that writes its whole over-limit body before it reads (fetch, Python http.client) still reads the 413', async () => {
  const big = Buffer.alloc(8 * 1024 * 1024, 97);
  for (const path of ['/stream/x', '/keyed/x', '/public/x']) {
    const res = await fetch(`${proxy.url}${path}`, { method: 'POST', body: big }); // fetch reads only once its body is sent
    assert.equal(res.status, 413, path);
    assert.equal(((await res.json()) as { code: string }).code, 'ABPROXY_BODY_TOO_LARGE');
  }
  const socket = connect(proxy.port, '127.0.0.1');
  await once(socket, 'connect');
  const chunk = Buffer.concat([Buffer.from('10000\r\n'), Buffer.alloc(0x10000, 98), Buffer.from('\r\n')]);
  const sent = new Promise<void>((resolve) => {
    socket.write('POST /stream/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n');
    for (let i = 0; i < 128; i++) socket.write(chunk); // 8 MiB, chunked, all written before reading
    socket.write('0\r\n\r\n', () => resolve());
  });
  let text = '';
  socket.on('data', (data: Buffer) => (text += data.toString('latin1')));
  const ended = once(socket, 'end'); // the answer's end comes long before the upload's
  await sent;
  await ended;
  socket.destroy();
  assert.match(text, /^HTTP\/1\.1 413 /, 'the answer reached the client after its whole upload');
});

test('a chunked upload the upstream answers early, unread, gets the answer, and its connection closes as the upload goes on', async (t) => {
  const early = createServer((_req, res) => res.end('early'));
  early.listen(0, '127.0.0.1');
  await once(early, 'listening');
  const own = await startProxy({ routes: [{ name: 'early', match: { pathPrefix: '/early' }, variants: [{ name: 'v', target: `http://127.0.0.1:${(early.address() as AddressInfo).port}`, weight: 1 }] }] });
  t.after(async () => {
    await own.close();
    early.closeAllConnections();
    early.close();
  });
  const talk = await converse(own.port);
  talk.write('POST /early/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n');
  await talk.waitFor(/\r\n\r\nearly$/);
  talk.write('5\r\nworld\r\n'); // the upload goes on after the answer: nobody takes it, so the connection closes
  await talk.waitClosed(2_000);
  assert.equal(parseResponse(talk.text).status, 200);
});

test('case 6: HTTP/1.1 without Host is 400; a duplicate Host is 400', async () => {
  for (const head of ['GET /public HTTP/1.1\r\n\r\n', 'GET /public HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n']) {
    const reply = await rawRequest(proxy.port, head);
    assert.equal(reply.status, 400, head);
    assert.ok(reply.closed);
    assert.equal(json(parseResponse(reply.text).body).code, 'ABPROXY_BAD_REQUEST');
  }
});

test('case 6: Expect: 100-continue -> 100 first, then the answer; too large -> 413 without 100', async () => {
  const before = echo.received.length;
  const talk = await converse(proxy.port);
  talk.write('POST /public/e HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n');
  await talk.waitFor(/^HTTP\/1\.1 100 Continue\r\n\r\n/);
  assert.equal(echo.received.length, before, 'nothing forwarded before the body');
  talk.write('hello');
  await talk.waitFor(/HTTP\/1\.1 200 /);
  await talk.waitClosed();
  assert.equal(json(parseResponse(talk.text.replace(/^HTTP\/1\.1 100 Continue\r\n\r\n/, '')).body).bytes, 5);
  assert.equal(echo.received[before]?.headers.expect, undefined, 'Expect is not forwarded');

  const big = await rawRequest(proxy.port, 'POST /public/e HTTP/1.1\r\nHost: a\r\nContent-Length: 4096\r\nExpect: 100-continue\r\n\r\n');
  assert.equal(big.status, 413, big.text);
  assert.ok(!big.text.includes('100 Continue'));
});

test('case 13: path tricks are routed and forwarded as one normalised path and cannot escape a route', async () => {
  const send = async (target: string) => parseResponse((await rawRequest(proxy.port, `GET ${target} HTTP/1.1\r\nHost: api.example\r\nConnection: close\r\n\r\n`)).text);
  const rows: [string, number, TestUpstream | undefined, string | undefined][] = [
    ['/public/%2E%2E/internal/secret', 200, internal, '/internal/secret'],
    ['/public/../internal/secret', 200, internal, '/internal/secret'],
    ['/public/%2e%2e/%2e%2e/internal', 200, internal, '/internal'],
    ['//internal/secret', 200, internal, '/internal/secret'],
    ['//evil.example/x', 404, undefined, undefined],
    ['/based/../../etc/passwd', 404, undefined, undefined],
    ['/based/a/%2E%2E/%2E%2E/%2E%2E/based/b', 200, based, '/base/based/b'],
    ['/public/./a//b', 200, echo, '/public/a/b'],
    ['/intern%61l/secret', 200, internal, '/internal/secret'],
  ];
  for (const [target, status, upstream, path] of rows) {
    const counts = [echo, internal, based].map((u) => u.received.length);
    const reply = await send(target);
    assert.equal(reply.status, status, target);
    [echo, internal, based].forEach((u, i) => {
      const fresh = u.received.slice(counts[i]);
      if (u === upstream) {
        assert.equal(fresh.length, 1, `${target}: expected upstream missed it`);
        assert.equal(fresh[0]?.url, path, target);
        assert.equal(fresh[0]?.headers.host, 'api.example', target);
      } else assert.equal(fresh.length, 0, `${target}: reached an upstream it does not name`);
    });
  }
});

test('RFC 9112 §3.2.2: an absolute-form target is routed by its path, and its authority replaces Host', async () => {
  const rows: [string, TestUpstream, string, string][] = [
    ['http://models.example/public/a?x=1', echo, '/public/a?x=1', 'models.example'],
    ['HTTPS://models.example:8443/public/../internal/b', internal, '/internal/b', 'models.example:8443'],
  ];
  for (const [target, upstream, path, authority] of rows) {
    const reply = await rawRequest(proxy.port, `GET ${target} HTTP/1.1\r\nHost: other.example\r\nConnection: close\r\n\r\n`);
    assert.equal(reply.status, 200, target);
    const seen = upstream.received.at(-1);
    assert.equal(seen?.url, path, target);
    assert.equal(seen?.headers.host, authority, target);
    assert.equal(seen?.headers['x-forwarded-host'], authority, target);
  }
  const bare = parseResponse((await rawRequest(proxy.port, 'GET http://[::1]:9000?q HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).text);
  assert.equal(json(bare.body).error, 'no route matches /', 'an empty path is "/"');
  const plain = await rawRequest(proxy.port, 'GET http://models.example/public/c HTTP/1.0\r\n\r\n');
  assert.equal(plain.status, 200, 'HTTP/1.0 absolute-form without Host');
  assert.equal(echo.received.at(-1)?.headers.host, 'models.example');
});

test('case 4: bad framing is answered 400 with a close, and U never receives a complete request', async () => {
  const vectors: [string, string][] = [
    ['CL and TE together', 'POST /stream/f HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'],
    ['duplicate CL', 'POST /stream/f HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!'],
    ['malformed CL', 'POST /stream/f HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\nhello'],
    ['TE not ending in chunked', 'POST /stream/f HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n'],
    ['bare LF head', 'POST /stream/f HTTP/1.1\nHost: a\nContent-Length: 5\n\nhello'],
    ['bad chunk size', 'POST /stream/f HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n'],
    ['chunk data without CRLF', 'POST /stream/f HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n'],
    ['bare LF chunk framing', 'POST /stream/f HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\n0\n\n'],
    ['buffered route, bad chunk size', 'POST /keyed/f HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n'],
  ];
  for (const [name, bytes] of vectors) {
    const start = tracked.length;
    const raw = await rawRequest(proxy.port, bytes, 5_000);
    assert.equal(raw.status, 400, `${name}: ${raw.text.slice(0, 200)}`);
    assert.ok(raw.closed, `${name}: connection left open`);
    assert.equal(json(parseResponse(raw.text).body).code, 'ABPROXY_BAD_REQUEST', name);
    await waitUntil(() => tracked.slice(start).every((r) => r.closed), `${name}: upstream requests to close`);
    assert.ok(tracked.slice(start).every((r) => !r.complete), `${name}: the upstream received a complete request`);
  }
});
