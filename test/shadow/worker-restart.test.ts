// A shadow worker that cannot start does not stop the process starting (it exited 13 about one start in
// two, its failed worker being all that held the start's wait), and it is started again after a growing
// delay, not with every batch: the primaries are answered unchanged, every copy is counted once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { envWithPreload, spawnServe } from '../helpers/cli.js';
import { parseMetrics, sampleValue } from '../helpers/prom-text.js';
import { startUpstream } from '../helpers/upstream.js';

const preload = fileURLToPath(new URL('../fixtures/shadow-worker-cannot-start.cjs', import.meta.url));
const ANSWER = '{"outputs":[{"name":"p","shape":[1],"datatype":"FP32","data":[0.5]}]}';
const REQUESTS = 40;

test('a shadow worker that dies as it starts restarts at once, then after 1 s, 2 s ...; primaries are unchanged', async (t) => {
  const answer = (_req: unknown, res: { setHeader(n: string, v: string): void; end(b: string): void }) => {
    res.setHeader('content-type', 'application/json');
    res.end(ANSWER);
  };
  const champion = await startUpstream(answer);
  const candidate = await startUpstream(answer);
  t.after(() => Promise.all([champion.close(), candidate.close()]));
  const dir = mkdtempSync(join(tmpdir(), 'abproxy-shadow-restart-'));
  const configPath = join(dir, 'abproxy.yaml');
  writeFileSync(
    configPath,
    stringify({
      listen: '127.0.0.1:0',
      admin: '127.0.0.1:0',
      shadowCopies: 'worker',
      shadowLog: { path: join(dir, 'shadow.jsonl') },
      routes: [{ name: 'fraud', match: { pathPrefix: '/v2/models/fraud' }, variants: [{ name: 'champion', target: champion.url, weight: 1 }], shadows: [{ name: 'candidate', target: candidate.url }] }],
    }),
  );
  const serve = await spawnServe(configPath, [], 30_000, envWithPreload(preload));
  t.after(async () => {
    serve.kill();
    await serve.exited;
  });
  const statuses: number[] = [];
  const bodies = new Set<string>();
  for (let i = 0; i < REQUESTS; i++) {
    const res = await fetch(`http://127.0.0.1:${serve.port}/v2/models/fraud/infer`, { method: 'POST', body: '{"inputs":[]}' });
    statuses.push(res.status);
    bodies.add(await res.text());
    await sleep(100);
  }
  assert.deepEqual(new Set(statuses), new Set([200]));
  assert.deepEqual([...bodies], [ANSWER]);

  // Starts: one with the process, one at once with the next batch, the next 1 s after that one died, then 2 s after.
  const starts = [...serve.output().matchAll(/shadow worker start (\d+)/g)].map((match) => Number(match[1]));
  const gaps = starts.slice(1).map((at, i) => at - (starts[i] ?? 0));
  assert.ok(starts.length >= 3 && starts.length <= 4, `${starts.length} starts in ~${REQUESTS / 10} s (restarted with every batch, one starts with each request): gaps ${gaps.join(', ')} ms`);
  assert.ok((gaps[1] ?? 0) >= 1_000, `the third start waited 1 s: gaps ${gaps.join(', ')} ms`);
  if (starts.length === 4) assert.ok((gaps[2] ?? 0) >= 2_000, `the fourth start waited 2 s: gaps ${gaps.join(', ')} ms`);

  const samples = parseMetrics(await (await fetch(`http://127.0.0.1:${serve.adminPort}/metrics`)).text());
  const outcome = (name: string) => sampleValue(samples, 'abproxy_shadow_requests_total', { route: 'fraud', shadow: 'candidate', outcome: name }) ?? 0;
  assert.equal(outcome('success'), 0);
  assert.equal(outcome('dropped') + outcome('error'), REQUESTS, 'every copy is counted once');
  assert.ok(outcome('dropped') > 0, 'copies are dropped while the worker waits');
  assert.equal(candidate.received.length, 0, 'no copy reached the shadow');
  assert.match(serve.output(), /"message":"the shadow worker cannot start".*shadow log write or shadow worker failed/, 'the failure is logged');
});

