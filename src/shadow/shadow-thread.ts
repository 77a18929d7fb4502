// The shadow worker as the data plane sees it. mirror() hands over an exchange's HTTP copies (they leave
// within COPY_DELAY_MS, batched); complete() its primary part once the primary has ended; append() a
// whole exchange whose shadows all answered on this thread. Everything returns at once: items travel in
// batches (bodies packed in one transferred buffer) to a worker thread (shadow-worker.ts) that sends the
// copies, compares and writes the log. Bounded: while more than maxPendingBytes of bodies wait for the
// worker to take them, new exchanges are dropped (and not compared) and counted. A worker that dies takes
// what it held with it: each exchange handed to it whose record it had not written or dropped is counted
// dropped, once, and later primary parts of those exchanges are let go. The next batch starts another
// worker, at once the first time and after a growing delay while it keeps dying (restart-backoff.ts),
// exchanges being dropped and counted meanwhile.
// Settled copies and comparison, written and dropped counts come back as metrics and callbacks.
import { performance } from 'node:perf_hooks';
import type { Worker } from 'node:worker_threads';
import type { Limits } from '../config/schema.js';
import { RestartBackoff } from '../threads/restart-backoff.js';
import { startWorker } from '../threads/start-worker.js';
import type { ShadowOutcome } from './answer.js';
import { settledCopies, WireBatch, type ExchangeHead, type FromShadowWorker, type MirroredExchange, type PrimaryPart, type ShadowCopy, type ToShadowWorker } from './shadow-protocol.js';
import { recordShadowLog, shadowSeries, zeroShadowLogSeries } from './shadow-metrics.js';

export interface ShadowThreadOptions {
  path: string;
  /** Bound on the live file plus its one rotated predecessor. */
  maxBytes: number;
  /** Limits of the worker's upstream pools. */
  limits: Limits;
  /** Run the worker below normal CPU priority (shadowPriority: yield). */
  yieldCpu: boolean;
  /** Called when the worker reports a failed write, or dies. */
  onError: (error: Error) => void;
  /** Called when the worker could not lower its CPU priority as yieldCpu asks (it runs on at its priority). */
  onPriorityRefused?: (reason: string) => void;
  /** Called for every copy that ended (latencyMs undefined: lost with a worker that died or closed). */
  onCopySettled?: (route: string, shadow: string, outcome: Exclude<ShadowOutcome, 'dropped'>, latencyMs: number | undefined) => void;
  /** Bodies (bytes) sent or waiting to be sent that the worker has not taken yet (default 8 MiB). */
  maxPendingBytes?: number;
  /** Whole exchanges and primary parts arriving within this window travel in one message (default BATCH_MS). */
  batchMs?: number;
}

/** Fixed cost counted per exchange on top of its bodies. */
const RECORD_OVERHEAD_BYTES = 512;
/** Copies wait at most this long for their batch to leave. */
const COPY_DELAY_MS = 1;
/**
 * Exchanges and primary parts wait at most this long: the worker wakes, takes and reports once per batch, so a
 * longer window costs less per exchange (--workers 2, split + 100% shadow: 6% less CPU a request at 40 ms than
 * at 10, the same at 100), and only delays records and comparison counts.
 */
const BATCH_MS = 50;
/** A batch holding this share of maxPendingBytes leaves at once: large bodies free the bound sooner. */
const FULL_BATCH_SHARE = 1 / 8;

export class ShadowThread {
  readonly path: string;
  readonly maxBytes: number;
  readonly yieldCpu: boolean;
  written = 0;
  dropped = 0;
  readonly #options: ShadowThreadOptions;
  readonly #maxPendingBytes: number;
  #worker: Worker | undefined;
  #batch = new WireBatch();
  #batchBytes = 0;
  /** Per message sent and not yet taken: its items' bytes, oldest first. */
  #inTransit: number[] = [];
  #inTransitBytes = 0;
  #timer: NodeJS.Timeout | undefined;
  /** When the scheduled batch leaves (performance.now() ms). */
  #due = 0;
  #nextId = 0;
  /** Exchanges handed to the current worker (sent or in the batch) whose record it has not reported written or dropped. */
  #unsettledRecords = 0;
  /** Mirrored exchanges with a smaller id went to a worker that died (and were counted with it). */
  #firstLiveId = 0;
  /** Copies handed to the worker and not reported settled, per route and shadow. */
  readonly #outstanding = new Map<string, { route: string; shadow: string; count: number }>();
  #limits: Limits;
  #ready: Promise<void> = Promise.resolve();
  #closed = false;
  /** A worker that died is started again on the next batch, not sooner than this allows. */
  readonly #backoff = new RestartBackoff();
  #startedAt = 0;

  constructor(options: ShadowThreadOptions) {
    this.path = options.path;
    this.maxBytes = options.maxBytes;
    this.yieldCpu = options.yieldCpu;
    this.#options = options;
    this.#limits = options.limits;
    this.#maxPendingBytes = options.maxPendingBytes ?? 8 * 1024 * 1024;
    zeroShadowLogSeries();
    this.#start();
  }

  /** Settles once the worker has loaded (or failed to): copies handed over before then wait for it. */
  ready(): Promise<void> {
    return this.#ready;
  }

  /** Queues a whole exchange; returns at once. False when it was dropped (closed, the worker is behind, or it died and waits to restart). */
  append(input: MirroredExchange): boolean {
    if (this.#closed || this.#down()) return this.#drop(1);
    const bytes = exchangeBytes(input);
    if (this.#overBound(bytes)) return this.#drop(1);
    this.#batch.add(input, Date.now());
    this.#unsettledRecords++;
    this.#queued(bytes, this.#options.batchMs ?? BATCH_MS);
    return true;
  }

  /** Hands an exchange's copies to the worker; returns the exchange's id for complete(), or undefined when it was dropped (counted). */
  mirror(route: string, head: ExchangeHead, copies: readonly ShadowCopy[]): number | undefined {
    const bytes = RECORD_OVERHEAD_BYTES + (head.body?.length ?? 0);
    if (this.#closed || this.#down() || this.#overBound(bytes)) {
      this.#drop(1);
      return undefined;
    }
    const id = this.#nextId++;
    this.#batch.addMirror(id, head, copies);
    this.#unsettledRecords++;
    for (const { shadow } of copies) {
      const slot = `${route}\u0000${shadow}`;
      const outstanding = this.#outstanding.get(slot) ?? { route, shadow, count: 0 };
      outstanding.count++;
      this.#outstanding.set(slot, outstanding);
    }
    this.#queued(bytes, COPY_DELAY_MS);
    return id;
  }

  /**
   * The primary part of mirrored exchange `id`; past the bound it goes without bodies, and is dropped and
   * counted. When its mirror went to a worker that died it is let go: it was counted with that worker.
   */
  complete(id: number, part: PrimaryPart): void {
    if (this.#closed || id < this.#firstLiveId) return;
    const bytes = answerBytes(part);
    const dropped = this.#overBound(bytes);
    if (dropped) {
      this.#unsettledRecords--;
      this.#drop(1);
    }
    this.#batch.addPrimary(id, part, dropped);
    this.#queued(dropped ? 0 : bytes, this.#options.batchMs ?? BATCH_MS);
  }

  /** Keeps the worker's pools for these origins only; new pools get these limits. */
  retainPools(origins: readonly string[], limits: Limits): void {
    this.#limits = limits;
    if (this.#worker && !this.#closed) this.#post(this.#worker, { type: 'pools', origins: [...origins], limits });
  }

  /** Sends what is queued, stops the copies in flight, lets the worker write (waiting at most waitMs), then stops the worker. */
  async close(waitMs = 2_000): Promise<void> {
    if (this.#closed) return;
    this.#send();
    this.#closed = true;
    const worker = this.#worker;
    if (!worker) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, waitMs + 500);
      worker.on('message', (message: FromShadowWorker) => {
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

  /** True while a worker that died waits out its restart delay. */
  #down(): boolean {
    return this.#worker === undefined && !this.#backoff.mayStart(Date.now());
  }

  #overBound(bytes: number): boolean {
    return this.#batchBytes + this.#inTransitBytes + bytes > this.#maxPendingBytes;
  }

  /** Counts an item's bytes into the batch and makes sure the batch leaves within delayMs (at once when it is full). */
  #queued(bytes: number, delayMs: number): void {
    this.#batchBytes += bytes;
    if (this.#batchBytes >= this.#maxPendingBytes * FULL_BATCH_SHARE) {
      this.#send();
      return;
    }
    const due = performance.now() + delayMs;
    if (this.#timer && this.#due <= due) return;
    clearTimeout(this.#timer);
    this.#due = due;
    this.#timer = setTimeout(() => this.#send(), delayMs).unref();
  }

  #send(): void {
    const { batch, bytes } = this.#takeBatch();
    if (batch.count === 0) return;
    this.#inTransit.push(bytes);
    this.#inTransitBytes += bytes;
    const message = batch.message();
    this.#post(this.#worker ?? this.#start(), message, [message.bodies]);
  }

  /** The batch being filled and its bytes, a new one started in its place (its timer stopped). */
  #takeBatch(): { batch: WireBatch; bytes: number } {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const taken = { batch: this.#batch, bytes: this.#batchBytes };
    this.#batch = new WireBatch();
    this.#batchBytes = 0;
    return taken;
  }

  #post(worker: Worker, message: ToShadowWorker, transfer: ArrayBuffer[] = []): void {
    worker.postMessage(message, transfer);
  }

  #start(): Worker {
    const worker = startWorker('shadow-worker', import.meta.url, { workerData: { path: this.path, maxBytes: this.maxBytes, limits: this.#limits, yieldCpu: this.yieldCpu } });
    this.#worker = worker;
    this.#startedAt = Date.now();
    // Until it has loaded the worker keeps the process alive: a start awaiting ready() must see it load or exit.
    this.#ready = new Promise((resolve) => {
      worker.on('message', (message: FromShadowWorker) => {
        if (message.type !== 'ready') return;
        worker.unref();
        resolve();
      });
      worker.once('exit', () => resolve());
    });
    worker.on('message', (message: FromShadowWorker) => this.#receive(message));
    worker.on('error', (error) => this.#options.onError(error));
    worker.on('exit', (code) => {
      if (this.#worker === worker) this.#worker = undefined;
      this.#backoff.exited(this.#startedAt, Date.now());
      // Every exchange it had not settled is lost with it (those in the batch not yet sent to it too), and so are its copies in flight.
      this.#takeBatch();
      this.#inTransit = [];
      this.#inTransitBytes = 0;
      this.#firstLiveId = this.#nextId;
      const lost = this.#unsettledRecords;
      this.#unsettledRecords = 0;
      if (lost > 0) this.#drop(lost);
      for (const { route, shadow, count } of this.#outstanding.values()) for (let i = 0; i < count; i++) this.#options.onCopySettled?.(route, shadow, 'error', undefined);
      this.#outstanding.clear();
      if (!this.#closed) this.#options.onError(new Error(`shadow worker exited (code ${code})`));
    });
    return worker;
  }

  #receive(message: FromShadowWorker): void {
    switch (message.type) {
      case 'taken': {
        this.#inTransitBytes -= this.#inTransit.shift() ?? 0;
        return;
      }
      case 'settled':
        for (const { route, shadow, outcome, latencyMs } of settledCopies(message.fields)) {
          const outstanding = this.#outstanding.get(`${route}\u0000${shadow}`);
          if (outstanding) outstanding.count--;
          this.#options.onCopySettled?.(route, shadow, outcome, latencyMs);
        }
        return;
      case 'compared':
        for (const { route, shadow, result, count } of message.counts) shadowSeries(route, shadow).comparisons[result].inc(count);
        return;
      case 'count':
        this.#unsettledRecords -= message.count;
        if (message.result === 'written') this.written += message.count;
        else this.dropped += message.count;
        recordShadowLog(message.result, message.count);
        return;
      case 'error':
        this.#options.onError(new Error(message.message));
        return;
      case 'ready':
        if (message.priorityRefused) this.#options.onPriorityRefused?.(message.priorityRefused);
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
  return RECORD_OVERHEAD_BYTES + (input.body?.length ?? 0) + answerBytes(input);
}

/** The bytes of the primary's and the shadows' answer bodies. */
function answerBytes({ primary, shadows }: Pick<MirroredExchange, 'primary' | 'shadows'>): number {
  let bytes = primary.answer?.body?.length ?? 0;
  for (const shadow of shadows) bytes += shadow.result?.answer?.body?.length ?? 0;
  return bytes;
}
