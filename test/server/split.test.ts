// Assignment through the real proxy: a 90/10 split over 3 000 distinct session ids, stickiness on
// repeats, and each sticky source (header, cookie, query, OIP body parameters.session_id, also in a binary
// tensor extension body), override,
// and unkeyed requests counted in abproxy_unkeyed_requests_total.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { json } from '../helpers/conversation.js';
import { mapLimit, metricValue, testClient, type TestClient } from '../helpers/client.js';
import { configSchema } from '../../src/config/schema.js';
import { RouteTable } from '../../src/routing/route-table.js';
import { variantForKey } from '../../src/routing/assign.js';

let champion: TestUpstream;
let challenger: TestUpstream;
let proxy: TestProxy;
let client: TestClient;

function routes(championUrl: string, challengerUrl: string) {
  return [
    {
      name: 'fraud',
      match: { pathPrefix: '/v2/models/fraud' },
      sticky: [{ header: 'x-session-id' }, { cookie: 'sid' }, { body: 'parameters.session_id' }, { query: 'user' }],
      variants: [
        { name: 'champion', target: championUrl, weight: 90 },
        { name: 'challenger', target: challengerUrl, weight: 10 },
      ],
    },
    {
      name: 'locked',
      match: { pathPrefix: '/locked' },
      sticky: [{ header: 'x-session-id' }],
      override: { enabled: false },
      variants: [
        { name: 'champion', target: championUrl, weight: 100 },
        { name: 'challenger', target: challengerUrl, weight: 0 },
      ],
    },
  ];
}

before(async () => {
  champion = await startUpstream();
  challenger = await startUpstream();
  proxy = await startProxy({ routes: routes(champion.url, challenger.url) });
  client = testClient(proxy.url);
});

after(async () => {
  await client.close();
  await proxy.close();
  await champion.close();
  await challenger.close();
});

function expectedVariant(key: string): string {
  const table = new RouteTable(configSchema.parse({ routes: routes(champion.url, challenger.url) }));
  const route = table.byName.get('fraud');
  assert.ok(route);
  return variantForKey(route, key).name;
}

test('3 000 distinct x-session-id through 90/10: challenger 10% +- 2 pp, and repeating a key repeats its variant', async () => {
  const keys = Array.from({ length: 3_000 }, (_v, i) => `user-${i}-${Math.random().toString(36).slice(2)}`);
  const first = await mapLimit(keys, 16, async (key) => {
    const reply = await client.send('GET', '/v2/models/fraud/infer', { 'x-session-id': key });
    assert.equal(reply.status, 200);
    return String(reply.headers['x-abproxy-variant']);
  });
  const share = first.filter((v) => v === 'challenger').length / keys.length;
  assert.ok(Math.abs(share - 0.1) <= 0.02, `challenger share ${(share * 100).toFixed(2)}%`);
  assert.equal(champion.received.length + challenger.received.length, 3_000, 'every request reached exactly one upstream');
  assert.equal(challenger.received.length, first.filter((v) => v === 'challenger').length, 'the header names the upstream that served it');

  const repeats = keys.slice(0, 1_000);
  const second = await mapLimit(repeats, 16, async (key) => String((await client.send('GET', '/v2/models/fraud/x', { 'x-session-id': key })).headers['x-abproxy-variant']));
  repeats.forEach((key, i) => assert.equal(second[i], first[i], `key ${key} changed variant`));
});

test('cookie, query and OIP body keys (JSON or binary extension) assign like the assignment function', async () => {
  const sources: [string, (key: string) => Promise<string>][] = [
    ['cookie', async (key) => String((await client.send('GET', '/v2/models/fraud/infer', { cookie: `theme=dark; sid=${key}` })).headers['x-abproxy-variant'])],
    ['query', async (key) => String((await client.send('GET', `/v2/models/fraud/infer?x=1&user=${encodeURIComponent(key)}`)).headers['x-abproxy-variant'])],
    [
      'body',
      async (key) => {
        const body = JSON.stringify({ inputs: [{ name: 'x', shape: [1], datatype: 'FP32', data: [1] }], parameters: { session_id: key } });
        const reply = await client.send('POST', '/v2/models/fraud/infer', { 'content-type': 'application/json' }, body);
        assert.equal(json(reply.text).bytes, Buffer.byteLength(body), 'buffered body forwarded whole');
        return String(reply.headers['x-abproxy-variant']);
      },
    ],
    [
      // The OIP binary tensor extension: the JSON part ends where Inference-Header-Content-Length says; raw FP32 bytes follow.
      'binary-extension body',
      async (key) => {
        const head = Buffer.from(JSON.stringify({ parameters: { session_id: key }, inputs: [{ name: 'x', shape: [2], datatype: 'FP32', parameters: { binary_data_size: 8 } }] }));
        const body = Buffer.concat([head, Buffer.from(new Float32Array([1.5, -2.25]).buffer)]);
        const headers = { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(head.length) };
        const reply = await client.send('POST', '/v2/models/fraud/infer', headers, body);
        assert.equal(json(reply.text).bytes, body.length, 'the body is forwarded whole, tensor bytes included');
        return String(reply.headers['x-abproxy-variant']);
      },
    ],
  ];
  for (const [source, send] of sources) {
    const keys = Array.from({ length: 200 }, (_v, i) => `${source}-key-${i}`);
    const got = await mapLimit(keys, 8, send);
    keys.forEach((key, i) => assert.equal(got[i], expectedVariant(key), `${source} key ${key}`));
    assert.ok(got.includes('challenger') && got.includes('champion'), `${source}: both variants seen`);
  }
});

test('override header forces a variant; disabled override is ignored', async () => {
  for (let i = 0; i < 20; i++) {
    const forced = await client.send('GET', '/v2/models/fraud/infer', { 'x-session-id': `k${i}`, 'x-abproxy-variant': 'challenger' });
    assert.equal(forced.headers['x-abproxy-variant'], 'challenger');
    const locked = await client.send('GET', '/locked/x', { 'x-session-id': `k${i}`, 'x-abproxy-variant': 'challenger' });
    assert.equal(locked.headers['x-abproxy-variant'], 'champion');
  }
});

test('unkeyed requests are assigned at random by weight and counted', async () => {
  const metrics = async () => (await fetch(`${proxy.adminUrl}/metrics`)).text();
  const before = metricValue(await metrics(), 'abproxy_unkeyed_requests_total', { route: 'fraud' });
  const variants = await mapLimit(Array.from({ length: 400 }), 16, async () => String((await client.send('GET', '/v2/models/fraud/infer')).headers['x-abproxy-variant']));
  const after = metricValue(await metrics(), 'abproxy_unkeyed_requests_total', { route: 'fraud' });
  assert.equal(after - before, 400);
  const share = variants.filter((v) => v === 'challenger').length / variants.length;
  assert.ok(share > 0.03 && share < 0.2, `random challenger share ${share}`);
});
