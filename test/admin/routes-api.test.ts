// The admin routes API on a real proxy: listing routes, assignment lookups that agree with the data
// plane, weight changes that need the bearer token, validate, rewrite the file and apply at once, and a
// CONNECT answered, and HEAD answered as GET without its body.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CONNECT_REFUSED } from '../../src/http/errors.js';
import { json, parseResponse } from '../helpers/conversation.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { rawRequest } from '../helpers/raw.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

const TOKEN = 'test-token-5f2c';

async function setup(adminToken = TOKEN): Promise<{ proxy: TestProxy; upstreams: TestUpstream[] }> {
  const upstreams = await Promise.all(['a', 'b', 'c'].map((name) => startUpstream((_req, res) => res.writeHead(200).end(name))));
  const proxy = await startProxy({
    adminToken,
    routes: [
      {
        name: 'fraud',
        match: { pathPrefix: '/v2/models/fraud' },
        sticky: [{ header: 'x-session-id' }],
        variants: ['champion', 'challenger', 'candidate'].map((name, i) => ({ name, target: upstreams[i]?.url ?? '', weight: [80, 10, 10][i] ?? 0 })),
      },
    ],
  });
  return { proxy, upstreams };
}

async function teardown({ proxy, upstreams }: { proxy: TestProxy; upstreams: TestUpstream[] }): Promise<void> {
  await proxy.close();
  await Promise.all(upstreams.map((u) => u.close()));
}

const put = (proxy: TestProxy, body: unknown, headers: Record<string, string> = {}, path = '/admin/routes/fraud/weights') =>
  fetch(`${proxy.adminUrl}${path}`, { method: 'PUT', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
const auth = { authorization: `Bearer ${TOKEN}` };

test('PUT weights is refused with 401 without the bearer token or with a wrong one, and changes nothing', async () => {
  const env = await setup();
  try {
    const before = readFileSync(env.proxy.configPath, 'utf8');
    for (const headers of [{} as Record<string, string>, { authorization: 'Bearer wrong' }, { authorization: `Basic ${TOKEN}` }, { authorization: `Bearer ${TOKEN}x` }]) {
      const res = await put(env.proxy, { champion: 50, challenger: 50 }, headers);
      assert.equal(res.status, 401, JSON.stringify(headers));
      assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="abproxy"');
      assert.equal(((await res.json()) as { code: string }).code, 'ABPROXY_UNAUTHORIZED');
    }
    assert.equal(readFileSync(env.proxy.configPath, 'utf8'), before);
    assert.equal(env.proxy.proxy.holder.current.generation, 1);
  } finally {
    await teardown(env);
  }
});

test('PUT weights with the token plans, rewrites the file and applies before answering', async () => {
  const env = await setup();
  try {
    const dry = await put(env.proxy, { champion: 70, candidate: 20 }, auth, '/admin/routes/fraud/weights?dryRun=true');
    assert.equal(dry.status, 200);
    const plan = (await dry.json()) as { movedShare: number; written: boolean; moves: unknown[] };
    assert.equal(plan.movedShare, 0.1);
    assert.equal(plan.written, false);
    assert.deepEqual(plan.moves, [{ from: 'champion', to: 'candidate', share: 0.1 }]);
    assert.equal(env.proxy.proxy.holder.current.generation, 1);

    const res = await put(env.proxy, { champion: 70, candidate: 20 }, auth);
    assert.equal(res.status, 200);
    const applied = (await res.json()) as { movedShare: number; written: boolean; generation: number };
    assert.deepEqual([applied.movedShare, applied.written, applied.generation], [0.1, true, 2]);
    const routes = (await (await fetch(`${env.proxy.adminUrl}/admin/routes`)).json()) as { generation: number; routes: { name: string; variants: { name: string; weight: number; share: number }[]; weightHistorySteps: number }[] };
    assert.equal(routes.generation, 2);
    assert.deepEqual(routes.routes[0]?.variants.map((v) => [v.name, v.weight]), [['champion', 70], ['challenger', 10], ['candidate', 20]]);
    assert.equal(routes.routes[0]?.weightHistorySteps, 1);
    assert.match(readFileSync(env.proxy.configPath, 'utf8'), /weightHistory:\n\s+- \{ champion: 80, challenger: 10, candidate: 10 \}/);
  } finally {
    await teardown(env);
  }
});

test('PUT weights rejects bad requests with a coded error and leaves everything as it was', async () => {
  const env = await setup();
  try {
    const before = readFileSync(env.proxy.configPath, 'utf8');
    const cases: [unknown, number, string, string?][] = [
      [{ champion: 0, challenger: 0, candidate: 0 }, 400, 'ABPROXY_BAD_WEIGHTS'],
      [{ nobody: 5 }, 400, 'ABPROXY_BAD_WEIGHTS'],
      [{ champion: -1 }, 400, 'ABPROXY_BAD_WEIGHTS'],
      [{ champion: '5' }, 400, 'ABPROXY_BAD_WEIGHTS'],
      ['not json', 400, 'ABPROXY_BAD_WEIGHTS'],
      [[1, 2], 400, 'ABPROXY_BAD_WEIGHTS'],
      [{ champion: 5 }, 404, 'ABPROXY_UNKNOWN_ROUTE', '/admin/routes/nope/weights'],
      [{ champion: 5 }, 404, 'ABPROXY_NOT_FOUND', '/admin/routes/fraud/other'],
      [{ champion: 5 }, 400, 'ABPROXY_BAD_REQUEST', '/admin/routes/fraud/weights?dryRun=yes'], // not understood: no write
      [`{"champion": ${'1'.repeat(70_000)}}`, 413, 'ABPROXY_BODY_TOO_LARGE'],
    ];
    for (const [body, status, code, path] of cases) {
      const res = await put(env.proxy, body, auth, path);
      assert.equal(res.status, status, JSON.stringify(body).slice(0, 60));
      assert.equal(((await res.json()) as { code: string }).code, code);
    }
    const planned = (await (await put(env.proxy, { champion: 5 }, auth, '/admin/routes/fraud/weights?dryRun=TRUE')).json()) as { dryRun: boolean; written: boolean };
    assert.deepEqual([planned.dryRun, planned.written], [true, false], 'dryRun=TRUE plans only');
    const zero = (await (await put(env.proxy, { champion: 0, challenger: 0, candidate: 0 }, auth)).json()) as { problems: string[] };
    assert.deepEqual(zero.problems, ['routes[0].variants: weights must sum to more than 0']);
    assert.equal(readFileSync(env.proxy.configPath, 'utf8'), before);
    assert.equal(env.proxy.proxy.holder.current.generation, 1);
  } finally {
    await teardown(env);
  }
});

test('GET /admin/assign names the variant the data plane serves for a key', async () => {
  const env = await setup('');
  try {
    for (const key of ['user-1', 'user-2', 'user-3', 'user-42', 'user-99']) {
      const res = await fetch(`${env.proxy.adminUrl}/admin/assign?route=fraud&key=${key}`);
      const answer = (await res.json()) as { route: string; key: string; slot: number; variant: string; generation: number };
      assert.equal(answer.key, key);
      assert.ok(answer.slot >= 0 && answer.slot < 10_000);
      const served = await fetch(`${env.proxy.url}/v2/models/fraud/infer`, { headers: { 'x-session-id': key } });
      assert.equal(served.headers.get('x-abproxy-variant'), answer.variant);
      await served.arrayBuffer();
    }
    assert.equal((await fetch(`${env.proxy.adminUrl}/admin/assign?route=fraud`)).status, 400);
    const empty = await fetch(`${env.proxy.adminUrl}/admin/assign?route=fraud&key=`);
    assert.equal(empty.status, 400, 'an empty key is no key: the data plane picks at random, so no variant can be named');
    assert.match(((await empty.json()) as { error: string }).error, /an empty key is no key/);
    assert.equal((await fetch(`${env.proxy.adminUrl}/admin/assign?route=nope&key=k`)).status, 404);
    // Without a configured token (loopback admin), writes are open.
    assert.equal((await put(env.proxy, { challenger: 20 })).status, 200);
  } finally {
    await teardown(env);
  }
});

test('CONNECT on the admin address is answered 400 and closed, not dropped unanswered', async () => {
  const env = await setup();
  try {
    const raw = await rawRequest(env.proxy.proxy.admin.address.port, 'CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n');
    const reply = parseResponse(raw.text);
    assert.equal(reply.status, 400);
    assert.deepEqual(json(reply.body), { error: CONNECT_REFUSED, code: 'ABPROXY_BAD_REQUEST' });
    assert.ok(raw.closed, 'the connection is closed');
  } finally {
    await teardown(env);
  }
});

test('HEAD on an admin GET endpoint answers its head without a body; the 405 Allow lists HEAD', async () => {
  const env = await setup();
  try {
    for (const path of ['/metrics', '/healthz', '/admin/routes']) {
      const [head, get] = await Promise.all([fetch(`${env.proxy.adminUrl}${path}`, { method: 'HEAD' }), fetch(`${env.proxy.adminUrl}${path}`)]);
      assert.equal(head.status, 200, path);
      assert.equal(head.headers.get('content-type'), get.headers.get('content-type'), path);
      assert.equal(await head.text(), '', path);
    }
    const raw = parseResponse((await rawRequest(env.proxy.proxy.admin.address.port, 'DELETE /metrics HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')).text);
    assert.equal(raw.status, 405);
    assert.equal(raw.headers.get('allow'), 'GET, HEAD');
  } finally {
    await teardown(env);
  }
});
