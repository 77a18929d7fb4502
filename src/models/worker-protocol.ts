// Messages between the main thread and a model worker thread. Types only.
import type { Feeds } from './binding.js';
import type { ModelSignature, OutputTensor } from './codec.js';

export type WorkerRequest =
  | { op: 'load'; id: number; key: string; bytes: Uint8Array; intraOpThreads: number }
  | { op: 'run'; id: number; key: string; feeds: Feeds }
  | { op: 'dispose'; id: number; key: string };

export interface RunOutput {
  outputs: Record<string, OutputTensor>;
  /** Time inside session.run, in milliseconds */
  runMs: number;
}

export type WorkerResponse =
  | { id: number; ok: true; signature?: ModelSignature; run?: RunOutput }
  | { id: number; ok: false; message: string };
