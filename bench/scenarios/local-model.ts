// abproxy serving the demo MLP (models/fraud-b.onnx) in-process over the Open Inference Protocol: one
// request per ONNX run, and micro-batched (up to 32 requests merged per run, waiting at most 2 ms).
import { join } from 'node:path';
import { REPO_ROOT, startAbproxyProcess } from '../lib/abproxy.js';
import { KEY_HEADER, SPLIT_PATH_PREFIX } from '../lib/requests.js';
import type { LoadRequest, Scenario } from '../lib/types.js';

const FEATURES = 29;

/** One transaction of the demo fraud models: [1, 29] FP32 named "transaction". */
export const modelRequest: LoadRequest = {
  method: 'POST',
  path: `${SPLIT_PATH_PREFIX}/infer`,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ inputs: [{ name: 'transaction', shape: [1, FEATURES], datatype: 'FP32', data: Array.from({ length: FEATURES }, (_, i) => Math.round(Math.sin(i) * 1000) / 1000) }] }),
  keyHeader: KEY_HEADER,
};

function localModel(batched: boolean): Scenario {
  return {
    name: batched ? 'model-batched' : 'model-batch1',
    title: `abproxy, 1 process, local ONNX MLP (fraud-b) ${batched ? 'micro-batched (maxSize 32, maxDelayMs 2)' : 'at batch 1'}`,
    async start(env) {
      const model = { path: join(REPO_ROOT, 'models/fraud-b.onnx'), ...(batched ? { batch: { maxSize: 32, maxDelayMs: 2 } } : {}) };
      const config = {
        models: { 'fraud-b': model },
        routes: [{ name: 'fraud', match: { pathPrefix: SPLIT_PATH_PREFIX }, sticky: [{ header: KEY_HEADER }], variants: [{ name: 'model', target: 'model:fraud-b', weight: 1 }] }],
      };
      const proxy = await startAbproxyProcess(env.cliPath, env.tmpDir, config);
      return {
        url: proxy.url,
        request: modelRequest,
        pid: proxy.proc.pid,
        check: async () => {
          const text = await (await fetch(`${proxy.adminUrl}/metrics`)).text();
          const sum = /^abproxy_model_batch_size_sum\{model="fraud-b"\} (\S+)/m.exec(text)?.[1];
          const count = /^abproxy_model_batch_size_count\{model="fraud-b"\} (\S+)/m.exec(text)?.[1];
          return sum && count && Number(count) > 0 ? `mean batch ${(Number(sum) / Number(count)).toFixed(1)} over ${count} runs` : 'no batch metrics';
        },
        close: () => proxy.close(),
      };
    },
  };
}

export const modelBatch1 = localModel(false);
export const modelBatched = localModel(true);
