// limits.sendTimeoutMs (nginx's send_timeout) on real sockets: a client that never reads an 8 MiB answer
// is cut off after the timeout (HTTP/1.1: its connection; HTTP/2: its stream with RST_STREAM CANCEL, or the
// session when not even the reset can be sent), the upstream request is aborted, the cut is counted in
// abproxy_client_send_timeouts_total and the proxy serves on; a slow but steady reader gets the whole answer
// (the timer runs between writes); a local model's answer is cut the same way; a reload changes the timeout.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { connect as connectH2, constants, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { stringify } from 'yaml';
import type { ConfigInput } from '../../src/config/schema.js';
import { clientSendTimeoutsTotal } from '../../src/metrics/registry.js';
import { metricValue } from '../helpers/metric-value.js';
import { expandModel, modelDir } from '../helpers/onnx-models.js';
import { http2PortOf, startProxy, type TestProxy } from '../helpers/proxy.js';
import { rawRequest } from '../helpers/raw.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait-for.js';

const SEND_TIMEOUT_MS = 300;
/** Loopback's kernel buffers hold about half of it here, so a client that stops reading stalls the proxy (/big/long: twice as much). */
const BODY_BYTES = 8 * 1024 * 1024;
const CHUNK = Buffer.alloc(65_536, 'x');
/** What a cut is asserted within: generous, the machine is shared. */
const BOUND_MS = 3_000;
/** The model's answer: this many FP32 values, as binary tensor bytes (8 MiB). */
const MODEL_VALUES = 2 * 1024 * 1024;
const INFER_BODY = JSON.stringify({ inputs: [{ name: 'x', shape: [1], datatype: 'FP32', data: [1] }], parameters: { binary_data_output: true } });

/**
 * Whether the connection of each /big answer closed. undici keeps a connection whose answer it read whole
 * (upstreamKeepAliveTimeoutMs, 4 s, is past BOUND_MS): a close is an aborted request. Whether the answer
 * finished says little: the kernel buffers between the upstream and the proxy may hold all of it.
 */
const answers: { closed: boolean }[] = [];
let upstream: TestUpstream;
let proxy: TestProxy;
let h2Port: number;

function routes(target: string): ConfigInput['routes'] {
  return [
    { name: 'bulk', match: { pathPrefix: '/big' }, variants: [{ name: 'v', target, weight: 1 }] },
    { name: 'small', match: { pathPrefix: '/small' }, variants: [{ name: 'v', target, weight: 1 }] },
  ];
}

before(async () => {
  upstream = await startUpstream((req, res) => {
    if (!req.url?.startsWith('/big')) return void res.end('ok');
    const total = req.url === '/big/long' ? 2 * BODY_BYTES : BODY_BYTES;
    const answer = { closed: false };
    answers.push(answer);
    req.socket.once('close', () => (answer.closed = true));
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(total) });
    let written = 0;
    const pump = (): void => {
      while (written < total) {
        written += CHUNK.length;
        if (!res.write(CHUNK)) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
  });
  proxy = await startProxy({
    limits: { sendTimeoutMs: SEND_TIMEOUT_MS },
    http2: { listen: '127.0.0.1:0' },
    models: { expand: { path: expandModel(modelDir(), MODEL_VALUES) } },
    routes: [...routes(upstream.url), { name: 'tensor', match: { pathPrefix: '/v2/models/expand' }, variants: [{ name: 'v', target: 'model:expand', weight: 1 }] }],
  });
  h2Port = http2PortOf(proxy.proxy);
});

after(async () => {
  await proxy.close();
  await upstream.close();
});

const timeouts = (route: string) => metricValue(clientSendTimeoutsTotal, { route });

/** A raw client that sends `request` and reads nothing until resume(). */
function stalledClient(port: number, request: string): { resume: () => Promise<number> } {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  socket.pause();
  socket.write(request);
  let received = 0;
  let closed = false;
  socket.on('close', () => (closed = true));
  /** Reads what the kernel still holds for it; resolves with the byte count once the connection has closed. */
  const resume = async () => {
    socket.on('data', (chunk: Buffer) => (received += chunk.length));
    socket.resume();
    await waitFor(() => closed, 'the client connection to close', BOUND_MS);
    return received;
  };
  return { resume };
}

/** The upstream request of the /big answer at `index` was aborted: its connection closed. */
async function assertAborted(index: number): Promise<void> {
  await waitFor(() => answers[index]?.closed, 'the upstream request to be aborted (its connection closed)', BOUND_MS);
}

test('HTTP/1.1: a client that never reads is cut off after sendTimeoutMs, the upstream request aborted and the cut counted; the proxy serves on', async () => {
  const counted = await timeouts('bulk');
  const index = answers.length;
  const started = performance.now();
  const client = stalledClient(proxy.port, 'GET /big HTTP/1.1\r\nHost: a\r\n\r\n');
  await waitFor(async () => (await timeouts('bulk')) === counted + 1, 'the send timeout to be counted', BOUND_MS);
  await assertAborted(index);
  // What the kernel still held reaches the client, then the close: never the whole answer.
  const received = await client.resume();
  const elapsed = performance.now() - started;
  assert.ok(received < BODY_BYTES, `the client got ${received} bytes, the whole answer`);
  assert.ok(elapsed >= SEND_TIMEOUT_MS && elapsed < BOUND_MS, `cut off after ${elapsed} ms`);
  assert.equal(await timeouts('bulk'), counted + 1);
  const next = await rawRequest(proxy.port, 'GET /small HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  assert.equal(next.status, 200);
});

test('HTTP/1.1: a slow but steady reader gets the whole answer; the timeout runs between writes, not over the answer', async () => {
  // Its own proxy, with ten read intervals to a send timeout: a busy machine may delay a read a few times over.
  const sendTimeoutMs = 1_000;
  const own = await startProxy({ limits: { sendTimeoutMs }, routes: routes(upstream.url) });
  const counted = await timeouts('bulk');
  const started = performance.now();
  const socket = connect(own.port, '127.0.0.1');
  socket.on('error', () => undefined);
  // 1 MiB every 100 ms, a 16 MiB answer: the proxy waits on this client again and again for up to about
  // 100 ms (TCP opens the window in bursts), over about 1.6 s, longer than the send timeout.
  const step = 1024 * 1024;
  let received = 0;
  let allowed = step;
  let head = '';
  socket.on('data', (chunk: Buffer) => {
    if (!head.includes('\r\n\r\n')) head += chunk.toString('latin1');
    received += chunk.length;
    if (received >= allowed) socket.pause();
  });
  const reader = setInterval(() => {
    allowed += step;
    socket.resume();
  }, 100);
  let closed = false;
  socket.on('close', () => (closed = true));
  try {
    socket.write('GET /big/long HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    await waitFor(() => closed, 'the whole answer', 10_000);
  } finally {
    clearInterval(reader);
    await own.close();
  }
  const elapsed = performance.now() - started;
  const headBytes = head.indexOf('\r\n\r\n') + 4;
  assert.match(head, /^HTTP\/1\.1 200 /);
  assert.equal(received - headBytes, 2 * BODY_BYTES, 'the whole body arrived');
  assert.ok(elapsed > sendTimeoutMs, `the download took ${elapsed} ms, longer than the send timeout`);
  assert.equal(await timeouts('bulk'), counted);
});

test("HTTP/1.1: a local model's answer that the client never reads is cut off and counted on its route", async () => {
  const counted = await timeouts('tensor');
  const client = stalledClient(proxy.port, `POST /v2/models/expand/infer HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: ${INFER_BODY.length}\r\n\r\n${INFER_BODY}`);
  await waitFor(async () => (await timeouts('tensor')) === counted + 1, 'the send timeout to be counted', 5_000);
  const received = await client.resume();
  assert.ok(received < MODEL_VALUES * 4, `the client got ${received} bytes, the whole answer`);
});

/** Opens an HTTP/2 session to the proxy whose streams get a 1 KiB window: the proxy cannot send them more until the client reads. */
function smallWindowSession(): ClientHttp2Session {
  const session = connectH2(`http://127.0.0.1:${h2Port}`, { settings: { initialWindowSize: 1024 } });
  session.on('error', () => undefined);
  return session;
}

/** Requests `path` and never reads the answer; resolves with the stream's RST_STREAM code once it closed. */
async function unreadStream(session: ClientHttp2Session, headers: Record<string, string>, body?: string): Promise<number> {
  const stream = session.request(headers, { endStream: body === undefined });
  stream.on('error', () => undefined);
  stream.pause();
  if (body !== undefined) stream.end(body);
  const [head] = (await once(stream, 'response')) as [IncomingHttpHeaders];
  assert.equal(head[':status'], 200);
  await waitFor(() => stream.closed, 'the stream to be reset', BOUND_MS);
  return stream.rstCode ?? -1;
}

async function smallAnswer(session: ClientHttp2Session): Promise<{ status: unknown; body: string }> {
  const stream = session.request({ ':path': '/small' });
  const [head] = (await once(stream, 'response')) as [IncomingHttpHeaders];
  let body = '';
  for await (const chunk of stream) body += String(chunk);
  return { status: head[':status'], body };
}

test('HTTP/2: a stream whose client never reads is reset with CANCEL, the upstream request aborted and counted; the session serves another stream', async () => {
  const counted = await timeouts('bulk');
  const index = answers.length;
  const session = smallWindowSession();
  try {
    assert.equal(await unreadStream(session, { ':path': '/big' }), constants.NGHTTP2_CANCEL);
    await assertAborted(index);
    assert.equal(await timeouts('bulk'), counted + 1);
    assert.deepEqual(await smallAnswer(session), { status: 200, body: 'ok' });
  } finally {
    session.close();
  }
});

test("HTTP/2: a local model's answer that the client never reads resets its stream with CANCEL, counted on its route", async () => {
  const counted = await timeouts('tensor');
  const session = smallWindowSession();
  try {
    const headers = { ':method': 'POST', ':path': '/v2/models/expand/infer', 'content-type': 'application/json' };
    assert.equal(await unreadStream(session, headers, INFER_BODY), constants.NGHTTP2_CANCEL);
    assert.equal(await timeouts('tensor'), counted + 1);
    assert.deepEqual(await smallAnswer(session), { status: 200, body: 'ok' });
  } finally {
    session.close();
  }
});

test('HTTP/2: a client that takes nothing of its whole connection, not even the reset, loses the session', async () => {
  const counted = await timeouts('bulk');
  const index = answers.length;
  // A TCP relay between the client and the proxy that stops reading the proxy's side once the answer has started.
  const sockets: Socket[] = [];
  let choked = false;
  const relay = createServer((client) => {
    const toProxy = connect(h2Port, '127.0.0.1');
    sockets.push(client, toProxy);
    for (const socket of [client, toProxy]) socket.on('error', () => undefined);
    client.pipe(toProxy);
    toProxy.on('data', (chunk: Buffer) => {
      client.write(chunk);
      if (choked) toProxy.pause();
    });
  });
  relay.listen(0, '127.0.0.1');
  await once(relay, 'listening');
  const connections = () => new Promise<number>((resolve, reject) => proxy.proxy.http2Plane?.server.getConnections((error, count) => (error ? reject(error) : resolve(count))));
  // Windows wide enough for the whole answer: only TCP can hold it back.
  const session = connectH2(`http://127.0.0.1:${(relay.address() as AddressInfo).port}`, { settings: { initialWindowSize: 2 * BODY_BYTES } });
  session.on('error', () => undefined);
  try {
    await once(session, 'connect');
    session.setLocalWindowSize(2 * BODY_BYTES);
    const stream = session.request({ ':path': '/big' });
    stream.on('error', () => undefined);
    await once(stream, 'response');
    choked = true;
    await waitFor(async () => (await timeouts('bulk')) === counted + 1, 'the send timeout to be counted', BOUND_MS);
    await assertAborted(index);
    await waitFor(async () => (await connections()) === 0, 'the proxy to destroy the stuck session', BOUND_MS);
  } finally {
    session.destroy();
    for (const socket of sockets) socket.destroy();
    relay.close();
  }
});

test('sendTimeoutMs is reloaded: requests after a reload run on the new value', async () => {
  const own = await startProxy({ routes: routes(upstream.url) });
  try {
    assert.equal(own.proxy.holder.current.config.limits.sendTimeoutMs, 60_000, 'the default');
    writeFileSync(own.configPath, stringify({ listen: '127.0.0.1:0', admin: '127.0.0.1:0', limits: { sendTimeoutMs: SEND_TIMEOUT_MS }, routes: routes(upstream.url) }));
    own.proxy.reloader.reload('test');
    await waitFor(() => own.proxy.holder.current.config.limits.sendTimeoutMs === SEND_TIMEOUT_MS, 'the reload');
    const counted = await timeouts('bulk');
    const client = stalledClient(own.port, 'GET /big HTTP/1.1\r\nHost: a\r\n\r\n');
    await waitFor(async () => (await timeouts('bulk')) === counted + 1, 'the send timeout to be counted', BOUND_MS);
    assert.ok((await client.resume()) < BODY_BYTES);
  } finally {
    await own.close();
  }
});
