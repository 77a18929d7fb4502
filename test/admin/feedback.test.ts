// Feedback attribution by each path (explicit variant, request id, sticky key) on both planes, every
// refusal with its status and counter, the bounded request-id memory, and reward sums and squares.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { parseMetrics, sampleValue } from '../helpers/prom-text.js';
import { rawRequest } from '../helpers/raw.js';

let upstream: TestUpstream;
let proxy: TestProxy;

before(async () => {
  upstream = await startUpstream();
  proxy = await startProxy({
    feedback: { requestIdCacheSize: 3, maxBodyBytes: 256 },
    routes: [
      {
        name: 'rec',
        match: { pathPrefix: '/rec' },
        sticky: [{ header: 'x-user' }],
        variants: [
          { name: 'control', target: upstream.url, weight: 50 },
          { name: 'challenger', target: upstream.url, weight: 50 },
        ],
      },
      { name: 'other', match: { pathPrefix: '/other' }, variants: [{ name: 'solo', target: upstream.url, weight: 1 }] },
    ],
  });
});

after(async () => {
  await proxy.close();
  await upstream.close();
});

async function serve(path: string, headers: Record<string, string> = {}): Promise<{ variant: string; requestId: string }> {
  const res = await fetch(`${proxy.url}${path}`, { headers });
  await res.arrayBuffer();
  assert.equal(res.status, 200);
  return { variant: res.headers.get('x-abproxy-variant') ?? '', requestId: res.headers.get('x-request-id') ?? '' };
}

type Plane = 'admin' | 'data';
async function feedback(plane: Plane, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const url = plane === 'admin' ? `${proxy.adminUrl}/feedback` : `${proxy.url}/_abproxy/feedback`;
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

async function metrics() {
  return parseMetrics(await (await fetch(`${proxy.adminUrl}/metrics`)).text());
}

test('explicit variant wins on both planes', async () => {
  for (const plane of ['admin', 'data'] as const) {
    const { status, json } = await feedback(plane, { route: 'rec', variant: 'challenger', reward: 1, requestId: 'ignored-when-variant-is-given' });
    assert.equal(status, 200, plane);
    assert.deepEqual(json, { route: 'rec', variant: 'challenger', reward: 1, attributedBy: 'variant' });
  }
});

test('request id attributes to the variant that served it (forced both ways by override)', async () => {
  for (const forced of ['control', 'challenger']) {
    const served = await serve('/rec/x', { 'x-abproxy-variant': forced, 'x-user': 'same-user' });
    assert.equal(served.variant, forced);
    for (const plane of ['admin', 'data'] as const) {
      const { status, json } = await feedback(plane, { route: 'rec', requestId: served.requestId, reward: 0 });
      assert.equal(status, 200);
      assert.equal(json.variant, forced, `${plane}: request ${served.requestId}`);
      assert.equal(json.attributedBy, 'requestId');
    }
  }
});

test('a client-supplied x-request-id is remembered under that id', async () => {
  const served = await serve('/rec/x', { 'x-request-id': 'client-chosen-id-1', 'x-user': 'u-77' });
  assert.equal(served.requestId, 'client-chosen-id-1');
  const { json } = await feedback('admin', { route: 'rec', requestId: 'client-chosen-id-1', reward: 1 });
  assert.equal(json.variant, served.variant);
});

test('key attributes to the variant the key hashes to, the same one the data plane chose', async () => {
  for (let i = 0; i < 6; i++) {
    const key = `user-${i}`;
    const served = await serve('/rec/x', { 'x-user': key });
    const { status, json } = await feedback(i % 2 ? 'admin' : 'data', { route: 'rec', key, reward: 0.5 });
    assert.equal(status, 200);
    assert.equal(json.variant, served.variant, key);
    assert.equal(json.attributedBy, 'key');
  }
});

test('every refusal: status, code, message and rejected counter by reason', async () => {
  const cases: { body: unknown; status: number; code: string; reason: string; message: RegExp }[] = [
    { body: { route: 'nope', variant: 'control', reward: 1 }, status: 400, code: 'ABPROXY_UNKNOWN_ROUTE', reason: 'unknown_route', message: /no route named "nope"/ },
    { body: { route: 'rec', variant: 'nope', reward: 1 }, status: 400, code: 'ABPROXY_UNKNOWN_VARIANT', reason: 'unknown_variant', message: /no variant "nope"/ },
    { body: { route: 'rec', requestId: 'never-served', reward: 1 }, status: 404, code: 'ABPROXY_UNKNOWN_REQUEST_ID', reason: 'unknown_request_id', message: /request id "never-served" is not known on route "rec"/ },
    { body: { route: 'rec', reward: 1 }, status: 400, code: 'ABPROXY_FEEDBACK_INVALID', reason: 'bad_request', message: /one of variant, requestId or key/ },
    { body: { route: 'rec', variant: 'control' }, status: 400, code: 'ABPROXY_FEEDBACK_INVALID', reason: 'bad_request', message: /reward must be a finite number/ },
    { body: { route: 'rec', variant: 'control', reward: '1' }, status: 400, code: 'ABPROXY_FEEDBACK_INVALID', reason: 'bad_request', message: /reward must be a finite number/ },
    { body: { variant: 'control', reward: 1 }, status: 400, code: 'ABPROXY_FEEDBACK_INVALID', reason: 'bad_request', message: /route is required/ },
    { body: { route: 'rec', variant: 'control', reward: 1, extra: 1 }, status: 400, code: 'ABPROXY_FEEDBACK_INVALID', reason: 'bad_request', message: /unknown field "extra"/ },
    { body: '{"route": "rec",', status: 400, code: 'ABPROXY_FEEDBACK_INVALID', reason: 'bad_request', message: /not valid JSON/ },
    { body: [1, 2], status: 400, code: 'ABPROXY_FEEDBACK_INVALID', reason: 'bad_request', message: /JSON object/ },
    { body: { route: 'rec', key: 'x'.repeat(300), reward: 1 }, status: 413, code: 'ABPROXY_BODY_TOO_LARGE', reason: 'too_large', message: /maxBodyBytes \(256 bytes\)/ },
  ];
  for (const plane of ['admin', 'data'] as const) {
    for (const c of cases) {
      const before = sampleValue(await metrics(), 'abproxy_feedback_rejected_total', { reason: c.reason }) ?? 0;
      const { status, json } = await feedback(plane, c.body);
      assert.equal(status, c.status, `${plane} ${JSON.stringify(c.body)}`);
      assert.equal(json.code, c.code);
      assert.match(String(json.error), c.message);
      assert.equal(sampleValue(await metrics(), 'abproxy_feedback_rejected_total', { reason: c.reason }), before + 1, `${c.reason} counted`);
    }
  }
  // A request id served on another route is unknown on this one.
  const elsewhere = await serve('/other');
  assert.equal((await feedback('admin', { route: 'rec', requestId: elsewhere.requestId, reward: 1 })).status, 404);
});

test('the data plane answers 405 to other methods on the feedback path and keeps proxying', async () => {
  const res = await rawRequest(proxy.port, 'GET /_abproxy/feedback HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.equal(res.status, 405);
  assert.match(res.text, /allow: POST/i);
  assert.equal(upstream.received.filter((r) => r.url.startsWith('/_abproxy')).length, 0, 'never proxied');
  await serve('/rec/after');
});

test('the request-id memory is bounded: the oldest id is dropped and counted', async () => {
  const evictedBefore = sampleValue(await metrics(), 'abproxy_feedback_request_ids_evicted_total') ?? 0;
  const ids: string[] = [];
  for (let i = 0; i < 4; i++) ids.push((await serve('/rec/x', { 'x-user': `bounded-${i}` })).requestId);
  // requestIdCacheSize is 3: the first of the four is gone, the last three are known.
  assert.equal((await feedback('admin', { route: 'rec', requestId: ids[0], reward: 1 })).status, 404);
  for (const id of ids.slice(1)) assert.equal((await feedback('admin', { route: 'rec', requestId: id, reward: 1 })).status, 200);
  // The memory was already full from the earlier tests, so each of the four new ids dropped one.
  assert.equal(sampleValue(await metrics(), 'abproxy_feedback_request_ids_evicted_total'), evictedBefore + 4);
});

test('rewards add to count, sum, sum of squares and the non-binary counter of their variant', async () => {
  const series = async () => {
    const m = await metrics();
    const labels = { route: 'other', variant: 'solo' };
    return {
      count: sampleValue(m, 'abproxy_feedback_reward_count', labels),
      sum: sampleValue(m, 'abproxy_feedback_reward_sum', labels),
      squares: sampleValue(m, 'abproxy_feedback_reward_squares', labels),
      nonBinary: sampleValue(m, 'abproxy_feedback_nonbinary_total', labels),
    };
  };
  assert.deepEqual(await series(), { count: 0, sum: 0, squares: 0, nonBinary: 0 });
  for (const reward of [0.5, 1, 0, 2.5, -1]) assert.equal((await feedback('data', { route: 'other', variant: 'solo', reward })).status, 200);
  assert.deepEqual(await series(), { count: 5, sum: 3, squares: 0.25 + 1 + 0 + 6.25 + 1, nonBinary: 3 });
});
