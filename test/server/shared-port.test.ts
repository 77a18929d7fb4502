// The cleartext HTTP/2 port also serves HTTP/1.1, told apart by HTTP/2's connection preface (as Envoy's
// codec_type AUTO and nginx's `http2 on` do): both protocols on one port, prefaces and request lines
// that arrive a byte at a time, a connection that stalls before it can be told apart, an oversized URL
// or header told apart there too (414, 431), a refused request pipelined behind another answered after
// it, and the HTTP/1.1 port's answer to an HTTP/2 preface.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:http2';
import { converse, json, parseResponse } from '../helpers/conversation.js';
import { http2PortOf, startProxy, type TestProxy } from '../helpers/proxy.js';
import { rawRequest } from '../helpers/raw.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

const HEADERS_TIMEOUT_MS = 400;
let proxy: TestProxy;
let upstream: TestUpstream;
let h2Port: number;

before(async () => {
  upstream = await startUpstream();
  proxy = await startProxy({
    http2: { listen: '127.0.0.1:0' },
    limits: { headersTimeoutMs: HEADERS_TIMEOUT_MS },
    routes: [{ name: 'rest', match: { pathPrefix: '/rest' }, variants: [{ name: 'only', target: upstream.url, weight: 1 }] }],
  });
  h2Port = http2PortOf(proxy.proxy);
});

after(async () => {
  await proxy.close();
  await upstream.close();
});

test('HTTP/1.1 on the HTTP/2 port is proxied like on the data plane port, keep-alive included', async () => {
  const before = upstream.received.length;
  const talk = await converse(h2Port);
  talk.write('GET /rest/a HTTP/1.1\r\nHost: models.example\r\n\r\nGET /rest/b HTTP/1.1\r\nHost: models.example\r\nConnection: close\r\n\r\n');
  await talk.waitClosed();
  const answers = talk.text.split(/(?=HTTP\/1\.1 )/);
  assert.equal(answers.length, 2, talk.text);
  for (const answer of answers) {
    const reply = parseResponse(answer);
    assert.equal(reply.status, 200);
    assert.equal(reply.headers.get('x-abproxy-variant'), 'only');
  }
  assert.deepEqual(upstream.received.slice(before).map((r) => r.url), ['/rest/a', '/rest/b']);
  assert.equal(upstream.received.at(-1)?.headers['x-forwarded-host'], 'models.example');
});

test('HTTP/2 with prior knowledge on the same port still works', async () => {
  const session = connect(`http://127.0.0.1:${h2Port}`);
  try {
    const stream = session.request({ ':path': '/rest/h2' });
    const [headers] = (await once(stream, 'response')) as [Record<string, string>];
    stream.resume();
    await once(stream, 'end');
    assert.equal(headers[':status'], 200);
    assert.equal(headers['x-abproxy-variant'], 'only');
    assert.equal(upstream.received.at(-1)?.url, '/rest/h2');
  } finally {
    session.close();
  }
});

test('a preface or a request line that arrives in pieces is told apart once it can be', async () => {
  const h2 = await converse(h2Port);
  h2.write('PRI * HTTP/2.0\r\n');
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(h2.text, '', 'nothing is answered before the protocol is known');
  h2.write('\r\nSM\r\n\r\n');
  await h2.waitFor(/^[\s\S]{4}/);
  assert.equal(h2.text.charCodeAt(3), 4, "the server's first frame is SETTINGS (type 4)");
  h2.destroy();

  const h1 = await converse(h2Port);
  h1.write('P');
  await new Promise((resolve) => setTimeout(resolve, 50));
  h1.write('OST /rest/c HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi');
  await h1.waitClosed();
  assert.equal(parseResponse(h1.text).status, 200, h1.text);
  assert.equal(upstream.received.at(-1)?.body.toString(), 'hi');
});

test('a connection that stalls before it can be told apart is closed after headersTimeoutMs', async () => {
  const talk = await converse(h2Port);
  talk.write('PRI * HT');
  await talk.waitClosed(HEADERS_TIMEOUT_MS * 10);
  assert.equal(talk.text, '');
});

test('HTTP/1.1 on the HTTP/2 port, whose first bytes are put back before the parser reads them: a 20 000-byte URL is 414, a 20 000-byte header 431', async () => {
  const url = await rawRequest(h2Port, `GET /rest/${'a'.repeat(20_000)} HTTP/1.1\r\nHost: a\r\n\r\n`, 5_000);
  assert.equal(url.status, 414, url.text.slice(0, 200));
  assert.equal(json(parseResponse(url.text).body).code, 'ABPROXY_URI_TOO_LONG');
  const header = await rawRequest(h2Port, `GET /rest HTTP/1.1\r\nHost: a\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 5_000);
  assert.equal(header.status, 431, header.text.slice(0, 200));
  assert.equal(json(parseResponse(header.text).body).code, 'ABPROXY_HEADERS_TOO_LARGE');
});

test('HTTP/1.1 on the HTTP/2 port: a 400 or 431 pipelined in the same write behind a GET comes after the GET\'s 200, then the connection closes', async () => {
  for (const [second, status] of [
    ['POST /rest/b HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx', 400],
    [`GET /rest/b HTTP/1.1\r\nHost: a\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431],
  ] as const) {
    const before = upstream.received.length;
    const raw = await rawRequest(h2Port, `GET /rest/a HTTP/1.1\r\nHost: a\r\n\r\n${second}`, 5_000);
    assert.deepEqual(raw.text.split(/(?=HTTP\/1\.1 \d{3} )/).map((answer) => parseResponse(answer).status), [200, status], raw.text.slice(0, 600));
    assert.ok(raw.closed);
    assert.deepEqual(upstream.received.slice(before).map((r) => r.url), ['/rest/a']);
  }
});

test('the HTTP/1.1 port answers an HTTP/2 preface 400, naming the port that speaks HTTP/2', async () => {
  const reply = await rawRequest(proxy.port, 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
  assert.equal(reply.status, 400);
  assert.match(json(parseResponse(reply.text).body).error as string, /http2\.listen/);
  assert.ok(reply.closed);
});
