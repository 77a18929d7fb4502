// A request that waits in undici's queue (every upstream connection busy, limits.upstreamConnections: 1)
// and whose client leaves meanwhile is never sent upstream, as with Envoy or nginx: not from an HTTP/1.1
// client that closes its connection, not from an HTTP/2 client that resets its stream, not as a retry;
// it is counted as 499 like a client that leaves mid-request. Before, it went out once the connection freed.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect as connectH2, constants, type ClientHttp2Session } from 'node:http2';
import { setTimeout as sleep } from 'node:timers/promises';
import { requestsTotal, upstreamRetriesTotal } from '../../src/metrics/registry.js';
import { converse } from '../helpers/conversation.js';
import { metricValue } from '../helpers/metric-value.js';
import { http2PortOf, startProxy, type TestProxy } from '../helpers/proxy.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait-for.js';

/** How long the upstream holds a /hold request: the queued request waits behind it. */
const HOLD_MS = 1_500;
/** How long after reading it the upstream resets the first attempt of a /reset request. */
const RESET_AFTER_MS = 500;
/** A request dispatched this long ago, behind a held one, is certainly in undici's queue. */
const QUEUED_MS = 200;
/** After the held answer: ample time for a wrongly sent queued request to reach the upstream. */
const SETTLE_MS = 1_000;
/** Bound of every wait: generous, the machine is shared. */
const BOUND_MS = HOLD_MS + 5_000;

let upstream: TestUpstream;
const resetOnce = new Set<string>();

before(async () => {
  upstream = await startUpstream((req, res) => {
    const path = req.url ?? '';
    if (path.startsWith('/hold/')) return void setTimeout(() => res.end('held'), HOLD_MS);
    if (path.startsWith('/reset/') && !resetOnce.has(path)) {
      resetOnce.add(path);
      return void setTimeout(() => req.socket.destroy(), RESET_AFTER_MS);
    }
    res.end('ok');
  });
});

after(async () => {
  await upstream.close();
});

/** A proxy of its own per test, with one upstream connection and both listeners: a request sent wrongly in one test cannot hold up the next. */
async function withProxy(run: (proxy: TestProxy, h2Port: number) => Promise<void>): Promise<void> {
  const proxy = await startProxy({
    limits: { upstreamConnections: 1 },
    http2: { listen: '127.0.0.1:0' },
    routes: [{ name: 'api', match: { pathPrefix: '/' }, variants: [{ name: 'v', target: upstream.url, weight: 1 }] }],
  });
  try {
    await run(proxy, http2PortOf(proxy.proxy));
  } finally {
    await proxy.close();
  }
}

const counted = async (code: string): Promise<number> => (await metricValue(requestsTotal, { route: 'api', variant: 'v', code })) || 0;
const retried = async (): Promise<number> => (await metricValue(upstreamRetriesTotal, { route: 'api', variant: 'v' })) || 0;
const timesReceived = (path: string): number => upstream.received.filter((request) => request.url === path).length;

async function arrived(path: string): Promise<void> {
  await waitFor(() => timesReceived(path) > 0, `${path} to reach the upstream`, BOUND_MS);
}

/** After the held answer and a settling moment: the queued request never reached the upstream (`sentBefore`: times it had), and was counted as a client abort. */
async function assertNotSent(queuedPath: string, sentBefore: number, abortsBefore: number): Promise<void> {
  await sleep(SETTLE_MS);
  assert.equal(timesReceived(queuedPath), sentBefore, `${queuedPath} was sent upstream after its client had left`);
  await waitFor(async () => (await counted('499')) === abortsBefore + 1, 'the queued request to be counted as 499', BOUND_MS);
}

test('HTTP/1.1: a queued request whose client closed its connection is not sent upstream, and is counted as 499', () =>
  withProxy(async (proxy) => {
    const abortsBefore = await counted('499');
    const held = await converse(proxy.port);
    held.write('GET /hold/h1 HTTP/1.1\r\nHost: a\r\n\r\n');
    await arrived('/hold/h1');
    const queued = await converse(proxy.port);
    queued.write('GET /queued/h1 HTTP/1.1\r\nHost: a\r\n\r\n');
    await sleep(QUEUED_MS);
    assert.equal(timesReceived('/queued/h1'), 0, 'queued behind the held request');
    queued.destroy();

    await held.waitFor(/^HTTP\/1\.1 200 [\s\S]*held$/, BOUND_MS);
    held.destroy();
    await assertNotSent('/queued/h1', 0, abortsBefore);
  }));

test('HTTP/2: a queued request whose client reset its stream is not sent upstream, and is counted as 499', () =>
  withProxy(async (_proxy, h2Port) => {
    const abortsBefore = await counted('499');
    const session: ClientHttp2Session = connectH2(`http://127.0.0.1:${h2Port}`);
    session.on('error', () => undefined);
    try {
      const held = session.request({ ':path': '/hold/h2' });
      let heldBody = '';
      held.setEncoding('utf8').on('data', (chunk: string) => (heldBody += chunk));
      await arrived('/hold/h2');
      const queued = session.request({ ':path': '/queued/h2' });
      queued.on('error', () => undefined);
      await sleep(QUEUED_MS);
      assert.equal(timesReceived('/queued/h2'), 0, 'queued behind the held request');
      queued.close(constants.NGHTTP2_CANCEL);

      await Promise.race([once(held, 'end'), sleep(BOUND_MS).then(() => assert.fail('the held answer did not end'))]);
      assert.equal(heldBody, 'held');
      await assertNotSent('/queued/h2', 0, abortsBefore);
    } finally {
      session.close();
    }
  }));

test('a retry queued behind another request, whose client then closed its connection, is not sent upstream, and is counted as 499', () =>
  withProxy(async (proxy) => {
    const abortsBefore = await counted('499');
    const retriesBefore = await retried();
    // The first attempt of /reset/retry holds the only connection and /hold/retry queues behind it; the
    // reset frees the connection for /hold/retry, and the retry of /reset/retry queues behind that.
    const reset = await converse(proxy.port);
    reset.write('GET /reset/retry HTTP/1.1\r\nHost: a\r\n\r\n');
    await arrived('/reset/retry');
    const held = await converse(proxy.port);
    held.write('GET /hold/retry HTTP/1.1\r\nHost: a\r\n\r\n');
    await arrived('/hold/retry');
    await waitFor(async () => (await retried()) === retriesBefore + 1, 'the reset request to be retried', BOUND_MS);
    await sleep(QUEUED_MS);
    assert.equal(timesReceived('/reset/retry'), 1, 'the retry is queued behind the held request');
    reset.destroy();

    await held.waitFor(/^HTTP\/1\.1 200 [\s\S]*held$/, BOUND_MS);
    held.destroy();
    await assertNotSent('/reset/retry', 1, abortsBefore);
  }));
