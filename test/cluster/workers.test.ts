// `serve --workers 2` end to end on real sockets: stickiness across workers, aggregated counters, feedback by
// request id whichever worker served it, weights changed through the admin API in force in every worker (also
// with --no-watch), a killed worker replaced while requests keep succeeding, and SIGTERM draining every worker.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { writeConfig } from '../helpers/proxy.js';
import { spawnCluster, splitConfig, startSplitCluster } from '../helpers/cluster.js';
import { loadConfigFile } from '../../src/config/load.js';
import { RouteTable } from '../../src/routing/route-table.js';
import { variantForKey } from '../../src/routing/assign.js';
import { resolveWorkerCount } from '../../src/cluster/worker-count.js';
import { NO_PARALLEL_SCAVENGE } from '../../src/cluster/worker-flags.js';

interface Answer {
  status: number;
  variant: string;
  requestId: string;
  body: string;
}

/** One request on a connection of its own, so the cluster hands each request to the next worker in turn. */
function get(port: number, key: string, path = '/m/infer'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false, headers: { 'x-session-id': key, connection: 'close' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, variant: String(res.headers['x-abproxy-variant'] ?? ''), requestId: String(res.headers['x-request-id'] ?? ''), body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error('request timed out')));
    req.end();
  });
}

async function metricsText(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  assert.equal(res.status, 200);
  return res.text();
}

/** Sum of abproxy_requests_total samples whose labels contain `labelFilter`. */
function requestsTotal(text: string, labelFilter = ''): number {
  return text
    .split('\n')
    .filter((line) => line.startsWith('abproxy_requests_total{') && line.includes(labelFilter))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

function metricValue(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? NaN : Number(line.slice(name.length + 1));
}

test('two workers: stickiness, aggregated counters and report, a weight change, and a killed worker replaced', { timeout: 120_000 }, async (t) => {
  const { configPath, cluster } = await startSplitCluster(t);
  const route = new RouteTable(loadConfigFile(configPath).config).byName.get('m')!;
  const expected = (key: string) => variantForKey(route, key).name;

  await t.test('the same key gets the same variant whichever worker answers', async () => {
    const keys = Array.from({ length: 40 }, (_, i) => `user-${i}`);
    for (let round = 0; round < 3; round++) {
      for (const key of keys) {
        const answer = await get(cluster.dataPort, key);
        assert.equal(answer.status, 200);
        assert.equal(answer.variant, expected(key), `key ${key} in round ${round}`);
      }
    }
    // Both workers answered a share of those 120 requests: the private admin port of slot 1 counts its own.
    const slot1 = requestsTotal(await metricsText(cluster.workers.get(1)!.adminPort));
    assert.ok(slot1 > 0 && slot1 < 120, `slot 1 answered ${slot1} of 120`);
  });

  await t.test('workers that take every core run without parallel scavenge', () => {
    for (const { pid } of cluster.workers.values()) {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      assert.equal(argv.includes(NO_PARALLEL_SCAVENGE), 2 >= resolveWorkerCount('auto'), argv.join(' '));
    }
  });

  await t.test('aggregated counters and the report equal the requests sent', async () => {
    const text = await metricsText(cluster.adminPort);
    assert.equal(requestsTotal(text), 120);
    const keys = Array.from({ length: 40 }, (_, i) => `user-${i}`);
    const challengers = keys.filter((key) => expected(key) === 'challenger').length;
    assert.equal(requestsTotal(text, 'variant="challenger"'), 3 * challengers);
    assert.equal(requestsTotal(text, 'variant="champion"'), 3 * (40 - challengers));
    assert.equal(metricValue(text, 'abproxy_cluster_workers'), 2);
    // A configuration gauge is stated once, not once per worker.
    assert.equal(metricValue(text, 'abproxy_config_generation'), 1);
    assert.match(text, /abproxy_variant_weight\{route="m",variant="champion"\} 70\n/);
    // The report on the admin address reads the same merged figures, not worker 0's alone.
    const report = (await (await fetch(`http://127.0.0.1:${cluster.adminPort}/admin/report?route=m`)).json()) as { variants: { name: string; requests: number }[] };
    const requestsOf = (name: string) => report.variants.find((v) => v.name === name)?.requests;
    assert.equal(requestsOf('challenger'), 3 * challengers);
    assert.equal(requestsOf('champion'), 3 * (40 - challengers));
  });

  await t.test('feedback by request id is attributed whichever worker served the request and whichever takes the feedback', async () => {
    const served = await Promise.all(Array.from({ length: 10 }, (_, i) => get(cluster.dataPort, `fb-${i}`)));
    const post = (port: number, path: string, requestId: string) =>
      fetch(`http://127.0.0.1:${port}${path}`, { method: 'POST', headers: { connection: 'close' }, body: JSON.stringify({ route: 'm', requestId, reward: 1 }) });
    for (const { requestId, variant } of served) {
      for (const [port, path] of [
        [cluster.adminPort, '/feedback'],
        [cluster.dataPort, '/_abproxy/feedback'],
      ] as const) {
        const res = await post(port, path, requestId);
        assert.equal(res.status, 200, `${path} ${requestId}: ${await res.clone().text()}`);
        assert.deepEqual(await res.json(), { route: 'm', reward: 1, variant, attributedBy: 'requestId' });
      }
    }
    const unknown = await post(cluster.adminPort, '/feedback', 'never-served');
    assert.equal(unknown.status, 404, 'an id no worker served is still unknown');
    const rewards = (await metricsText(cluster.adminPort))
      .split('\n')
      .filter((line) => line.startsWith('abproxy_feedback_reward_count{') && line.includes('route="m"'))
      .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
    assert.equal(rewards, 20, 'every reward counted once, summed over the workers');
  });

  await t.test('a weight change through the admin API reaches every worker', async () => {
    const res = await fetch(`http://127.0.0.1:${cluster.adminPort}/admin/routes/m/weights`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ champion: 40, challenger: 60 }),
    });
    assert.equal(res.status, 200, await res.text());
    // Worker 0 applied it; worker 1 reloads the rewritten file on its own (bounded wait).
    let weight = '';
    for (let i = 0; i < 100 && weight !== '40'; i++) {
      weight = /^abproxy_variant_weight\{route="m",variant="champion"\} (\S+)$/m.exec(await metricsText(cluster.workers.get(1)!.adminPort))?.[1] ?? '';
      if (weight !== '40') await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(weight, '40', 'worker 1 serves the new weights');
    const moved = new RouteTable(loadConfigFile(configPath).config).byName.get('m')!;
    for (let i = 0; i < 40; i++) {
      const answer = await get(cluster.dataPort, `user-${i}`);
      assert.equal(answer.variant, variantForKey(moved, `user-${i}`).name, `user-${i} after the change`);
    }
  });

  await t.test('a killed worker is replaced and requests keep succeeding', async () => {
    const victim = cluster.workers.get(1)!;
    let stopLoad = false;
    let exitSeenAt = Infinity;
    const failedBefore: string[] = [];
    const failedAfter: string[] = [];
    let answered = 0;
    const load = (async () => {
      for (let i = 0; i < 5_000 && !stopLoad; i++) {
        const startedAt = Date.now();
        const failed = startedAt > exitSeenAt ? failedAfter : failedBefore;
        try {
          const answer = await get(cluster.dataPort, `load-${i}`);
          if (answer.status === 200) answered++;
          else failed.push(`status ${answer.status}`);
        } catch (error) {
          failed.push((error as Error).message);
          // Back off before the next connection, as a retrying client does. Without it the next connection
          // can reach the primary in the same instant as the dead worker's closed IPC channel, and node's
          // round-robin hand-off may give it to that worker (node drops a connection sent to a worker that
          // died before acknowledging it). Seen twice in full-suite runs on a loaded 2-core machine.
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 300));
    process.kill(victim.pid, 'SIGKILL');
    await cluster.waitFor((line) => line.msg === 'worker exited; replacing it' && line.pid === victim.pid);
    exitSeenAt = Date.now();
    await cluster.waitFor((line) => line.msg === 'worker listening' && line.slot === 1 && line.pid !== victim.pid);
    const replacement = cluster.workers.get(1)!;
    assert.notEqual(replacement.pid, victim.pid);
    await new Promise((resolve) => setTimeout(resolve, 300));
    stopLoad = true;
    await load;
    // Only the request on the connection the killed worker held can fail; none that started after its exit.
    assert.ok(failedBefore.length <= 1, `failures while the worker died: ${failedBefore.join(', ')}`);
    assert.deepEqual(failedAfter, []);
    assert.ok(answered > 0);
    for (let i = 0; i < 20; i++) assert.equal((await get(cluster.dataPort, `after-${i}`)).status, 200);
    const slot1 = requestsTotal(await metricsText(replacement.adminPort));
    assert.ok(slot1 > 0, 'the replacement worker serves traffic');
    const text = await metricsText(cluster.adminPort);
    assert.equal(metricValue(text, 'abproxy_cluster_worker_restarts_total'), 1);
    assert.equal(metricValue(text, 'abproxy_cluster_workers'), 2);
  });
});

test('with --no-watch, a weight change through the admin API is in force in every worker when its answer comes', { timeout: 90_000 }, async (t) => {
  const { cluster } = await startSplitCluster(t, ['--no-watch']);
  const res = await fetch(`http://127.0.0.1:${cluster.adminPort}/admin/routes/m/weights`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ champion: 0, challenger: 100 }) });
  assert.equal(res.status, 200);
  const answer = (await res.json()) as { generation: number; otherWorkers?: { asked: number; reloaded: { slot: number; result: string; generation: number }[] } };
  assert.deepEqual(answer.otherWorkers, { asked: 1, reloaded: [{ slot: 1, result: 'success', generation: 2 }] });
  // No wait: both workers serve the new weights as soon as the answer is in (the other worker's file watch is off).
  const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => get(cluster.dataPort, `now-${i}`)));
  assert.deepEqual(new Set(answers.map((a) => a.variant)), new Set(['challenger']));
  const slot1 = requestsTotal(await metricsText(cluster.workers.get(1)!.adminPort));
  assert.ok(slot1 > 0, `slot 1 answered ${slot1} of them`);
});

test('SIGTERM drains every worker: in-flight requests complete, then exit 0', { timeout: 90_000 }, async (t) => {
  const upstream = await startUpstream((_req, res) => setTimeout(() => res.end('slow answer'), 1_500));
  t.after(() => upstream.close());
  const cluster = await spawnCluster(writeConfig(splitConfig(upstream.url)), 2);
  const inFlight = Array.from({ length: 6 }, (_, i) => get(cluster.dataPort, `drain-${i}`));
  // Wait until every request has reached the upstream, i.e. both workers hold requests in flight.
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && (await connectionCount(upstream)) < 6) await new Promise((resolve) => setTimeout(resolve, 25));
  const exitCode = cluster.stop();
  const answers = await Promise.all(inFlight);
  for (const answer of answers) {
    assert.equal(answer.status, 200);
    assert.equal(answer.body, 'slow answer');
  }
  assert.equal(await exitCode, 0);
  const drained = cluster.lines.filter((line) => line.msg === 'draining').length;
  assert.equal(drained, 2, 'both workers drained');
  await assert.rejects(get(cluster.dataPort, 'after-exit'), /ECONNREFUSED/);
});

function connectionCount(upstream: TestUpstream): Promise<number> {
  return new Promise((resolve) => upstream.server.getConnections((_error, count) => resolve(count)));
}
