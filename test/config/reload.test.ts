// Hot reload on a real proxy: bad files are rejected whole (traffic unchanged, counted, every problem
// logged with its path), good files apply atomically, in-flight requests finish on the generation
// (and upstream pool) they started with, SIGHUP reloads, and the admin address rules hold.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { request } from 'node:http';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { stringify } from 'yaml';
import type { ConfigInput } from '../../src/config/schema.js';
import { loadConfigFile } from '../../src/config/load.js';
import { ConfigReloader } from '../../src/config/reload.js';
import { configReloadsTotal, registry } from '../../src/metrics/registry.js';
import { startAbproxy } from '../../src/server/lifecycle.js';
import { RuntimeHolder } from '../../src/server/runtime.js';
import { spawnServe } from '../helpers/cli.js';
import { writeConfig } from '../helpers/proxy.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait-for.js';

const named = (name: string) => startUpstream((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end(name));

function route(a: TestUpstream, b: TestUpstream, weights: [number, number]) {
  return {
    name: 'r',
    match: { pathPrefix: '/r' },
    sticky: [{ header: 'x-user' }],
    variants: [
      { name: 'a', target: a.url, weight: weights[0] },
      { name: 'b', target: b.url, weight: weights[1] },
    ],
  };
}

function replaceFile(path: string, config: Partial<ConfigInput> | string): void {
  writeFileSync(`${path}.tmp`, typeof config === 'string' ? config : stringify({ listen: '127.0.0.1:0', admin: '127.0.0.1:0', ...config }));
  renameSync(`${path}.tmp`, path);
}

async function reloads(result: 'success' | 'rejected'): Promise<number> {
  return (await configReloadsTotal.get()).values.find((v) => v.labels.result === result)?.value ?? 0;
}

function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; variant: string; body: string }> {
  return new Promise((resolve, reject) => {
    request(url, { headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, variant: String(res.headers['x-abproxy-variant']), body }));
      res.on('error', reject);
    })
      .on('error', reject)
      .end();
  });
}

test('bad files are rejected whole: traffic unchanged, counted, every problem logged with its path', async () => {
  const [a, b] = await Promise.all([named('a'), named('b')]);
  const lines: string[] = [];
  const sink = new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(chunk.toString()), done()) });
  const configPath = writeConfig({ routes: [route(a, b, [50, 50])] });
  const proxy = await startAbproxy({ configPath, logger: pino({ level: 'info' }, sink) });
  const url = `http://127.0.0.1:${proxy.dataPlane.address.port}/r/x`;
  const keys = Array.from({ length: 40 }, (_v, i) => `k${i}`);
  const variants = async () => Promise.all(keys.map(async (k) => (await get(url, { 'x-user': k })).variant));
  try {
    const live = await variants();
    assert.ok(live.includes('a') && live.includes('b'));
    const good = readFileSync(configPath, 'utf8');
    const bad: [string, string, RegExp][] = [
      ['weights summing to 0', good.replace('weight: 50', 'weight: 0').replace('weight: 50', 'weight: 0'), /routes\[0\]\.variants: weights must sum to more than 0/],
      ['an unknown key', good.replace('routes:', 'retries: 3\nroutes:'), /\(root\): unknown key "retries"/],
      ['duplicate names', good.replace('name: b', 'name: a'), /routes\[0\]\.variants\[1\]\.name: duplicate variant name "a"/],
      ['YAML that does not parse', `${good}\n  - : [`, /cannot parse/],
      ['a head timeout past the request timeout', good.replace('routes:', 'limits: { requestTimeoutMs: 5000 }\nroutes:'), /limits\.headersTimeoutMs: 10000 must be at most requestTimeoutMs, 5000/],
    ];
    for (const [what, text, logged] of bad) {
      const rejectedBefore = await reloads('rejected');
      lines.length = 0;
      replaceFile(configPath, text);
      await waitFor(async () => (await reloads('rejected')) === rejectedBefore + 1, `${what} to be rejected`);
      assert.equal(proxy.holder.current.generation, 1, what);
      const entries = lines.map((line) => JSON.parse(line) as { file?: string; problem?: string });
      assert.ok(entries.some((e) => e.file === configPath && logged.test(e.problem ?? '')), `${what}: log names the path\n${lines.join('')}`);
      assert.deepEqual(await variants(), live, `${what}: traffic unchanged`);
    }
    // A second event for the same broken text is not counted twice.
    const rejected = await reloads('rejected');
    proxy.reloader.reload('watch');
    assert.equal(await reloads('rejected'), rejected);

    const successBefore = await reloads('success');
    replaceFile(configPath, { routes: [route(a, b, [0, 100])] });
    await waitFor(() => proxy.holder.current.generation === 2, 'the good file to apply');
    assert.equal(await reloads('success'), successBefore + 1);
    assert.deepEqual(await variants(), keys.map(() => 'b'));
    const metrics = await registry.metrics();
    assert.match(metrics, /abproxy_config_generation 2\n/);
    assert.match(metrics, /abproxy_variant_weight\{route="r",variant="a"\} 0\n/);
    assert.match(metrics, /abproxy_variant_weight\{route="r",variant="b"\} 100\n/);
  } finally {
    await proxy.close(2_000);
    await Promise.all([a.close(), b.close()]);
  }
});

test('an in-flight request finishes on the generation and the upstream pool it started with', async () => {
  let release = () => undefined as void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const slow = await startUpstream((_req, res) => void released.then(() => res.writeHead(200).end('slow-a')));
  const [b, c] = await Promise.all([named('b'), named('c')]);
  const configPath = writeConfig({ routes: [route(slow, b, [100, 0])] });
  const proxy = await startAbproxy({ configPath, logger: pino({ level: 'silent' }) });
  const url = `http://127.0.0.1:${proxy.dataPlane.address.port}/r/x`;
  try {
    const inFlight = get(url, { 'x-user': 'k1' });
    await waitFor(() => slow.received.length === 1, 'the slow upstream to get the request');
    // New generation: all traffic to b, and variant a now points at another origin (the slow pool retires).
    replaceFile(configPath, { routes: [{ ...route(c, b, [0, 100]) }] });
    await waitFor(() => proxy.holder.current.generation === 2, 'the reload');
    assert.deepEqual(await get(url, { 'x-user': 'k1' }), { status: 200, variant: 'b', body: 'b' });
    release();
    assert.deepEqual(await inFlight, { status: 200, variant: 'a', body: 'slow-a' });
  } finally {
    release();
    await proxy.close(2_000);
    await Promise.all([slow.close(), b.close(), c.close()]);
  }
});

test('a reload that drops adminToken is rejected while the bound admin address is not loopback', () => {
  const a = 'http://127.0.0.1:1';
  const configPath = writeConfig({ admin: '0.0.0.0:9901', adminToken: 'secret', routes: [{ name: 'r', match: { pathPrefix: '/r' }, variants: [{ name: 'a', target: a, weight: 1 }] }] });
  const started = loadConfigFile(configPath);
  const holder = new RuntimeHolder(started.config);
  const reloader = new ConfigReloader({ path: configPath, holder, logger: pino({ level: 'silent' }), started });
  writeFileSync(configPath, readFileSync(configPath, 'utf8').replace('adminToken: secret', 'adminToken: ""'));
  const result = reloader.reload('SIGHUP');
  assert.equal(result.result, 'rejected');
  assert.match(result.problems.join('\n'), /adminToken: required while the admin address 0\.0\.0\.0:9901 is not loopback/);
  assert.equal(holder.current.generation, 1);
});

test('the proxy refuses to start with a non-loopback admin address and no adminToken', async () => {
  const configPath = writeConfig({ admin: '0.0.0.0:0', routes: [{ name: 'r', match: { pathPrefix: '/r' }, variants: [{ name: 'a', target: 'http://127.0.0.1:1', weight: 1 }] }] });
  await assert.rejects(startAbproxy({ configPath, logger: pino({ level: 'silent' }) }), /not loopback: set adminToken/);
});

test('a listener that cannot bind stops the start naming its config field, and leaves no listener behind; validate catches two listeners on one port', async (t) => {
  const taken = createServer();
  taken.listen(0, '127.0.0.1');
  await once(taken, 'listening');
  t.after(() => taken.close());
  const busy = `127.0.0.1:${(taken.address() as AddressInfo).port}`;
  const routes = [{ name: 'r', match: { pathPrefix: '/r' }, variants: [{ name: 'a', target: 'http://127.0.0.1:1', weight: 1 }] }];
  const servers = () => process.getActiveResourcesInfo().filter((kind) => kind === 'TCPServerWrap').length;
  const before = servers();
  for (const [field, config] of [['listen', { listen: busy }], ['admin', { admin: busy }], ['http2.listen', { http2: { listen: busy } }]] as const) {
    const configPath = writeConfig({ ...config, routes });
    await assert.rejects(startAbproxy({ configPath, logger: pino({ level: 'silent' }), watch: false }), new RegExp(`^Error: ${field.replace('.', '\\.')}: cannot listen on ${busy}: the address is in use by another process$`));
    await waitFor(() => servers() <= before, `${field}: the listeners that did start to close`, 2_000);
  }
  const clash = writeConfig({ listen: '127.0.0.1:18123', admin: '0.0.0.0:18123', adminToken: 'x', routes });
  assert.throws(() => loadConfigFile(clash), /admin: 0\.0\.0\.0:18123 is also listen's address; each listener needs its own port/);
});

test('abproxy serve --no-watch reloads on SIGHUP and exits 0 on SIGTERM', { timeout: 300_000 }, async () => {
  const [a, b] = await Promise.all([named('a'), named('b')]);
  const configPath = writeConfig({ routes: [route(a, b, [100, 0])] });
  const serve = await spawnServe(configPath, ['--no-watch'], 120_000);
  try {
    const generation = async () => ((await (await fetch(`http://127.0.0.1:${serve.adminPort}/admin/routes`)).json()) as { generation: number }).generation;
    replaceFile(configPath, { routes: [route(a, b, [0, 100])] });
    serve.child.kill('SIGHUP');
    await waitFor(async () => (await generation()) === 2, 'SIGHUP to reload', 10_000);
    assert.deepEqual(await get(`http://127.0.0.1:${serve.port}/r/x`, { 'x-user': 'k' }), { status: 200, variant: 'b', body: 'b' });
    serve.child.kill('SIGTERM');
    assert.equal(await serve.exited, 0);
  } finally {
    serve.kill();
    await Promise.all([a.close(), b.close()]);
  }
});
