// Local-model inference acceptance: the Wallaroo keras fraud model served in-process vs abproxy's own
// pass-through (>= 0.8x abproxy-split) and vs the same model behind a second abproxy over HTTP (local
// >= 1.5x), and a heavy MLP (>= 1 ms a run) micro-batched vs unbatched (>= 2x, identical outputs).
// Run at 16 connections: npm run bench -- model- --connections 16
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { heavyModel } from '../../models/make-demo-models.js';
import { REPO_ROOT, startAbproxyProcess, type RunningAbproxy } from '../lib/abproxy.js';
import { KEY_HEADER, SPLIT_PATH_PREFIX } from '../lib/requests.js';
import type { LoadRequest, Scenario, Target } from '../lib/types.js';

export const KERAS_PATH = join(REPO_ROOT, 'test/fixtures/wallaroo-ccfraud/models/keras_ccfraud.onnx');
const ROW = Array.from({ length: 29 }, (_, i) => Math.round(Math.sin(i + 1) * 1000) / 1000);

function oipRequest(input: string, row: readonly number[] = ROW): LoadRequest {
  return {
    method: 'POST',
    path: `${SPLIT_PATH_PREFIX}/infer`,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ inputs: [{ name: input, shape: [1, 29], datatype: 'FP32', data: row }] }),
    keyHeader: KEY_HEADER,
  };
}

function modelRoute(model: string) {
  return { name: 'fraud', match: { pathPrefix: SPLIT_PATH_PREFIX }, sticky: [{ header: KEY_HEADER }], variants: [{ name: 'local', target: `model:${model}`, weight: 1 }] };
}

/** The data plane listens before models finish loading: wait for /readyz so no load hits a 503. */
async function ready(proxy: RunningAbproxy): Promise<RunningAbproxy> {
  for (let i = 0; i < 600; i++) {
    const res = await fetch(`${proxy.adminUrl}/readyz`).catch(() => undefined);
    await res?.arrayBuffer();
    if (res?.status === 200) return proxy;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await proxy.close();
  throw new Error('abproxy did not become ready within 30 s');
}

function target(proxy: RunningAbproxy, request: LoadRequest, check?: () => Promise<string>, others: RunningAbproxy[] = []): Target {
  return {
    url: proxy.url,
    request,
    pid: proxy.proc.pid,
    ...(check ? { check } : {}),
    close: async () => {
      await proxy.close();
      await Promise.all(others.map((o) => o.close()));
    },
  };
}

async function meanBatch(adminUrl: string, model: string): Promise<string> {
  const text = await (await fetch(`${adminUrl}/metrics`)).text();
  const sum = Number(new RegExp(`^abproxy_model_batch_size_sum\\{model="${model}"\\} (\\S+)`, 'm').exec(text)?.[1]);
  const count = Number(new RegExp(`^abproxy_model_batch_size_count\\{model="${model}"\\} (\\S+)`, 'm').exec(text)?.[1]);
  return count > 0 ? `mean batch ${(sum / count).toFixed(1)} over ${count} runs` : 'no runs counted';
}

export const modelLocal: Scenario = {
  name: 'model-local',
  title: 'abproxy, 1 process, OIP to the keras fraud model in-process (worker pool)',
  reference: 'abproxy-split',
  goals: [{ metric: 'vsReference', min: 0.8 }],
  async start(env) {
    const proxy = await ready(await startAbproxyProcess(env.cliPath, env.tmpDir, { models: { keras: { path: KERAS_PATH } }, routes: [modelRoute('keras')] }));
    return target(proxy, oipRequest('dense_input'), () => meanBatch(proxy.adminUrl, 'keras'));
  },
};

export const modelRemote: Scenario = {
  name: 'model-remote',
  title: 'abproxy -> second abproxy over HTTP serving the same keras model (goal: at most 1/1.5 of model-local)',
  reference: 'model-local',
  goals: [{ metric: 'vsReference', max: 1 / 1.5 }],
  async start(env) {
    const backDir = join(env.tmpDir, 'back');
    mkdirSync(backDir);
    const back = await ready(await startAbproxyProcess(env.cliPath, backDir, { models: { fraud: { path: KERAS_PATH } }, routes: [{ name: 'unused', match: { pathPrefix: '/unused' }, variants: [{ name: 'm', target: 'model:fraud', weight: 1 }] }] }));
    try {
      const front = await startAbproxyProcess(env.cliPath, env.tmpDir, { routes: [{ ...modelRoute('x'), variants: [{ name: 'remote', target: back.url, weight: 1 }] }] });
      return target(front, oipRequest('dense_input'), undefined, [back]);
    } catch (error) {
      await back.close();
      throw error;
    }
  },
};

/** Sends 16 distinct rows at once (batched) and one by one, and reports whether the answers are identical. */
async function compareBatched(url: string): Promise<string> {
  const rows = Array.from({ length: 16 }, (_, r) => ROW.map((v, i) => v + r * 0.01 * ((i % 3) - 1)));
  const send = async (row: number[]) => {
    const res = await fetch(`${url}${SPLIT_PATH_PREFIX}/infer`, { method: 'POST', body: oipRequest('transaction', row).body ?? '' });
    return ((await res.json()) as { outputs: { data: number[] }[] }).outputs[0]?.data[0] ?? NaN;
  };
  const together = await Promise.all(rows.map(send));
  const alone: number[] = [];
  for (const row of rows) alone.push(await send(row));
  const maxDiff = Math.max(...together.map((v, i) => Math.abs(v - (alone[i] ?? NaN))));
  return `16 concurrent vs sequential: max |diff| ${maxDiff.toExponential(1)}`;
}

function heavy(batched: boolean): Scenario {
  const name = batched ? 'model-heavy-batched' : 'model-heavy';
  return {
    name,
    title: `abproxy, 1 process, heavy MLP 29-1536-1536-1 (>= 1 ms a run) ${batched ? 'micro-batched (maxSize 16, maxDelayMs 2)' : 'unbatched'}`,
    ...(batched ? { reference: 'model-heavy', goals: [{ metric: 'vsReference' as const, min: 2 }] } : { reference: 'model-local' }),
    async start(env) {
      const path = join(env.tmpDir, 'fraud-heavy.onnx');
      writeFileSync(path, heavyModel());
      const model = { path, ...(batched ? { batch: { maxSize: 16, maxDelayMs: 2 } } : {}) };
      const proxy = await ready(await startAbproxyProcess(env.cliPath, env.tmpDir, { models: { heavy: model }, routes: [modelRoute('heavy')] }));
      return target(proxy, oipRequest('transaction'), async () => `${await meanBatch(proxy.adminUrl, 'heavy')}; ${await compareBatched(proxy.url)}`);
    },
  };
}

export const modelHeavy = heavy(false);
export const modelHeavyBatched = heavy(true);
