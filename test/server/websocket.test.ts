// WebSocket upgrades on a route with `websocket: true`: the handshake is assigned a variant by its key
// and answered 101 with x-abproxy-variant; frames flow both ways (a real WebSocket client, undici's);
// a declined upgrade is relayed and a dead upstream is a 502; upgrade requests the proxy does not tunnel
// (another route, another protocol) are served as plain requests; an upgrade request pipelined behind
// a GET is answered after it (RFC 9112 §9.3.2); open tunnels are counted and cut when a drain ends.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { WebSocket } from 'undici';
import { upgradeFailuresTotal, websocketConnections } from '../../src/metrics/registry.js';
import { variantForKey } from '../../src/routing/assign.js';
import { converse, json, parseResponse } from '../helpers/conversation.js';
import { metricValue } from '../helpers/metric-value.js';
import { rawRequest } from '../helpers/raw.js';
import { startRawUpstream } from '../helpers/raw-upstream.js';
import { waitFor } from '../helpers/wait-for.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { startWebSocketUpstream, type WebSocketUpstream } from '../helpers/websocket-upstream.js';

let proxy: TestProxy;
let a: WebSocketUpstream;
let b: WebSocketUpstream;
let plain: TestUpstream;

before(async () => {
  [a, b, plain] = await Promise.all([startWebSocketUpstream('a'), startWebSocketUpstream('b'), startUpstream()]);
  proxy = await startProxy({
    routes: [
      {
        name: 'live',
        match: { pathPrefix: '/live' },
        sticky: [{ header: 'x-session-id' }, { query: 'session' }],
        websocket: true,
        variants: [
          { name: 'a', target: a.url, weight: 50 },
          { name: 'b', target: b.url, weight: 50 },
        ],
      },
      { name: 'plain', match: { pathPrefix: '/plain' }, variants: [{ name: 'web', target: plain.url, weight: 1 }] },
    ],
  });
});

after(async () => {
  await Promise.all([a.close(), b.close(), plain.close()]); // the proxy itself is closed by the drain test
});

/** A WebSocket handshake as raw bytes. */
const rawHandshake = (path: string) => `GET ${path} HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`;

/** A proxy of its own whose one route tunnels to `target`. */
const tunnelProxy = (target: string, limits: Record<string, number> = {}) =>
  startProxy({ limits, routes: [{ name: 'live', match: { pathPrefix: '/' }, websocket: true, variants: [{ name: 'a', target, weight: 1 }] }] });

/** Sends a raw upgrade request and returns the response head and the socket. */
async function handshake(path: string, headers: Record<string, string> = {}, upgrade = 'websocket'): Promise<{ head: string; status: number; headers: Map<string, string> }> {
  const socket = connect(proxy.port, '127.0.0.1');
  const lines = [`GET ${path} HTTP/1.1`, 'Host: models.example', `Upgrade: ${upgrade}`, 'Connection: Upgrade', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version: 13'];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  let raw = '';
  socket.on('data', (chunk: Buffer) => (raw += chunk.toString('latin1')));
  socket.on('error', () => undefined);
  await waitFor(() => raw.includes('\r\n\r\n'), 'the response head', 5_000);
  socket.destroy();
  const [statusLine = '', ...fields] = raw.slice(0, raw.indexOf('\r\n\r\n')).split('\r\n');
  const parsed = new Map(fields.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
  return { head: raw, status: Number(statusLine.split(' ')[1]), headers: parsed };
}

test('the handshake is answered 101 by the variant the key gets, with the accept key, the variant and a request id', async () => {
  const route = proxy.proxy.holder.current.routes.byName.get('live');
  assert.ok(route);
  const seen = new Set<string>();
  for (let i = 0; i < 20; i++) {
    const key = `user-${i}`;
    const { status, headers } = await handshake('/live/stream?x=1', { 'x-session-id': key, 'x-request-id': `ws-${i}` });
    assert.equal(status, 101);
    assert.equal(headers.get('x-abproxy-variant'), variantForKey(route, key).name, key);
    assert.equal(headers.get('x-request-id'), `ws-${i}`);
    assert.equal(headers.get('sec-websocket-accept'), 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=', 'RFC 6455 §1.3 example key');
    assert.equal(headers.get('upgrade'), 'websocket');
    seen.add(headers.get('x-abproxy-variant') ?? '');
  }
  assert.deepEqual([...seen].sort(), ['a', 'b'], 'keys spread over both variants');
  const received = [...a.handshakes, ...b.handshakes].at(-1);
  assert.ok(received);
  assert.equal(received.url, '/live/stream?x=1');
  assert.equal(received.headers.upgrade, 'websocket');
  assert.equal(received.headers.connection, 'upgrade');
  assert.equal(received.headers['sec-websocket-key'], 'dGhlIHNhbXBsZSBub25jZQ==');
  assert.equal(received.headers.host, 'models.example');
  assert.equal(received.headers['x-forwarded-for'], '127.0.0.1');
});

test('a real WebSocket client talks to its variant through the proxy; the open tunnel is counted', async () => {
  const route = proxy.proxy.holder.current.routes.byName.get('live');
  assert.ok(route);
  const variant = variantForKey(route, 'chat-7').name;
  const ws = new WebSocket(`${proxy.url.replace('http', 'ws')}/live/chat?session=chat-7`);
  await once(ws, 'open');
  assert.equal(await metricValue(websocketConnections, { route: 'live', variant }), 1);
  const replies: string[] = [];
  ws.addEventListener('message', (event) => replies.push(String(event.data)));
  for (const text of ['hello', 'x'.repeat(300)]) ws.send(text);
  await waitFor(() => replies.length === 2, 'both echoes', 5_000);
  assert.deepEqual(replies, [`${variant}: hello`, `${variant}: ${'x'.repeat(300)}`]);
  ws.close(1000, 'done');
  await once(ws, 'close');
  await waitFor(async () => (await metricValue(websocketConnections, { route: 'live', variant })) === 0, 'the tunnel to leave the count', 5_000);
});

test('a declined upgrade is relayed as the upstream answered it; a dead upstream is a 502', async () => {
  const declined = await handshake('/live/forbidden', { 'x-session-id': 'u' });
  assert.equal(declined.status, 403);
  assert.match(declined.head, /\r\n\r\nforbidden$/);
  assert.ok(declined.headers.get('x-abproxy-variant'));
  const down = await startWebSocketUpstream('gone');
  const { url } = down;
  await down.close();
  const local = await tunnelProxy(url);
  try {
    const socket = connect(local.port, '127.0.0.1');
    socket.write(rawHandshake('/x'));
    let raw = '';
    socket.on('data', (chunk: Buffer) => (raw += chunk.toString('latin1')));
    await once(socket, 'close');
    assert.match(raw, /^HTTP\/1\.1 502 /);
    assert.match(raw, /"code":"ABPROXY_UPSTREAM_REFUSED"/);
    assert.match(raw, /connection: close/i);
  } finally {
    await local.close();
  }
});

test('a handshake the upstream leaves unanswered is a 504 at upstreamTimeoutMs; a client that leaves first takes the upstream connection with it', async () => {
  const local = await tunnelProxy(a.url, { upstreamTimeoutMs: 300 });
  try {
    const request = rawHandshake('/silent');
    const timedOut = connect(local.port, '127.0.0.1');
    timedOut.write(request);
    let raw = '';
    timedOut.on('data', (chunk: Buffer) => (raw += chunk.toString('latin1')));
    await once(timedOut, 'close');
    assert.match(raw, /^HTTP\/1\.1 504 /);
    assert.match(raw, /ABPROXY_UPSTREAM_TIMEOUT/);
    await waitFor(() => a.open.size === 0 || undefined, 'the timed-out upstream connection to close', 5_000);
    const leaving = connect(local.port, '127.0.0.1');
    leaving.write(request);
    await waitFor(() => a.open.size === 1 || undefined, 'the handshake to reach the upstream', 5_000);
    leaving.destroy();
    await waitFor(() => a.open.size === 0 || undefined, 'the upstream connection to close with the client', 5_000);
  } finally {
    await local.close();
  }
});

test('a tunnel left half-closed (the client ended, the upstream never does) is closed after keepAliveTimeoutMs', async () => {
  const local = await tunnelProxy(a.url, { keepAliveTimeoutMs: 300 });
  try {
    const before = a.open.size;
    const socket = connect(local.port, '127.0.0.1');
    socket.write(rawHandshake('/deaf'));
    let raw = '';
    socket.on('data', (chunk: Buffer) => (raw += chunk.toString('latin1')));
    await waitFor(() => raw.startsWith('HTTP/1.1 101'), 'the 101', 5_000);
    const closed = once(socket, 'close');
    const endedAt = Date.now();
    socket.end();
    await closed;
    assert.ok(Date.now() - endedAt >= 250, 'kept for keepAliveTimeoutMs first');
    await waitFor(() => a.open.size === before || undefined, 'the upstream side to be closed too', 5_000);
  } finally {
    await local.close();
  }
});

test('upgrade requests the proxy does not tunnel are served as plain requests, then the connection closes', async () => {
  const other = await handshake('/plain/page');
  assert.equal(other.status, 200);
  assert.equal(other.headers.get('connection'), 'close');
  assert.equal(other.headers.get('x-abproxy-variant'), 'web');
  const echoed = JSON.parse(other.head.slice(other.head.indexOf('\r\n\r\n') + 4)) as { url: string; headers: Record<string, string> };
  assert.equal(echoed.url, '/plain/page');
  assert.equal(echoed.headers.upgrade, undefined, 'the upstream got no Upgrade');
  const h2c = await handshake('/live/x', { 'HTTP2-Settings': 'AAMAAABkAARAAAAAAAIAAAAA' }, 'h2c');
  assert.equal(h2c.status, 200, 'h2c is not offered: an HTTP/1.1 answer, as RFC 9113 §3.1 allows');
  assert.match(h2c.head, /plain GET \/live\/x upgrade=-$/);
});

/** Splits the back-to-back answers of one connection. */
function answers(text: string): ReturnType<typeof parseResponse>[] {
  return text.split(/(?=HTTP\/1\.1 \d{3} )/).map(parseResponse);
}

/** A masked client text frame (RFC 6455 §5.2) of fewer than 126 bytes. */
function clientText(text: string): Buffer {
  const payload = Buffer.from(text);
  const mask = Buffer.from([0x12, 0x34, 0x56, 0x78]);
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, payload.map((byte, i) => byte ^ (mask[i % 4] ?? 0))]);
}

test('an upgrade the proxy does not tunnel, pipelined in one write behind a GET still being answered, is answered after the GET\'s 200, then the connection closes; the proxy keeps serving (was: ERR_HTTP_SOCKET_ASSIGNED thrown from the upgrade listener, exit 1)', async () => {
  const failures = await metricValue(upgradeFailuresTotal, {});
  const get = 'GET /plain/first HTTP/1.1\r\nHost: a\r\n\r\n';
  const upgrades: [string, string, (body: string) => void][] = [
    [
      'GET /live/x HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n',
      'h2c is not offered: the request is served as a plain one (RFC 9113 §3.1)',
      (body) => assert.match(body, /^plain GET \/live\/x upgrade=-$/),
    ],
    [
      'GET /plain/page HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      'a WebSocket handshake on a route without websocket is served as a plain request',
      (body) => assert.equal(json(body).url, '/plain/page'),
    ],
  ];
  for (const [upgrade, what, checkBody] of upgrades) {
    const raw = await rawRequest(proxy.port, get + upgrade, 5_000);
    const [first, second, ...rest] = answers(raw.text);
    assert.equal(first?.status, 200, raw.text.slice(0, 600));
    assert.equal(json(first.body).url, '/plain/first');
    assert.equal(first.headers.get('connection'), 'keep-alive');
    assert.equal(second?.status, 200, `${what}: ${raw.text.slice(0, 900)}`);
    assert.equal(second.headers.get('connection'), 'close', what);
    checkBody(second.body);
    assert.deepEqual(rest, []);
    assert.ok(raw.closed, `${what}: the connection closes after it`);
  }
  const again = await rawRequest(proxy.port, 'GET /plain/again HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  assert.equal(again.status, 200, 'a new connection is served');
  assert.equal(await metricValue(upgradeFailuresTotal, {}), failures, 'nothing threw');
});

/** A proxy of its own with a WebSocket route to `a` under /live and a plain route under /big to an upstream answering 1 MB of "x", more than a socket buffers. */
async function bigAnswerProxy(): Promise<{ port: number; close(): Promise<void> }> {
  const big = await startUpstream((_req, res) => res.end('x'.repeat(1_000_000)));
  const local = await startProxy({
    routes: [
      { name: 'live', match: { pathPrefix: '/live' }, websocket: true, variants: [{ name: 'a', target: a.url, weight: 1 }] },
      { name: 'big', match: { pathPrefix: '/big' }, variants: [{ name: 'web', target: big.url, weight: 1 }] },
    ],
  });
  return { port: local.port, close: () => local.close().then(() => big.close()) };
}

test('an upgrade served as a plain request whose answer outgrows the socket buffer arrives whole (was: stalled for good after ~64 KB, node no longer passing the socket\'s drain on)', async () => {
  const local = await bigAnswerProxy();
  try {
    const raw = await rawRequest(local.port, 'GET /big HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n', 5_000);
    const reply = parseResponse(raw.text);
    assert.equal(reply.status, 200, raw.text.slice(0, 300));
    assert.equal(reply.headers.get('connection'), 'close');
    assert.equal(reply.body.length, 1_000_000);
    assert.ok(raw.closed);
  } finally {
    await local.close();
  }
});

test('a WebSocket handshake pipelined in one write behind a GET still being answered gets the GET\'s whole answer first (1 MB, more than the socket buffers), then the 101 and the tunnel (was: the 101 first, the GET\'s answer written into the tunnel, stalled for good after ~64 KB)', async () => {
  const local = await bigAnswerProxy();
  const client = await converse(local.port);
  try {
    client.write(`GET /big HTTP/1.1\r\nHost: a\r\n\r\n${rawHandshake('/live/chat')}`);
    const text = await client.waitFor(/\r\n\r\nx{1000000}HTTP\/1\.1 101 Switching Protocols\r\n[^]*?\r\n\r\n/, 10_000);
    const [first, second, ...rest] = answers(text);
    assert.equal(first?.status, 200);
    assert.equal(first.headers.get('content-length'), '1000000');
    assert.equal(first.body.length, 1_000_000);
    assert.equal(second?.status, 101);
    assert.equal(second.headers.get('sec-websocket-accept'), 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
    assert.equal(second.headers.get('x-abproxy-variant'), 'a');
    assert.deepEqual(rest, []);
    client.write(clientText('hello'));
    await client.waitFor(/a: hello$/);
  } finally {
    client.destroy();
    await local.close();
  }
});

test('an upstream answering the handshake with a status under 100 is a 502 (was: writeHead threw from the upstream\'s response listener, exit 1)', async () => {
  const low = await startRawUpstream((socket) => socket.end('HTTP/1.1 099 Low\r\ncontent-length: 0\r\n\r\n'));
  const local = await tunnelProxy(low.url);
  try {
    const raw = await rawRequest(local.port, rawHandshake('/x'), 5_000);
    const reply = parseResponse(raw.text);
    assert.equal(reply.status, 502, raw.text);
    assert.equal(json(reply.body).code, 'ABPROXY_UPSTREAM_INVALID');
    assert.equal(reply.headers.get('connection'), 'close');
    assert.ok(raw.closed);
    assert.equal((await rawRequest(local.port, rawHandshake('/y'), 5_000)).status, 502, 'the proxy keeps serving');
  } finally {
    await local.close();
    await low.close();
  }
});

test('a drain lets an open tunnel run to its end, then cuts it', async () => {
  const ws = new WebSocket(`${proxy.url.replace('http', 'ws')}/live/chat?session=drain`);
  await once(ws, 'open');
  const upstreamOpen = a.open.size + b.open.size;
  assert.ok(upstreamOpen >= 1);
  const closed = once(ws, 'close');
  const started = Date.now();
  await proxy.proxy.close(300);
  await closed;
  assert.ok(Date.now() - started >= 250, 'the tunnel was given the grace period');
  await waitFor(() => a.open.size + b.open.size === upstreamOpen - 1, 'the upstream side to close too', 5_000);
});
