// A shadow worker that fails never touches the primaries, and everything it held is counted once. One that
// cannot start does not stop the process starting (it exited 13 about one start in two, its failed worker
// being all that held the start's wait), and is started again after a growing delay, not with every batch.
// One that crashes mid-run takes its copies and records with it: each copy is counted ok, error or
// dropped, and each record written or dropped, exactly once (records of a write under way at the crash
// are counted dropped, though the write may still reach the file).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { envWithPreload, spawnServe, type ServeProcess } from '../helpers/cli.js';
import { parseMetrics, sampleValue } from '../helpers/prom-text.js';
import { runLoad } from '../helpers/load.js';
import { startUpstream, type TestUpstream, type UpstreamHandler } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait-for.js';

const preload = fileURLToPath(new URL('../fixtures/shadow-worker-fault.cjs', import.meta.url));
const ANSWER = '{"outputs":[{"name":"p","shape":[1],"datatype":"FP32","data":[0.5]}]}';
const REQUESTS = 80;

interface Shadowed {
  serve: ServeProcess;
  candidate: TestUpstream;
  logPath: string;
}

/** serve with one route shadowed (copies from the shadow worker), its worker faulted as `env` says. */
async function startShadowed(t: TestContext, env: NodeJS.ProcessEnv): Promise<Shadowed> {
  const answer: UpstreamHandler = (_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(ANSWER);
  };
  const champion = await startUpstream(answer);
  const candidate = await startUpstream(answer);
  t.after(() => Promise.all([champion.close(), candidate.close()]));
  const dir = mkdtempSync(join(tmpdir(), 'abproxy-shadow-restart-'));
  const configPath = join(dir, 'abproxy.yaml');
  const logPath = join(dir, 'shadow.jsonl');
  writeFileSync(
    configPath,
    stringify({
      listen: '127.0.0.1:0',
      admin: '127.0.0.1:0',
      shadowCopies: 'worker',
      shadowLog: { path: logPath },
      routes: [{ name: 'fraud', match: { pathPrefix: '/v2/models/fraud' }, variants: [{ name: 'champion', target: champion.url, weight: 1 }], shadows: [{ name: 'candidate', target: candidate.url }] }],
    }),
  );
  const serve = await spawnServe(configPath, [], 30_000, env);
  t.after(async () => {
    serve.kill();
    await serve.exited;
  });
  return { serve, candidate, logPath };
}

/** Sends REQUESTS requests over `concurrency` connections, each sending gapMs after its last answer; every one must get the champion's answer. */
async function sendRequests(serve: ServeProcess, gapMs: number, concurrency = 1): Promise<void> {
  const load = await runLoad(`http://127.0.0.1:${serve.port}`, '/v2/models/fraud/infer', { requests: REQUESTS, concurrency, gapMs, body: '{"inputs":[]}' });
  assert.equal(load.errors, 0);
  assert.deepEqual(new Set(load.statuses), new Set([200]));
  assert.deepEqual([...new Set(load.bodies)], [ANSWER]);
}

/** The shadow counters: copies by outcome, records by result. */
async function shadowCounts(serve: ServeProcess): Promise<Record<'ok' | 'error' | 'timeout' | 'dropped' | 'written' | 'recordsDropped', number>> {
  const samples = parseMetrics(await (await fetch(`http://127.0.0.1:${serve.adminPort}/metrics`)).text());
  const copies = (outcome: string) => sampleValue(samples, 'abproxy_shadow_requests_total', { route: 'fraud', shadow: 'candidate', outcome }) ?? 0;
  const records = (result: string) => sampleValue(samples, 'abproxy_shadow_log_records_total', { result }) ?? 0;
  return { ok: copies('ok'), error: copies('error'), timeout: copies('timeout'), dropped: copies('dropped'), written: records('written'), recordsDropped: records('dropped') };
}

test('a shadow worker that dies as it starts restarts at once, then after 1 s, 2 s ...; primaries are unchanged', async (t) => {
  const { serve, candidate } = await startShadowed(t, envWithPreload(preload));
  await sendRequests(serve, 50);

  // Starts: one with the process, one at once with the next batch, the next 1 s after that one died, then 2 s after.
  const starts = [...serve.output().matchAll(/shadow worker start (\d+)/g)].map((match) => Number(match[1]));
  const gaps = starts.slice(1).map((at, i) => at - (starts[i] ?? 0));
  assert.ok(starts.length >= 3 && starts.length <= 4, `${starts.length} starts in ~${REQUESTS / 20} s (restarted with every batch, one starts with each request): gaps ${gaps.join(', ')} ms`);
  assert.ok((gaps[1] ?? 0) >= 1_000, `the third start waited 1 s: gaps ${gaps.join(', ')} ms`);
  if (starts.length === 4) assert.ok((gaps[2] ?? 0) >= 2_000, `the fourth start waited 2 s: gaps ${gaps.join(', ')} ms`);

  const counts = await shadowCounts(serve);
  assert.equal(counts.ok, 0);
  assert.equal(counts.dropped + counts.error, REQUESTS, 'every copy is counted once');
  assert.ok(counts.dropped > 0, 'copies are dropped while the worker waits');
  assert.equal(candidate.received.length, 0, 'no copy reached the shadow');
  assert.match(serve.output(), /"message":"the shadow worker cannot start".*shadow log write or shadow worker failed/, 'the failure is logged');
});

test('a shadow worker that crashes mid-run: every copy and every record is counted once, the log holds what was written', async (t) => {
  const { serve, candidate, logPath } = await startShadowed(t, { ...envWithPreload(preload), SHADOW_WORKER_CRASH_AFTER_MS: '700' });
  await sendRequests(serve, 100, 4); // ~2 s: a crash, a restart, a second crash and a wait

  const settled = await waitFor(async () => {
    const counts = await shadowCounts(serve);
    return counts.ok + counts.error + counts.timeout + counts.dropped === REQUESTS && counts.written + counts.recordsDropped === REQUESTS && counts;
  }, 'every copy and record to be counted', 10_000).catch(async (error: Error) => assert.fail(`${error.message}: ${JSON.stringify(await shadowCounts(serve))}`));
  assert.ok(settled.ok > 0 && settled.written > 0, 'workers served copies and wrote records between crashes');
  assert.ok(settled.dropped + settled.error > 0 && settled.recordsDropped > 0, 'the crashes cost copies and records');
  assert.ok(candidate.received.length >= settled.ok, 'every copy counted ok reached the shadow');
  // A write the worker had under way when it died may still reach the file, its records counted dropped.
  const lines = readFileSync(logPath, 'utf8').split('\n').filter(Boolean).length;
  assert.ok(lines >= settled.written && lines <= settled.written + settled.recordsDropped, `the log holds every record counted written (${lines} lines, ${settled.written} written)`);
  assert.ok([...serve.output().matchAll(/shadow worker start/g)].length >= 2, 'the worker was started again after its crash');
});
