// Feedback by request id under `serve --workers N`: each worker remembers only the requests it served, so one
// that does not know an id asks the primary, which asks every other worker and answers with the first that
// served it, or with none once all have said no (or after a timeout). Only the id, route and variant travel.
import type { Worker } from 'node:cluster';
import type { RequestVariants, ServedBy } from '../feedback/request-variants.js';
import { isClusterMessage, SERVED_ANSWER, SERVED_LOOKUP, SERVED_QUERY, SERVED_REPLY, type ServedAnswer, type ServedLookup, type ServedQuery, type ServedReply } from './messages.js';

/** Resolves with the route and variant that served a request id in any worker, or undefined. */
export type ServedLookupFn = (requestId: string) => Promise<ServedBy | undefined>;

/** Longest wait, in a worker, for the other workers' answer; the primary gives up a little sooner. */
const WORKER_TIMEOUT_MS = 1_000;
const PRIMARY_TIMEOUT_MS = 800;

/** A worker's lookup: its own memory first, then the other workers through the primary. Also answers their queries from `local`. */
export function servedAcrossWorkers(local: RequestVariants, timeoutMs = WORKER_TIMEOUT_MS): ServedLookupFn {
  const waiting = new Map<number, (servedBy: ServedBy | undefined) => void>();
  let nextId = 1;
  process.on('message', (message: unknown) => {
    if (!isClusterMessage(message)) return;
    if (message.type === SERVED_QUERY) {
      const hit = local.lookup(message.requestId);
      process.send?.({ type: SERVED_ANSWER, id: message.id, ...(hit ? { servedBy: { route: hit.route, variant: hit.variant } } : {}) } satisfies ServedAnswer);
    } else if (message.type === SERVED_REPLY) waiting.get(message.id)?.(message.servedBy);
  });
  return (requestId) => {
    const hit = local.lookup(requestId);
    if (hit) return Promise.resolve(hit);
    const id = nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => settle(undefined), timeoutMs);
      function settle(servedBy: ServedBy | undefined): void {
        clearTimeout(timer);
        waiting.delete(id);
        resolve(servedBy);
      }
      waiting.set(id, settle);
      process.send?.({ type: SERVED_LOOKUP, id, requestId } satisfies ServedLookup);
    });
  };
}

interface Pending {
  asker: Worker;
  askerId: number;
  waiting: Set<number>;
  timer: NodeJS.Timeout;
}

/** The primary's side: fans a worker's lookup out to the other workers and sends back the first hit. */
export class ServedLookupRelay {
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;

  constructor(private readonly timeoutMs = PRIMARY_TIMEOUT_MS) {}

  onLookup(asker: Worker, lookup: ServedLookup, workers: readonly Worker[]): void {
    const id = this.#nextId++;
    const pending: Pending = { asker, askerId: lookup.id, waiting: new Set(), timer: setTimeout(() => this.#reply(id, undefined), this.timeoutMs).unref() };
    this.#pending.set(id, pending);
    const query: ServedQuery = { type: SERVED_QUERY, id, requestId: lookup.requestId };
    for (const worker of workers) {
      if (worker.id === asker.id || !worker.isConnected()) continue;
      pending.waiting.add(worker.id);
      worker.send(query, (error: Error | null) => {
        if (error) this.forget(worker.id);
      });
    }
    if (pending.waiting.size === 0) this.#reply(id, undefined);
  }

  onAnswer(worker: Worker, answer: ServedAnswer): void {
    const pending = this.#pending.get(answer.id);
    if (!pending?.waiting.delete(worker.id)) return;
    if (answer.servedBy || pending.waiting.size === 0) this.#reply(answer.id, answer.servedBy);
  }

  /** A worker exited: lookups stop waiting for it, and its own lookups are dropped. */
  forget(workerId: number): void {
    for (const [id, pending] of this.#pending) {
      if (pending.asker.id === workerId) {
        clearTimeout(pending.timer);
        this.#pending.delete(id);
      } else if (pending.waiting.delete(workerId) && pending.waiting.size === 0) this.#reply(id, undefined);
    }
  }

  #reply(id: number, servedBy: ServedBy | undefined): void {
    const pending = this.#pending.get(id);
    if (!pending) return;
    this.#pending.delete(id);
    clearTimeout(pending.timer);
    if (pending.asker.isConnected()) pending.asker.send({ type: SERVED_REPLY, id: pending.askerId, ...(servedBy ? { servedBy } : {}) } satisfies ServedReply);
  }
}
