// A bounded pool of model worker threads. Every loaded session lives in every worker; a run goes to
// the worker with the fewest runs in flight. Beyond maxQueued runs in flight, runs are refused (503).
// A worker that dies fails only its own runs and is replaced with the live sessions reloaded.
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../threads/start-worker.js';
import { ProxyError } from '../http/errors.js';
import type { Feeds } from './binding.js';
import type { ModelSignature } from './codec.js';
import type { RunOutput, WorkerRequest, WorkerResponse } from './worker-protocol.js';

/** Longest wait for native work in progress before terminating workers on close. */
const CLOSE_WAIT_MS = 5_000;

type Pending = { resolve: (response: WorkerResponse & { ok: true }) => void; reject: (error: Error) => void };

interface Slot {
  worker: Worker;
  pending: Map<number, Pending>;
}

export interface PoolOptions {
  workers: number;
  maxQueued: number;
  onWorkerError: (error: unknown) => void;
}

export class WorkerPool {
  readonly #slots: Slot[] = [];
  /** Live sessions: what a replacement worker must load again. */
  readonly #sessions = new Map<string, { bytes: Uint8Array; intraOpThreads: number }>();
  #nextId = 1;
  #inFlight = 0;
  #closed = false;

  constructor(private readonly options: PoolOptions) {
    for (let i = 0; i < Math.max(1, options.workers); i++) this.#slots.push(this.#spawn());
  }

  get size(): number {
    return this.#slots.length;
  }

  /** Loads a model into every worker; resolves with its signature. */
  async load(key: string, bytes: Uint8Array, intraOpThreads: number): Promise<ModelSignature> {
    // Settle every worker's load before answering: a worker terminated inside a native load aborts the process.
    const settled = await Promise.allSettled(this.#slots.map((slot) => this.#send(slot, { op: 'load', id: 0, key, bytes, intraOpThreads })));
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
    this.#sessions.set(key, { bytes, intraOpThreads });
    const first = settled[0];
    const signature = first?.status === 'fulfilled' ? first.value.signature : undefined;
    if (!signature) throw new Error('model worker returned no signature');
    return signature;
  }

  async dispose(key: string): Promise<void> {
    this.#sessions.delete(key);
    await Promise.all(this.#slots.map((slot) => this.#send(slot, { op: 'dispose', id: 0, key })));
  }

  run(key: string, feeds: Feeds): Promise<RunOutput> {
    if (this.#inFlight >= this.options.maxQueued) {
      return Promise.reject(new ProxyError('ABPROXY_MODEL_OVERLOADED', `model runs in flight reached the limit (${this.options.maxQueued})`));
    }
    let best = this.#slots[0] as Slot;
    for (const slot of this.#slots) if (slot.pending.size < best.pending.size) best = slot;
    const transfer: ArrayBuffer[] = [];
    for (const feed of Object.values(feeds)) if (!Array.isArray(feed.data)) transfer.push(feed.data.buffer as ArrayBuffer);
    this.#inFlight++;
    return this.#send(best, { op: 'run', id: 0, key, feeds }, transfer).then(
      (answer) => {
        this.#inFlight--;
        if (!answer.run) throw new Error('model worker returned no outputs');
        return answer.run;
      },
      (error: unknown) => {
        this.#inFlight--;
        throw error;
      },
    );
  }

  /** Lets loads and runs in progress finish (up to CLOSE_WAIT_MS), then terminates the workers. */
  async close(): Promise<void> {
    this.#closed = true;
    const deadline = Date.now() + CLOSE_WAIT_MS;
    while (this.#slots.some((slot) => slot.pending.size > 0) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    await Promise.all(this.#slots.map((slot) => slot.worker.terminate()));
  }

  #send(slot: Slot, request: WorkerRequest, transfer: ArrayBuffer[] = []): Promise<WorkerResponse & { ok: true }> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      slot.worker.postMessage({ ...request, id }, transfer);
    });
  }

  #spawn(): Slot {
    const worker = startWorker('worker', import.meta.url);
    const slot: Slot = { worker, pending: new Map() };
    worker.unref();
    worker.on('message', (response: WorkerResponse) => {
      const pending = slot.pending.get(response.id);
      if (!pending) return;
      slot.pending.delete(response.id);
      if (response.ok) pending.resolve(response);
      else pending.reject(new ProxyError('ABPROXY_MODEL_FAILED', response.message));
    });
    worker.on('error', (error) => this.options.onWorkerError(error));
    worker.on('exit', (code) => {
      for (const pending of slot.pending.values()) pending.reject(new ProxyError('ABPROXY_MODEL_FAILED', `model worker exited (code ${code})`));
      slot.pending.clear();
      if (this.#closed) return;
      const index = this.#slots.indexOf(slot);
      if (index === -1) return;
      const replacement = this.#spawn();
      this.#slots[index] = replacement;
      for (const [key, session] of this.#sessions) {
        this.#send(replacement, { op: 'load', id: 0, key, bytes: session.bytes, intraOpThreads: session.intraOpThreads }).catch((error: unknown) => this.options.onWorkerError(error));
      }
    });
    return slot;
  }
}
