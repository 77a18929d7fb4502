// abproxy_cluster_answers_missed_total{question} under `serve --workers 2`: zero while every worker answers (a
// feedback lookup another worker answers, one no worker knows, a confirmed weight change), and one per worker
// that a feedback request-id lookup waited for in vain (slot 1 stopped with SIGSTOP). Before, such a lookup
// answered 404 unknown request id, counted as the client's mistake, and nothing said a worker had not answered.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { spawnCluster, type SpawnedCluster } from '../helpers/cluster.js';
import { parseMetrics, sampleValue, samplesOf } from '../helpers/prom-text.js';
import { writeConfig } from '../helpers/proxy.js';
import { hasTool, runTool } from '../helpers/tool.js';
import { startUpstream } from '../helpers/upstream.js';

/** One request on a connection of its own, so the cluster hands each request to the next worker in turn; resolves with its request id. */
function requestId(port: number, key: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/m/infer', agent: false, headers: { 'x-session-id': key, connection: 'close' } }, (res) => {
      res.resume();
      res.on('error', reject);
      res.on('end', () => (res.statusCode === 200 ? resolve(String(res.headers['x-request-id'])) : reject(new Error(`status ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error('request timed out')));
    req.end();
  });
}

function feedback(cluster: SpawnedCluster, id: string): Promise<Response> {
  return fetch(`http://127.0.0.1:${cluster.adminPort}/feedback`, { method: 'POST', body: JSON.stringify({ route: 'm', requestId: id, reward: 1 }), signal: AbortSignal.timeout(10_000) });
}

async function metricsText(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(10_000) });
  assert.equal(res.status, 200);
  return res.text();
}

function answersMissed(metrics: string): Record<string, number | undefined> {
  const samples = parseMetrics(metrics);
  return Object.fromEntries(['reload', 'served'].map((question) => [question, sampleValue(samples, 'abproxy_cluster_answers_missed_total', { question })]));
}

test('answers the other workers did not give within the bound are counted, by question, once in the aggregated /metrics', { timeout: 90_000 }, async (t) => {
  const upstream = await startUpstream();
  const configPath = writeConfig({
    routes: [{ name: 'm', match: { pathPrefix: '/m' }, sticky: [{ header: 'x-session-id' }], variants: [{ name: 'only', target: upstream.url, weight: 1 }] }],
  });
  const cluster = await spawnCluster(configPath, 2);
  t.after(async () => {
    await cluster.stop();
    await upstream.close();
  });
  const slot1 = cluster.workers.get(1);
  assert.ok(slot1, 'worker slot 1 is listening');
  assert.deepEqual(answersMissed(await metricsText(cluster.adminPort)), { reload: 0, served: 0 }, 'both series exist at zero before any question');

  const ids: string[] = [];
  for (let i = 0; i < 6; i++) ids.push(await requestId(cluster.dataPort, `k${i}`));
  const servedBySlot1 = samplesOf(parseMetrics(await metricsText(slot1.adminPort)), 'abproxy_requests_total', { route: 'm', code: '200' }).reduce((sum, s) => sum + s.value, 0);
  assert.ok(servedBySlot1 > 0, 'slot 1 served some of the requests, so slot 0 finds their ids only by asking it');
  for (const id of ids) assert.equal((await feedback(cluster, id)).status, 200, `feedback for ${id}`);
  assert.equal((await feedback(cluster, 'never-served')).status, 404, 'every worker answered: the id is unknown, and nothing was missed');
  const change = await fetch(`http://127.0.0.1:${cluster.adminPort}/admin/routes/m/weights`, { method: 'PUT', body: JSON.stringify({ only: 2 }), signal: AbortSignal.timeout(15_000) });
  assert.equal(change.status, 200, 'slot 1 confirmed the weight change');
  assert.deepEqual(answersMissed(await metricsText(cluster.adminPort)), { reload: 0, served: 0 }, 'answers that came are not counted');

  process.kill(slot1.pid, 'SIGSTOP');
  try {
    assert.equal((await feedback(cluster, 'unknown-while-slot-1-is-stopped')).status, 404);
  } finally {
    process.kill(slot1.pid, 'SIGCONT');
  }
  // Scraped once slot 1 is back (a stopped worker cannot send its registry).
  const text = await metricsText(cluster.adminPort);
  assert.deepEqual(answersMissed(text), { reload: 0, served: 1 });
  if (hasTool('promtool')) {
    const check = await runTool('promtool', ['check', 'metrics'], text);
    assert.equal(check.code, 0, check.stdout + check.stderr);
  }
});
