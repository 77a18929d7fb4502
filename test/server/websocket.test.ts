// WebSocket upgrades on a route with `websocket: true`: the handshake is assigned a variant by its key
// and answered 101 with x-abproxy-variant; frames flow both ways (a real WebSocket client, undici's);
// a declined upgrade is relayed and a dead upstream is a 502; upgrade requests the proxy does not tunnel
// (another route, another protocol) are served as plain requests; open tunnels are counted and cut
// when a drain ends.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { WebSocket } from 'undici';
import { websocketConnections } from '../../src/metrics/registry.js';
import { variantForKey } from '../../src/routing/assign.js';
import { metricValue } from '../helpers/metric-value.js';
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
