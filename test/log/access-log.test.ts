// The access log: one JSON line per request, routed (route, variant, status, duration, request id) or
// refused before a variant (no route, malformed, too large), with method, path and client; never the body,
// the sticky key or the query; sampling keeps 5xx lines; off when log.accessLog is false.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:http2';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { configSchema } from '../../src/config/schema.js';
import { createAccessLog } from '../../src/log/access-log.js';
import { buildRuntime } from '../../src/server/runtime.js';
import type { Exchange, ExchangeResult } from '../../src/server/exchange.js';
import { startUpstream } from '../helpers/upstream.js';
import { writeConfig } from '../helpers/proxy.js';
import { startAbproxy } from '../../src/server/lifecycle.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  return { lines, logger: pino({ level: 'info' }, stream) };
}

test('a real request writes one access line with the documented fields and no body, key or query', async () => {
  const upstream = await startUpstream();
  const { lines, logger } = capture();
  const configPath = writeConfig({
    log: { accessLog: true },
    routes: [{ name: 'fraud', match: { pathPrefix: '/fraud' }, sticky: [{ query: 'user' }], variants: [{ name: 'champion', target: upstream.url, weight: 1 }] }],
  });
  const proxy = await startAbproxy({ configPath, logger });
  try {
    const res = await fetch(`http://127.0.0.1:${proxy.dataPlane.address.port}/fraud/infer?user=secret-user-42`, {
      method: 'POST',
      headers: { 'x-request-id': 'req-1' },
      body: '{"card":"4111111111111111"}',
    });
    await res.arrayBuffer();
    const access = lines.filter((l) => l.type === 'access');
    assert.equal(access.length, 1);
    const line = access[0] ?? {};
    assert.equal(line.msg, 'request');
    assert.equal(line.route, 'fraud');
    assert.equal(line.variant, 'champion');
    assert.equal(line.assignedBy, 'key');
    assert.equal(line.status, 200);
    assert.equal(line.requestId, 'req-1');
    assert.equal(line.path, '/fraud/infer');
    assert.equal(line.method, 'POST');
    assert.equal(line.client, '127.0.0.1');
    assert.equal(typeof line.durationMs, 'number');
    const text = JSON.stringify(line);
    assert.ok(!text.includes('secret-user-42') && !text.includes('4111'), `no key, query or body in ${text}`);
  } finally {
    await proxy.close(2_000);
    await upstream.close();
  }
});

test('a request answered before it reaches a variant writes an access line too, over HTTP/1.1 and HTTP/2', async () => {
  const { lines, logger } = capture();
  const configPath = writeConfig({
    http2: { listen: '127.0.0.1:0' },
    log: { accessLog: true },
    limits: { maxBodyBytes: 64 },
    routes: [{ name: 'fraud', match: { pathPrefix: '/fraud' }, variants: [{ name: 'champion', target: 'http://127.0.0.1:9', weight: 1 }] }],
  });
  const proxy = await startAbproxy({ configPath, logger });
  try {
    const base = `http://127.0.0.1:${proxy.dataPlane.address.port}`;
    await (await fetch(`${base}/nowhere?token=secret-q`)).arrayBuffer();
    await (await fetch(`${base}/fraud/infer`, { method: 'POST', body: 'x'.repeat(100) })).arrayBuffer();
    const session = connect(`http://127.0.0.1:${proxy.http2Plane?.address.port}`);
    const stream = session.request({ ':path': '/h2-nowhere', ':method': 'DELETE' });
    stream.resume();
    await once(stream, 'end');
    session.close();
    const refused = lines.filter((l) => l.type === 'access').map(({ method, path, client, route, variant, status, error }) => ({ method, path, client, route, variant, status, error }));
    assert.deepEqual(refused, [
      { method: 'GET', path: '/nowhere', client: '127.0.0.1', route: 'none', variant: 'none', status: 404, error: 'no route matches /nowhere' },
      { method: 'POST', path: '/fraud/infer', client: '127.0.0.1', route: 'none', variant: 'none', status: 413, error: 'request body exceeds maxBodyBytes (64 bytes)' },
      { method: 'DELETE', path: '/h2-nowhere', client: '127.0.0.1', route: 'none', variant: 'none', status: 404, error: 'no route matches /h2-nowhere' },
    ]);
    assert.ok(!JSON.stringify(lines).includes('secret-q'), 'no query');
  } finally {
    await proxy.close(2_000);
  }
});

test('sampling drops successes at the configured rate, keeps every 5xx, and accessLog: false writes nothing', () => {
  const make = (log: Record<string, unknown>) => {
    const runtime = buildRuntime(configSchema.parse({ log, routes: [{ name: 'r', match: { pathPrefix: '/r' }, variants: [{ name: 'v', target: 'http://127.0.0.1:9', weight: 1 }] }] }), 1);
    const route = runtime.routes.byName.get('r');
    assert.ok(route && route.variants[0]);
    return { runtime, route, variant: route.variants[0], reason: 'key', key: 'k', requestId: 'id', method: 'GET', client: '127.0.0.1', target: { path: '/r', query: '' }, body: undefined, startedAt: 0 } as Exchange;
  };
  const result = (status: number): ExchangeResult => ({ status, headersSent: true, latencyMs: 1 });
  const draws = [0.05, 0.5, 0.09, 0.95];
  let next = 0;
  const { lines, logger } = capture();
  const log = createAccessLog(logger, () => draws[next++ % draws.length] ?? 0);
  const sampled = make({ accessLog: true, accessLogSampleRate: 0.1 });
  for (let i = 0; i < 4; i++) log.exchange(sampled, result(200)); // draws 0.05 and 0.09 fall under 0.1
  log.exchange(sampled, result(502)); // always written, no draw
  assert.deepEqual(lines.map((l) => l.status), [200, 200, 502]);
  log.exchange(make({ accessLog: false }), result(500));
  assert.equal(lines.length, 3);
});
