// The in-process limit for local models: raw session.run calls per second of the keras fraud model on
// this thread, the same runs through abproxy's worker pool (one and two workers, 16 in flight), and the
// heavy MLP's time per run at batch 1 and 16. Bounded by time. Run: node --import tsx bench/model-session-run.ts
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import * as ort from 'onnxruntime-node';
import { heavyModel } from '../models/make-demo-models.js';
import { WorkerPool } from '../src/models/worker-pool.js';
import { KERAS_PATH } from './scenarios/model-inference.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const row = Float32Array.from({ length: 29 }, (_, i) => Math.sin(i + 1));

async function timed(run: () => Promise<unknown>, inFlight = 1): Promise<{ perSec: number; usPer: number }> {
  const deadline = performance.now() + SECONDS * 1000;
  let calls = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (performance.now() < deadline) {
        await run();
        calls++;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  return { perSec: calls / elapsed, usPer: (elapsed * 1e6) / calls };
}

async function main(): Promise<void> {
  const bytes = readFileSync(KERAS_PATH);
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential' });
  const raw = await timed(() => session.run({ dense_input: new ort.Tensor('float32', row.slice(), [1, 29]) }));
  console.log(`keras session.run in-process:       ${Math.round(raw.perSec)} calls/s (${raw.usPer.toFixed(1)} µs a call)`);

  for (const workers of [1, 2]) {
    const pool = new WorkerPool({ workers, maxQueued: 1024, onWorkerError: (error) => console.error(error) });
    await pool.load('keras', new Uint8Array(bytes), 1);
    const viaPool = await timed(() => pool.run('keras', { dense_input: { type: 'float32', dims: [1, 29], data: row.slice() } }), 16);
    console.log(`keras via worker pool (${workers} worker${workers > 1 ? 's' : ''}, 16 in flight): ${Math.round(viaPool.perSec)} calls/s (${(viaPool.perSec / raw.perSec).toFixed(2)}x raw)`);
    await pool.close();
  }

  const heavy = await ort.InferenceSession.create(heavyModel(), { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential' });
  const batch = (n: number) => ({ transaction: new ort.Tensor('float32', Float32Array.from({ length: 29 * n }, (_, i) => Math.sin(i)), [n, 29]) });
  const one = await timed(() => heavy.run(batch(1)));
  const sixteen = await timed(() => heavy.run(batch(16)));
  console.log(`heavy MLP run, batch 1:              ${(one.usPer / 1000).toFixed(2)} ms a run`);
  console.log(`heavy MLP run, batch 16:             ${(sixteen.usPer / 1000).toFixed(2)} ms a run (${((one.usPer * 16) / sixteen.usPer).toFixed(1)}x rows per second of batch 1)`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
