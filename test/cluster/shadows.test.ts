// Shadows under `serve --workers 2`: maxInFlight is a machine-wide bound (each worker takes its share),
// every copy is counted once in the aggregated metrics, and `abproxy shadow-log` reads every worker's log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { delayedAnswer, startUpstream } from '../helpers/upstream.js';
import { writeConfig } from '../helpers/proxy.js';
import { spawnCluster } from '../helpers/cluster.js';

function post(port: number, key: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/m/infer', agent: false, headers: { 'x-session-id': key, 'content-type': 'application/json', connection: 'close' } }, (res) => {
      res.resume();
      res.on('error', reject);
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.setTimeout(15_000, () => req.destroy(new Error('request timed out')));
    req.end(JSON.stringify({ key }));
  });
}

function sample(text: string, name: string, labels: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

test('two workers share maxInFlight, count every copy once, and log to files the CLI merges', { timeout: 120_000 }, async (t) => {
  const primary = await startUpstream();
  const held = delayedAnswer('{"shadow":true}', 600);
  const shadow = await startUpstream(held.handler);
  const logPath = join(mkdtempSync(join(tmpdir(), 'abproxy-shadowlog-')), 'shadow.jsonl');
  const configPath = writeConfig({
    shadowLog: { path: logPath, maxBytes: 1_048_576 },
    routes: [
      {
        name: 'm',
        match: { pathPrefix: '/m' },
        sticky: [{ header: 'x-session-id' }],
        variants: [{ name: 'champion', target: primary.url, weight: 1 }],
        shadows: [{ name: 'candidate', target: shadow.url, percent: 100, maxInFlight: 4, timeoutMs: 5_000 }],
      },
    ],
  });
  const cluster = await spawnCluster(configPath, 2);
  t.after(async () => {
    await cluster.stop();
    await primary.close();
    await shadow.close();
  });

  const statuses = await Promise.all(Array.from({ length: 60 }, (_, i) => post(cluster.dataPort, `k-${i}`)));
  assert.deepEqual(new Set(statuses), new Set([200]));
  // Copies in flight settle within the shadow's 600 ms answer (bounded wait).
  for (let i = 0; i < 100 && held.active() > 0; i++) await new Promise((resolve) => setTimeout(resolve, 50));
  assert.ok(held.peak() <= 4, `the shadow saw ${held.peak()} copies at once; the bound is 4 for the whole machine`);
  assert.ok(held.peak() >= 2, `both workers sent copies (peak ${held.peak()})`);

  const text = await (await fetch(`http://127.0.0.1:${cluster.adminPort}/metrics`)).text();
  const ok = sample(text, 'abproxy_shadow_requests_total', 'outcome="ok"');
  const dropped = sample(text, 'abproxy_shadow_requests_total', 'outcome="dropped"');
  assert.equal(ok + dropped, 60, `ok ${ok} + dropped ${dropped}`);
  assert.equal(ok, shadow.received.length);
  assert.ok(dropped > 0, 'beyond the bound, copies are dropped and counted');

  // Each worker writes its own file; the CLI merges them. Log writes are asynchronous: poll briefly.
  let records: { requestId: string }[] = [];
  for (let i = 0; i < 40; i++) {
    const out = execFileSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'shadow-log', '--file', logPath, '--limit', '100', '--json'], { encoding: 'utf8' });
    records = out.split('\n').filter(Boolean).map((line) => JSON.parse(line) as { requestId: string });
    if (records.length >= ok) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  assert.equal(records.length, ok, 'one record per mirrored copy, from both workers');
  assert.equal(new Set(records.map((r) => r.requestId)).size, ok);
});
