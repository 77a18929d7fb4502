// Reliability case 9: a request is sent again only where that is safe. The upstream here resets the
// connection of the next N requests after reading them (what a client sees when an upstream closes an
// idle keep-alive connection just as a request is written to it). Idempotent methods and requests with
// an Idempotency-Key get one more attempt; other POSTs only on a route with retry.nonIdempotent; never
// after the answer has started, never a streamed body, never a refused connection; attempts bound it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { request } from 'undici';
import { upstreamErrorsTotal, upstreamRetriesTotal } from '../../src/metrics/registry.js';
import { metricValue } from '../helpers/metric-value.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

let upstream: TestUpstream;
let proxy: TestProxy;
/** Requests still to be reset by the upstream; `cutAfterHead` makes it send a head and part of the body first. */
const plan = { resets: 0, cutAfterHead: false };

before(async () => {
  upstream = await startUpstream((req, res, body) => {
    if (plan.resets > 0) {
      plan.resets--;
      if (!plan.cutAfterHead) return req.socket.destroy();
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100' });
      res.write('partial');
      setTimeout(() => req.socket.destroy(), 20);
      return;
    }
    res.end(JSON.stringify({ method: req.method, body: body.toString() }));
  });
  const route = (name: string, retry?: { attempts?: number; nonIdempotent?: boolean }) => ({
    name,
    match: { pathPrefix: `/${name}` },
    variants: [{ name: 'v', target: upstream.url, weight: 1 }],
    ...(retry ? { retry } : {}),
  });
  proxy = await startProxy({
    routes: [route('default'), route('inference', { nonIdempotent: true }), route('never', { attempts: 0 }), route('thrice', { attempts: 3 })],
  });
});

after(async () => {
  await proxy.close();
  await upstream.close();
});

async function send(path: string, options: { method?: string; body?: string; headers?: Record<string, string>; resets?: number; cutAfterHead?: boolean } = {}) {
  plan.resets = options.resets ?? 1;
  plan.cutAfterHead = options.cutAfterHead ?? false;
  const route = path.split('/')[1] ?? '';
  const labels = { route, variant: 'v' };
  const before = upstream.received.length;
  const [retriesBefore, resetsBefore] = await Promise.all([metricValue(upstreamRetriesTotal, labels), metricValue(upstreamErrorsTotal, { ...labels, reason: 'reset' })]);
  const res = await request(`${proxy.url}${path}`, { method: (options.method ?? 'GET') as 'GET', body: options.body, headers: options.headers });
  let text: string;
  try {
    text = await res.body.text();
  } catch (error) {
    text = `<cut off: ${(error as Error).message}>`;
  }
  return {
    status: res.statusCode,
    text,
    attempts: upstream.received.length - before,
    retries: (await metricValue(upstreamRetriesTotal, labels)) - retriesBefore,
    resets: (await metricValue(upstreamErrorsTotal, { ...labels, reason: 'reset' })) - resetsBefore,
  };
}

test('GET, PUT and DELETE are sent once more after a reset; the retry and the reset are both counted', async () => {
  for (const method of ['GET', 'PUT', 'DELETE']) {
    const result = await send('/default/x', { method, body: method === 'PUT' ? '{"a":1}' : undefined });
    assert.deepEqual([result.status, result.attempts, result.retries, result.resets], [200, 2, 1, 1], `${method}: ${result.text}`);
  }
});

test('a POST is not repeated by default (502, one attempt), but is with an Idempotency-Key, or on a nonIdempotent route', async () => {
  const plain = await send('/default/infer', { method: 'POST', body: '{"inputs":[]}' });
  assert.deepEqual([plain.status, plain.attempts, plain.retries], [502, 1, 0], plain.text);
  assert.match(plain.text, /ABPROXY_UPSTREAM_RESET/);
  const keyed = await send('/default/infer', { method: 'POST', body: '{"inputs":[1]}', headers: { 'idempotency-key': 'k-1' } });
  assert.deepEqual([keyed.status, keyed.attempts, keyed.retries], [200, 2, 1], keyed.text);
  assert.deepEqual(upstream.received.slice(-2).map((r) => r.body.toString()), ['{"inputs":[1]}', '{"inputs":[1]}'], 'the same body both times');
  const allowed = await send('/inference/infer', { method: 'POST', body: '{"inputs":[2]}' });
  assert.deepEqual([allowed.status, allowed.attempts, allowed.retries], [200, 2, 1], allowed.text);
  assert.equal((JSON.parse(allowed.text) as { body: string }).body, '{"inputs":[2]}');
});

test('never after the answer started, never with attempts 0; attempts bound the tries', async () => {
  const started = await send('/default/x', { cutAfterHead: true });
  assert.equal(started.status, 200);
  assert.match(started.text, /cut off/, 'the client sees the answer cut off, never a complete-looking one');
  assert.deepEqual([started.attempts, started.retries], [1, 0]);
  const never = await send('/never/x');
  assert.deepEqual([never.status, never.attempts, never.retries], [502, 1, 0]);
  const twice = await send('/default/x', { resets: 2 });
  assert.deepEqual([twice.status, twice.attempts, twice.retries], [502, 2, 1], 'one retry by default');
  const thrice = await send('/thrice/x', { resets: 3 });
  assert.deepEqual([thrice.status, thrice.attempts, thrice.retries], [200, 4, 3]);
});

test('a streamed (chunked) body is never repeated, even where POSTs may be', async () => {
  plan.resets = 1;
  plan.cutAfterHead = false;
  const before = upstream.received.length;
  const retriesBefore = await metricValue(upstreamRetriesTotal, { route: 'inference', variant: 'v' });
  const address = new URL(proxy.url);
  const socket = connect(Number(address.port), address.hostname);
  socket.write('POST /inference/infer HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n');
  let raw = '';
  socket.on('data', (chunk: Buffer) => (raw += chunk.toString('latin1')));
  await new Promise((resolve) => socket.on('close', resolve));
  assert.match(raw, /^HTTP\/1\.1 502 /);
  assert.equal(upstream.received.length - before, 1);
  assert.equal((await metricValue(upstreamRetriesTotal, { route: 'inference', variant: 'v' })) - retriesBefore, 0);
});

test('a refused connection is not retried: 502 at once', async () => {
  const closed = await startUpstream();
  const { port } = closed;
  await closed.close();
  const local = await startProxy({ routes: [{ name: 'gone', match: { pathPrefix: '/' }, variants: [{ name: 'v', target: `http://127.0.0.1:${port}`, weight: 1 }] }] });
  try {
    const before = await metricValue(upstreamRetriesTotal, { route: 'gone', variant: 'v' });
    const res = await request(`${local.url}/x`);
    assert.equal(res.statusCode, 502);
    assert.match(await res.body.text(), /ABPROXY_UPSTREAM_REFUSED/);
    assert.equal((await metricValue(upstreamRetriesTotal, { route: 'gone', variant: 'v' })) - before, 0);
  } finally {
    await local.close();
  }
});
