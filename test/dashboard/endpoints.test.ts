// The dashboard's admin endpoints on a real proxy: the page and its files with a same-origin CSP, and
// GET /admin/timeseries filled by the sampler from real traffic.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { fraudSplitRoute } from '../helpers/routes.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

let upstream: TestUpstream;
let proxy: TestProxy;

before(async () => {
  upstream = await startUpstream();
  proxy = await startProxy({
    routes: [fraudSplitRoute(upstream.url, upstream.url)],
  });
});

after(async () => {
  await proxy.close();
  await upstream.close();
});

test('GET / serves the page; its script and styles load from the admin address only', async () => {
  const page = await fetch(`${proxy.adminUrl}/`);
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
  const csp = page.headers.get('content-security-policy') ?? '';
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'self'/);
  assert.match(csp, /connect-src 'self'/);
  const html = await page.text();
  assert.doesNotMatch(html, /https?:\/\//, 'the page references no other origin');
  assert.ok(html.includes('src="/dashboard/app.js"') && html.includes('href="/dashboard/app.css"'));
  for (const [path, type] of [
    ['/dashboard/app.js', /^text\/javascript/],
    ['/dashboard/chart.js', /^text\/javascript/],
    ['/dashboard/weights.js', /^text\/javascript/],
    ['/dashboard/app.css', /^text\/css/],
  ] as const) {
    const res = await fetch(`${proxy.adminUrl}${path}`);
    assert.equal(res.status, 200, path);
    assert.match(res.headers.get('content-type') ?? '', type, path);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    const body = await res.text();
    assert.doesNotMatch(body, /https?:\/\/(?!www\.w3\.org\/2000\/svg)/, `${path} calls no other origin`);
  }
});

test('only the packaged dashboard files are served', async () => {
  for (const path of ['/dashboard/serve.ts', '/dashboard/../timeseries.ts', '/dashboard/%2e%2e/timeseries.ts', '/dashboard/']) {
    const res = await fetch(`${proxy.adminUrl}${path}`);
    assert.equal(res.status, 404, path);
    assert.equal((await res.json() as { code: string }).code, 'ABPROXY_NOT_FOUND');
  }
  const post = await fetch(`${proxy.adminUrl}/`, { method: 'POST' });
  assert.equal(post.status, 405);
  await post.arrayBuffer();
});

test('GET /admin/timeseries returns per-variant points after traffic, with the configured split', async () => {
  const sent = { champion: 0, challenger: 0 };
  for (let i = 0; i < 200; i++) {
    const res = await fetch(`${proxy.url}/v2/models/fraud/infer`, { method: 'POST', headers: { 'x-session-id': `user-${i}` }, body: '{}' });
    await res.arrayBuffer();
    sent[res.headers.get('x-abproxy-variant') as keyof typeof sent]++;
  }
  interface Body {
    intervalMs: number;
    capacity: number;
    generation: number;
    counters: Record<string, number>;
    routes: { name: string; variants: { name: string; weight: number; configuredShare: number }[]; points: { variants: { name: string; requests: number }[] }[] }[];
  }
  let body: Body | undefined;
  let counted = { champion: 0, challenger: 0 };
  for (let attempt = 0; attempt < 100; attempt++) {
    body = (await (await fetch(`${proxy.adminUrl}/admin/timeseries?route=fraud`)).json()) as Body;
    counted = { champion: 0, challenger: 0 };
    for (const point of body.routes[0]?.points ?? []) for (const v of point.variants) counted[v.name as keyof typeof counted] += v.requests;
    if (counted.champion + counted.challenger >= 200) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.ok(body);
  assert.equal(body.intervalMs, 1000);
  assert.equal(body.capacity, 300);
  assert.equal(body.generation, 1);
  assert.equal(body.counters.failedSamples, 0);
  assert.deepEqual(body.routes[0]?.variants, [
    { name: 'champion', weight: 90, configuredShare: 0.9 },
    { name: 'challenger', weight: 10, configuredShare: 0.1 },
  ]);
  assert.deepEqual(counted, sent, 'every request shows up once, under the variant that served it');
  assert.ok(sent.challenger > 0 && sent.champion > sent.challenger);
});

test('GET /admin/timeseries rejects an unknown route and a bad limit', async () => {
  const unknown = await fetch(`${proxy.adminUrl}/admin/timeseries?route=nope`);
  assert.equal(unknown.status, 404);
  assert.equal((await unknown.json() as { code: string }).code, 'ABPROXY_NO_ROUTE');
  for (const limit of ['0', '-1', 'abc', '1.5']) {
    const res = await fetch(`${proxy.adminUrl}/admin/timeseries?limit=${limit}`);
    assert.equal(res.status, 400, limit);
    await res.arrayBuffer();
  }
  const one = (await (await fetch(`${proxy.adminUrl}/admin/timeseries?limit=1`)).json()) as { routes: { points: unknown[] }[] };
  assert.ok((one.routes[0]?.points.length ?? 0) <= 1);
});
