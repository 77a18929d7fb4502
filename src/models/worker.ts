// Model worker thread: holds ONNX Runtime sessions by load key and runs them off the main thread.
// Answers every request exactly once; never touches HTTP or config.
import { parentPort } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import * as ort from 'onnxruntime-node';
import type { ModelSignature, OutputTensor, TensorMeta } from './codec.js';
import type { WorkerRequest, WorkerResponse } from './worker-protocol.js';

const sessions = new Map<string, ort.InferenceSession>();
const port = parentPort;
if (!port) throw new Error('the model worker must run in a worker thread');

/** Messages are handled one at a time, in order, so a run never overtakes the load it depends on. */
let queue: Promise<void> = Promise.resolve();
port.on('message', (message: WorkerRequest) => {
  queue = queue.then(() =>
    handle(message).then(
      (response) => port.postMessage(response),
      (error: unknown) => port.postMessage({ id: message.id, ok: false, message: error instanceof Error ? error.message : String(error) } satisfies WorkerResponse),
    ),
  );
});

async function handle(message: WorkerRequest): Promise<WorkerResponse> {
  switch (message.op) {
    case 'load': {
      const session = await ort.InferenceSession.create(message.bytes, {
        intraOpNumThreads: message.intraOpThreads,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
      });
      sessions.set(message.key, session);
      return { id: message.id, ok: true, signature: signatureOf(session) };
    }
    case 'run': {
      const session = sessions.get(message.key);
      if (!session) throw new Error(`model session ${message.key} is not loaded`);
      const feeds: Record<string, ort.Tensor> = {};
      for (const [name, feed] of Object.entries(message.feeds)) feeds[name] = new ort.Tensor(feed.type, feed.data, feed.dims);
      const started = performance.now();
      const results = await session.run(feeds);
      const runMs = performance.now() - started;
      const outputs: Record<string, OutputTensor> = {};
      for (const [name, tensor] of Object.entries(results)) outputs[name] = { type: tensor.type, dims: tensor.dims, data: tensor.data };
      return { id: message.id, ok: true, run: { outputs, runMs } };
    }
    case 'dispose': {
      const session = sessions.get(message.key);
      sessions.delete(message.key);
      await session?.release();
      return { id: message.id, ok: true };
    }
  }
}

function signatureOf(session: ort.InferenceSession): ModelSignature {
  const meta = (list: readonly ort.InferenceSession.ValueMetadata[]): TensorMeta[] =>
    list.map((value) => ({
      name: value.name,
      type: value.isTensor ? value.type : 'non-tensor',
      shape: value.isTensor ? value.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1)) : [],
    }));
  return { inputs: meta(session.inputMetadata), outputs: meta(session.outputMetadata) };
}
