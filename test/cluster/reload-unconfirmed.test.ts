// `serve --workers 2` with worker slot 1 stopped (SIGSTOP), so it cannot answer the reload question a weight
// change sends it: PUT /admin/routes/m/weights on slot 0 (the admin address) answers 504
// ABPROXY_RELOAD_INCOMPLETE naming slot 1, what was written and how slot 1 catches up (its file watch, or
// with --no-watch the late question or SIGHUP), and `abproxy weights --admin` exits 1 with that message.
// Before, the answer was 200 with `otherWorkers.reloaded` one short and the CLI reported success. The admin
// worker also logs a warning naming the route and slots, and the aggregated /metrics counts each unconfirmed
// worker once per weight change in abproxy_cluster_answers_missed_total{question="reload"} (before, an
// operator watching the process log or Prometheus never learned of it). The same PUT sent again (the natural
// retry of a 504) asks every worker to reload too: 504 naming slot 1 while it is still stopped, 200 once it
// confirms. Before, the file already held those weights, nothing was asked, and the retry answered 200.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfigFile } from '../../src/config/load.js';
import { runCli } from '../helpers/cli.js';
import { startSplitCluster, type SpawnedCluster } from '../helpers/cluster.js';
import { parseMetrics, sampleValue } from '../helpers/prom-text.js';
import { waitFor } from '../helpers/wait-for.js';

interface IncompleteAnswer {
  error: string;
  code: string;
  route: string;
  written: boolean;
  generation: number;
  otherWorkers: { asked: number; reloaded: unknown[]; unconfirmed: number[] };
}

interface AppliedAnswer {
  route: string;
  written: boolean;
  generation: number;
  otherWorkers: { asked: number; reloaded: { slot: number; result: string; generation: number }[] };
}

interface LiveRoutes {
  generation: number;
  routes: { name: string; variants: { name: string; weight: number }[] }[];
}

/** Runs `body` with the worker in `slot` stopped (it answers nothing, as a worker stuck in a long synchronous run), and always resumes it. */
async function withWorkerStopped(cluster: SpawnedCluster, slot: number, body: () => Promise<void>): Promise<void> {
  const worker = cluster.workers.get(slot);
  assert.ok(worker, `worker slot ${slot} is listening`);
  process.kill(worker.pid, 'SIGSTOP');
  try {
    await body();
  } finally {
    process.kill(worker.pid, 'SIGCONT');
  }
}

function putWeights(cluster: SpawnedCluster, weights: Record<string, number>): Promise<Response> {
  return fetch(`http://127.0.0.1:${cluster.adminPort}/admin/routes/m/weights`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(weights),
    signal: AbortSignal.timeout(15_000),
  });
}

async function liveWeights(adminPort: number): Promise<LiveRoutes> {
  const res = await fetch(`http://127.0.0.1:${adminPort}/admin/routes`, { signal: AbortSignal.timeout(5_000) });
  assert.equal(res.status, 200);
  return (await res.json()) as LiveRoutes;
}

/** Unconfirmed reloads counted on the aggregated /metrics of the admin address (every worker's registry summed). */
async function reloadsUnconfirmed(cluster: SpawnedCluster): Promise<number | undefined> {
  const res = await fetch(`http://127.0.0.1:${cluster.adminPort}/metrics`, { signal: AbortSignal.timeout(10_000) });
  assert.equal(res.status, 200);
  return sampleValue(parseMetrics(await res.text()), 'abproxy_cluster_answers_missed_total', { question: 'reload' });
}

/** The admin worker's warning about an unconfirmed weight change at `generation`. */
function unconfirmedWarning(cluster: SpawnedCluster, generation: number): Promise<Record<string, unknown>> {
  return cluster.waitFor((line) => line.level === 40 && line.msg === 'worker slots did not confirm a weight change in time and may still serve the old weights' && line.generation === generation, 5_000);
}

const weightsOf = (live: LiveRoutes) => live.routes.find((r) => r.name === 'm')?.variants.map((v) => v.weight);

test('with --no-watch, a worker that does not confirm the reload turns the weight change into 504 ABPROXY_RELOAD_INCOMPLETE, and the CLI exits 1', { timeout: 90_000 }, async (t) => {
  const { configPath, cluster } = await startSplitCluster(t, ['--no-watch']);

  await withWorkerStopped(cluster, 1, async () => {
    const res = await putWeights(cluster, { champion: 0, challenger: 100 });
    assert.equal(res.status, 504);
    const answer = (await res.json()) as IncompleteAnswer;
    assert.equal(answer.code, 'ABPROXY_RELOAD_INCOMPLETE');
    assert.deepEqual(answer.otherWorkers, { asked: 1, reloaded: [], unconfirmed: [1] });
    assert.equal(answer.route, 'm');
    assert.equal(answer.written, true);
    assert.equal(answer.generation, 2);
    assert.match(answer.error, /route "m" was written to the config file as champion=0 challenger=100 and applied here \(generation 2\)/);
    assert.match(answer.error, /worker slot 1 did not confirm the reload within 5000 ms/);
    assert.match(answer.error, /--no-watch/);
    assert.match(answer.error, new RegExp(`kill -HUP ${cluster.child.pid}, the cluster primary`));
    assert.deepEqual((await unconfirmedWarning(cluster, 2)).unconfirmedSlots, [1]);
    // The file is written and slot 0 serves it: only the confirmation is missing.
    assert.deepEqual(loadConfigFile(configPath).config.routes[0]?.variants.map((v) => v.weight), [0, 100]);
    assert.deepEqual(weightsOf(await liveWeights(cluster.adminPort)), [0, 100]);

    const cli = await runCli(['weights', 'm', 'champion=50', 'challenger=50', '--admin', `http://127.0.0.1:${cluster.adminPort}`]);
    assert.equal(cli.code, 1, cli.stdout + cli.stderr);
    assert.match(cli.stderr, /504 route "m" was written to the config file as champion=50 challenger=50 and applied here \(generation 3\), but worker slot 1 did not confirm the reload/);
    assert.match(cli.stderr, /--no-watch/);
    assert.doesNotMatch(cli.stdout, /applied by/);
    assert.deepEqual((await unconfirmedWarning(cluster, 3)).unconfirmedSlots, [1]);
  });

  // Resumed, slot 1 takes up the reload questions it was sent late (as the message says) and serves the file.
  const slot1 = cluster.workers.get(1);
  assert.ok(slot1);
  await waitFor(async () => weightsOf(await liveWeights(slot1.adminPort))?.join() === '50,50', 'slot 1 to serve the written weights');
  // Two weight changes slot 1 did not confirm in time, counted once each: its late reloads do not take them back.
  assert.equal(await reloadsUnconfirmed(cluster), 2);
});

test('with the file watched, the 504 says the worker catches up through its own file watch; the log warns and the metric counts it', { timeout: 90_000 }, async (t) => {
  const { cluster } = await startSplitCluster(t);
  assert.equal(await reloadsUnconfirmed(cluster), 0, 'the series exists at zero before the first miss');

  await withWorkerStopped(cluster, 1, async () => {
    const res = await putWeights(cluster, { champion: 10, challenger: 90 });
    assert.equal(res.status, 504);
    const answer = (await res.json()) as IncompleteAnswer;
    assert.equal(answer.code, 'ABPROXY_RELOAD_INCOMPLETE');
    assert.deepEqual(answer.otherWorkers.unconfirmed, [1]);
    assert.match(answer.error, /worker slot 1 did not confirm the reload within 5000 ms and may still serve the old weights: each reloads the file through its own file watch/);
    assert.doesNotMatch(answer.error, /--no-watch/);
    const warning = await unconfirmedWarning(cluster, 2);
    assert.deepEqual(
      { route: warning.route, unconfirmedSlots: warning.unconfirmedSlots, timeoutMs: warning.timeoutMs, primaryPid: warning.primaryPid },
      { route: 'm', unconfirmedSlots: [1], timeoutMs: 5000, primaryPid: cluster.child.pid },
    );
  });

  // Scraped once slot 1 is back (a stopped worker cannot send its registry): one worker missed one change, counted
  // once in the admin worker's registry, not once per worker in the sum.
  assert.equal(await reloadsUnconfirmed(cluster), 1);
});

test('with --no-watch, the same weights sent again after a 504 answer 504 while the worker is stopped, and 200 only once it confirmed', { timeout: 90_000 }, async (t) => {
  const { cluster } = await startSplitCluster(t, ['--no-watch']);
  const split = { champion: 0, challenger: 100 };

  await withWorkerStopped(cluster, 1, async () => {
    const first = await putWeights(cluster, split);
    assert.equal(first.status, 504);
    assert.equal(((await first.json()) as IncompleteAnswer).written, true);

    const retry = await putWeights(cluster, split);
    assert.equal(retry.status, 504, 'a retry while slot 1 is stopped does not report the split as applied');
    const answer = (await retry.json()) as IncompleteAnswer;
    assert.equal(answer.code, 'ABPROXY_RELOAD_INCOMPLETE');
    assert.equal(answer.written, false);
    assert.equal(answer.generation, 2);
    assert.deepEqual(answer.otherWorkers, { asked: 1, reloaded: [], unconfirmed: [1] });
    assert.match(answer.error, /route "m" already stood in the config file as champion=0 challenger=100 and applied here \(generation 2\)/);
    assert.match(answer.error, /worker slot 1 did not confirm the reload within 5000 ms/);
  });

  const confirmed = await putWeights(cluster, split);
  assert.equal(confirmed.status, 200);
  const answer = (await confirmed.json()) as AppliedAnswer;
  assert.equal(answer.written, false);
  assert.equal(answer.generation, 2);
  // Resumed, slot 1 takes up the late questions (in order) before this one, so the file is already live there.
  assert.deepEqual(answer.otherWorkers, { asked: 1, reloaded: [{ slot: 1, result: 'unchanged', generation: 2 }] });
  // No wait: the 200 means both workers serve the new weights.
  const slot1 = cluster.workers.get(1);
  assert.ok(slot1);
  assert.deepEqual(weightsOf(await liveWeights(cluster.adminPort)), [0, 100]);
  assert.deepEqual(weightsOf(await liveWeights(slot1.adminPort)), [0, 100]);
});
