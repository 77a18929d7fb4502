// The shadow log as the data plane sees it: append() takes a mirrored exchange whose answers are all in
// and returns at once; the exchanges of each batchMs window travel in one message (their bodies packed
// in one transferred buffer) to a worker thread (log-worker.ts) that compares, serializes and writes them. Bounded: while more than maxPendingBytes
// of bodies wait for the worker to take them, new records are dropped (and not compared) and counted.
// Comparison, written and dropped counts come back as metrics.
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../threads/start-worker.js';
import { WireBatch, type FromLogWorker, type MirroredExchange, type ToLogWorker } from './log-protocol.js';
import { recordShadowLog, shadowSeries, zeroShadowLogSeries } from './shadow-metrics.js';

export interface ShadowLogThreadOptions {
  path: string;
  /** Bound on the live file plus its one rotated predecessor. */
  maxBytes: number;
  /** Called when the worker reports a failed write, or dies. */
  onError: (error: Error) => void;
  /** Bodies (bytes) sent or waiting to be sent that the worker has not taken yet (default 8 MiB). */
  maxPendingBytes?: number;
  /** Records arriving within this window travel in one message (default 10 ms). */
  batchMs?: number;
}

/** Fixed cost counted per record on top of its bodies. */
const RECORD_OVERHEAD_BYTES = 512;

export class ShadowLogThread {
  readonly path: string;
  readonly maxBytes: number;
  written = 0;
  dropped = 0;
  readonly #options: ShadowLogThreadOptions;
  readonly #maxPendingBytes: number;
  #worker: Worker | undefined;
  #batch = new WireBatch();
  #batchBytes = 0;
  /** Per message sent and not yet taken: its records' bytes, oldest first. */
  #inTransit: { count: number; bytes: number }[] = [];
  #inTransitBytes = 0;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: ShadowLogThreadOptions) {
    this.path = options.path;
    this.maxBytes = options.maxBytes;
    this.#options = options;
    this.#maxPendingBytes = options.maxPendingBytes ?? 8 * 1024 * 1024;
    zeroShadowLogSeries();
  }

  /** Queues one exchange; returns at once. False when it was dropped (log closed, or the worker is behind). */
  append(input: MirroredExchange): boolean {
    if (this.#closed) return this.#drop(1);
    const bytes = exchangeBytes(input);
    if (this.#batchBytes + this.#inTransitBytes + bytes > this.#maxPendingBytes) return this.#drop(1);
    this.#batch.add(input, Date.now());
    this.#batchBytes += bytes;
    this.#timer ??= setTimeout(() => this.#send(), this.#options.batchMs ?? 10).unref();
    return true;
  }

  /** Sends what is queued, lets the worker write it (waiting at most waitMs), then stops the worker. */
  async close(waitMs = 2_000): Promise<void> {
    if (this.#closed) return;
    this.#send();
    this.#closed = true;
    const worker = this.#worker;
    if (!worker) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, waitMs + 500);
      worker.on('message', (message: FromLogWorker) => {
        if (message.type !== 'closed') return;
        clearTimeout(timer);
        resolve();
      });
      worker.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      this.#post(worker, { type: 'close', waitMs });
    });
    await worker.terminate();
  }

  #send(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const batch = this.#batch;
    if (batch.count === 0) return;
    this.#inTransit.push({ count: batch.count, bytes: this.#batchBytes });
    this.#inTransitBytes += this.#batchBytes;
    this.#batch = new WireBatch();
    this.#batchBytes = 0;
    const message = batch.message();
    this.#post(this.#worker ?? this.#start(), message, [message.bodies]);
  }

  #post(worker: Worker, message: ToLogWorker, transfer: ArrayBuffer[] = []): void {
    worker.postMessage(message, transfer);
  }

  #start(): Worker {
    const worker = startWorker('log-worker', import.meta.url, { workerData: { path: this.path, maxBytes: this.maxBytes } });
    this.#worker = worker;
    worker.unref();
    worker.on('message', (message: FromLogWorker) => this.#receive(message));
    worker.on('error', (error) => this.#options.onError(error));
    worker.on('exit', (code) => {
      if (this.#worker === worker) this.#worker = undefined;
      // Whatever the worker had not taken is lost with it.
      const lost = this.#inTransit.reduce((sum, m) => sum + m.count, 0);
      this.#inTransit = [];
      this.#inTransitBytes = 0;
      if (lost > 0) this.#drop(lost);
      if (!this.#closed) this.#options.onError(new Error(`shadow log worker exited (code ${code})`));
    });
    return worker;
  }

  #receive(message: FromLogWorker): void {
    switch (message.type) {
      case 'taken': {
        const sent = this.#inTransit.shift();
        if (sent) this.#inTransitBytes -= sent.bytes;
        return;
      }
      case 'compared':
        for (const { route, shadow, result, count } of message.counts) shadowSeries(route, shadow).comparisons[result].inc(count);
        return;
      case 'count':
        if (message.result === 'written') this.written += message.count;
        else this.dropped += message.count;
        recordShadowLog(message.result, message.count);
        return;
      case 'error':
        this.#options.onError(new Error(message.message));
        return;
      case 'closed':
        return;
    }
  }

  #drop(count: number): false {
    this.dropped += count;
    recordShadowLog('dropped', count);
    return false;
  }
}

/** The bytes an exchange's bodies will take in a batch, plus the fixed cost of its record. */
function exchangeBytes(input: MirroredExchange): number {
  let bytes = RECORD_OVERHEAD_BYTES + (input.body?.length ?? 0) + (input.primary.answer?.body?.length ?? 0);
  for (const shadow of input.shadows) bytes += shadow.result?.answer?.body?.length ?? 0;
  return bytes;
}
