// Sockets node:http handed to an 'upgrade' or 'connect' listener, which node's own connection tracking
// (closeIdleConnections, closeAllConnections) no longer sees, on the data plane and the admin port. In a
// drain, one whose answer the client stops reading is cut off at the grace deadline and an idle one is
// closed as the drain starts, so a shutdown ends within its bound (was: left open, close() waited for
// good). A client's reset on one costs that connection only (was: an unhandled 'error', exit 1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ConfigInput } from '../../src/config/schema.js';
import { parseResponse } from '../helpers/conversation.js';
import { rawRequest } from '../helpers/raw.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait-for.js';

const GRACE_MS = 300;
/** How much later than its grace a drain may end: generous on a loaded machine, and far below "for good". */
const MARGIN_MS = 3_000;
/** What the upstream answers to /big: more than the client's and the proxy's socket buffers hold. */
const BIG_BYTES = 8_000_000;
const BIG_BODY = 'x'.repeat(BIG_BYTES);

interface DrainProxy {
  proxy: TestProxy;
  upstream: TestUpstream;
  /** Closes the proxy with `graceMs`, once: a later call gets the first call's promise. */
  closeProxy: (graceMs: number) => Promise<void>;
}

/** A proxy with a WebSocket route (so that node hands upgrade requests to the proxy's listener) and a plain one to an upstream answering /big with BIG_BYTES. */
async function startDrainProxy(limits: ConfigInput['limits'] = {}): Promise<DrainProxy> {
  const upstream = await startUpstream((req, res) => res.end(req.url === '/big' ? BIG_BODY : 'small'));
  const proxy = await startProxy({
    limits,
    routes: [
      { name: 'live', match: { pathPrefix: '/live' }, websocket: true, variants: [{ name: 'a', target: upstream.url, weight: 1 }] },
      { name: 'web', match: { pathPrefix: '/' }, variants: [{ name: 'web', target: upstream.url, weight: 1 }] },
    ],
  });
  let closing: Promise<void> | undefined;
  return { proxy, upstream, closeProxy: (graceMs) => (closing ??= proxy.proxy.close(graceMs)) };
}

/** Closes what a test leaves open, passed or failed: the client first, so that a close it holds up can end. */
async function closeAll(setup: DrainProxy, client: Socket | undefined): Promise<void> {
  client?.destroy();
  await setup.closeProxy(0);
  await setup.upstream.close();
}

/** Sends `bytes` and never reads: node buffers the first few KB of the answer, then stops reading. */
async function unreadingClient(port: number, bytes: string): Promise<Socket> {
  const client = connect(port, '127.0.0.1');
  client.on('error', () => undefined);
  await once(client, 'connect');
  client.write(bytes);
  await waitFor(() => client.readableLength > 0, 'the answer to start arriving', 5_000);
  return client;
}

/** Closes the proxy with `graceMs`: how long that took, or 'hung' when it has not ended `limitMs` later. */
async function timedClose(setup: DrainProxy, graceMs: number, limitMs: number): Promise<number | 'hung'> {
  const startedAt = performance.now();
  const closing = setup.closeProxy(graceMs).then(() => performance.now() - startedAt);
  return Promise.race([closing, sleep(limitMs, 'hung' as const, { ref: false })]);
}

/** Whether `socket` closes within `timeoutMs`. */
function closesWithin(socket: Socket, timeoutMs: number): Promise<boolean> {
  if (socket.closed) return Promise.resolve(true);
  const closed = new Promise<boolean>((resolve) => socket.once('close', () => resolve(true))); // events.once would reject at the socket's 'error'
  return Promise.race([closed, sleep(timeoutMs, false, { ref: false })]);
}

/**
 * Sends an upgrade the proxy does not tunnel (h2c) for /small and keeps its own side open once the proxy
 * has answered and ended its side: the client as it waits half-open, and the answer it got.
 */
async function halfOpenAfterAnswer(port: number): Promise<{ client: Socket; answer: ReturnType<typeof parseResponse> }> {
  const client = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  client.on('error', () => undefined);
  let text = '';
  client.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
  await once(client, 'connect');
  client.write('GET /small HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n');
  await once(client, 'end');
  return { client, answer: parseResponse(text) };
}

/**
 * Whether the proxy lets go of a connection whose FIN the client already has within `timeoutMs`: the client
 * learns of it from the reset its writes get (EPIPE from the second on).
 */
async function resetWithin(client: Socket, timeoutMs: number): Promise<boolean> {
  const probe = setInterval(() => client.write('anyone there?'), 50);
  const closed = await closesWithin(client, timeoutMs);
  clearInterval(probe);
  return closed;
}

/** Reads what the client got until the connection closes, failing if it is still open 5 s later; how many bytes that was. */
async function readUntilClosed(client: Socket): Promise<number> {
  let bytes = 0;
  client.on('data', (chunk: Buffer) => (bytes += chunk.length));
  assert.ok(await closesWithin(client, 5_000), 'the client connection is still open 5 s after the drain');
  return bytes;
}

/** A CONNECT the data plane reads with a GET ahead of it, whose 8 MB answer it is writing when it hands the socket over. */
const CONNECT_BEHIND_BIG_ANSWER = 'GET /big HTTP/1.1\r\nHost: a\r\n\r\nCONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n';
/** The same on the admin port: about 9 MB of answers (app.js is 8.7 KB), asked for in one 46 KB write so that node reads the CONNECT with them. */
const ADMIN_CONNECT_BEHIND_BIG_ANSWERS = `${'GET /dashboard/app.js HTTP/1.1\r\nHost: a\r\n\r\n'.repeat(1_000)}CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n`;

const UNREAD_ANSWERS: [string, string][] = [
  ['an h2c upgrade, served as a plain request', 'GET /big HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n'],
  [
    'a WebSocket handshake on a route without websocket, served as a plain request',
    'GET /big HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
  ],
  ['a CONNECT pipelined behind a GET, handed over while the GET is answered', CONNECT_BEHIND_BIG_ANSWER],
];

for (const [what, bytes] of UNREAD_ANSWERS) {
  test(`a drain cuts off at its grace deadline ${what} whose 8 MB answer the client never reads (was: shutdown hung for good, the upstream pool waiting on the paused answer)`, async () => {
    const setup = await startDrainProxy();
    let client: Socket | undefined;
    try {
      client = await unreadingClient(setup.proxy.port, bytes);
      const tookMs = await timedClose(setup, GRACE_MS, GRACE_MS + MARGIN_MS);
      assert.ok(tookMs !== 'hung', `${what}: close(${GRACE_MS}) has not ended ${GRACE_MS + MARGIN_MS} ms later`);
      assert.ok(tookMs >= GRACE_MS - 10, `the answer in progress was given the grace period (${tookMs} ms)`);
      assert.ok((await readUntilClosed(client)) < BIG_BYTES, 'the answer was cut off, never complete-looking');
    } finally {
      await closeAll(setup, client);
    }
  });
}

test('a drain closes at once a handed-over socket whose answer is sent, which the client keeps open (was: held until the grace deadline, then left open)', async () => {
  const setup = await startDrainProxy();
  let client: Socket | undefined;
  try {
    const halfOpen = await halfOpenAfterAnswer(setup.proxy.port);
    client = halfOpen.client;
    assert.equal(halfOpen.answer.status, 200);
    assert.equal(halfOpen.answer.headers.get('connection'), 'close');
    assert.equal(halfOpen.answer.body, 'small', 'answered whole, then the proxy ended its side');
    const graceMs = 20_000;
    const tookMs = await timedClose(setup, graceMs, MARGIN_MS);
    assert.ok(tookMs !== 'hung', `close(${graceMs}) waited for the idle connection`);
    assert.ok(await resetWithin(client, 5_000), 'the proxy kept its side of the connection open');
  } finally {
    await closeAll(setup, client);
  }
});

test('a handed-over socket whose answer is sent and which the client keeps open is closed after keepAliveTimeoutMs, without a drain (was: held for good)', async () => {
  const setup = await startDrainProxy({ keepAliveTimeoutMs: 300 });
  let client: Socket | undefined;
  try {
    const halfOpen = await halfOpenAfterAnswer(setup.proxy.port);
    client = halfOpen.client;
    assert.equal(halfOpen.answer.status, 200);
    assert.ok(await resetWithin(client, 3_000), 'the proxy kept its side of the connection open past keepAliveTimeoutMs');
  } finally {
    await closeAll(setup, client);
  }
});

test('closing the admin server cuts off a CONNECT pipelined behind answers the client never reads (was: close() waited for good)', async () => {
  const setup = await startDrainProxy();
  let client: Socket | undefined;
  try {
    client = await unreadingClient(setup.proxy.proxy.admin.address.port, ADMIN_CONNECT_BEHIND_BIG_ANSWERS);
    const tookMs = await timedClose(setup, GRACE_MS, GRACE_MS + MARGIN_MS);
    assert.ok(tookMs !== 'hung', `close(${GRACE_MS}) has not ended ${GRACE_MS + MARGIN_MS} ms later`);
    await readUntilClosed(client);
  } finally {
    await closeAll(setup, client);
  }
});

test('a client that resets its connection while an answer ahead of its CONNECT is being written costs that connection only, on the data plane and the admin port (was: ECONNRESET unhandled on the handed-over socket, exit 1)', async () => {
  const setup = await startDrainProxy();
  const { dataPlane, admin } = setup.proxy.proxy;
  let client: Socket | undefined;
  try {
    for (const [server, port, bytes, path] of [
      [dataPlane.server, dataPlane.address.port, CONNECT_BEHIND_BIG_ANSWER, '/small'],
      [admin.server, admin.address.port, ADMIN_CONNECT_BEHIND_BIG_ANSWERS, '/healthz'],
    ] as const) {
      client = await unreadingClient(port, bytes);
      client.resetAndDestroy();
      await waitFor(() => new Promise<boolean>((resolve) => server.getConnections((_error, count) => resolve(count === 0))), 'the proxy to close its side', 5_000);
      assert.equal((await rawRequest(port, `GET ${path} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`)).status, 200, `${path} is served`);
    }
  } finally {
    await closeAll(setup, client);
  }
});
