// A bounded pool of model worker threads. Every loaded session lives in every worker; a run goes to
// the worker with the fewest runs in flight. Beyond maxQueued runs in flight, runs are refused (503).
// A worker that dies fails only its own runs and is started again with the live sessions reloaded: at
// once the first time, after a growing delay while it keeps dying (restart-backoff.ts), so a worker
// that cannot start (a native binding that fails to load) cannot spin the process.
import type { Worker } from 'node:worker_threads';
import { RestartBackoff } from '../threads/restart-backoff.js';
import { startWorker } from '../threads/start-worker.js';
import { ProxyError } from '../http/errors.js';
import type { Feeds } from './binding.js';
import type { ModelSignature } from './codec.js';
import type { RunOutput, WorkerRequest, WorkerResponse } from './worker-protocol.js';

/** Longest wait for native work in progress before terminating workers on close. */
const CLOSE_WAIT_MS = 5_000;

type Pending = { resolve: (response: WorkerResponse & { ok: true }) => void; reject: (error: Error) => void };

interface Slot {
  /** Undefined while a worker that died waits out its restart delay. */
  worker: Worker | undefined;
  pending: Map<number, Pending>;
  backoff: RestartBackoff;
  startedAt: number;
  restartTimer: NodeJS.Timeout | undefined;
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
    for (let i = 0; i < Math.max(1, options.workers); i++) {
      const slot: Slot = { worker: undefined, pending: new Map(), backoff: new RestartBackoff(), startedAt: 0, restartTimer: undefined };
      this.#slots.push(slot);
      this.#start(slot);
    }
  }

  /** Loads a model into every running worker (and any that starts from now on); resolves with its signature. */
  async load(key: string, bytes: Uint8Array, intraOpThreads: number): Promise<ModelSignature> {
    const running = this.#running();
    if (running.length === 0) throw unavailable();
    this.#sessions.set(key, { bytes, intraOpThreads });
    // Settle every worker's load before answering: a worker terminated inside a native load aborts the process.
    const settled = await Promise.allSettled(running.map((slot) => this.#send(slot, { op: 'load', id: 0, key, bytes, intraOpThreads })));
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed) {
      this.#sessions.delete(key);
      throw failed.reason;
    }
    const first = settled[0];
    const signature = first?.status === 'fulfilled' ? first.value.signature : undefined;
    if (!signature) throw new Error('model worker returned no signature');
    return signature;
  }

  async dispose(key: string): Promise<void> {
    this.#sessions.delete(key);
    await Promise.all(this.#running().map((slot) => this.#send(slot, { op: 'dispose', id: 0, key })));
  }

  run(key: string, feeds: Feeds): Promise<RunOutput> {
    if (this.#inFlight >= this.options.maxQueued) {
      return Promise.reject(new ProxyError('ABPROXY_MODEL_OVERLOADED', `model runs in flight reached the limit (${this.options.maxQueued})`));
    }
    let best: Slot | undefined;
    for (const slot of this.#running()) if (!best || slot.pending.size < best.pending.size) best = slot;
    if (!best) return Promise.reject(unavailable());
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
    for (const slot of this.#slots) clearTimeout(slot.restartTimer);
    const deadline = Date.now() + CLOSE_WAIT_MS;
    while (this.#slots.some((slot) => slot.pending.size > 0) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    await Promise.all(this.#slots.flatMap((slot) => (slot.worker ? [slot.worker.terminate()] : [])));
  }

  #running(): Slot[] {
    return this.#slots.filter((slot) => slot.worker !== undefined);
  }

  #send(slot: Slot, request: WorkerRequest, transfer: ArrayBuffer[] = []): Promise<WorkerResponse & { ok: true }> {
    const worker = slot.worker;
    if (!worker) return Promise.reject(unavailable());
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      worker.postMessage({ ...request, id }, transfer);
    });
  }

  /** Starts the slot's worker and loads every live session into it. */
  #start(slot: Slot): void {
    slot.restartTimer = undefined;
    const worker = startWorker('worker', import.meta.url);
    slot.worker = worker;
    slot.startedAt = Date.now();
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
      slot.worker = undefined;
      for (const pending of slot.pending.values()) pending.reject(new ProxyError('ABPROXY_MODEL_FAILED', `model worker exited (code ${code})`));
      slot.pending.clear();
      if (this.#closed) return;
      const now = Date.now();
      const delayMs = slot.backoff.exited(slot.startedAt, now) - now;
      this.options.onWorkerError(new Error(`model worker exited (code ${code}); it starts again ${delayMs > 0 ? `in ${delayMs / 1000} s` : 'now'}`));
      if (delayMs > 0) slot.restartTimer = setTimeout(() => this.#start(slot), delayMs).unref();
      else this.#start(slot);
    });
    for (const [key, session] of this.#sessions) {
      this.#send(slot, { op: 'load', id: 0, key, bytes: session.bytes, intraOpThreads: session.intraOpThreads }).catch((error: unknown) => this.options.onWorkerError(error));
    }
  }
}

function unavailable(): ProxyError {
  return new ProxyError('ABPROXY_MODEL_UNAVAILABLE', 'every model worker exited and waits to start again');
}
