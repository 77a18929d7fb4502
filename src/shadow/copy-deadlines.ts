// The timeouts of the HTTP shadow copies in flight on one thread, kept on one timer instead of a Node timer
// per copy. With copies sent from the data plane's thread (as under --workers 2), its scavenges promoted
// 1 150 bytes per request with a timer per copy and 620 with this (--trace-gc-nvp, split + 100% shadow,
// wrk -c64; with no timeout at all, 320). Copies with the same timeoutMs expire in the order they were
// sent, so each timeoutMs keeps its copies first in, first out, and the timer is set for the earliest one.
// A copy that settles empties its place (Deadline.copy), which stays queued until its deadline passes.
import { performance } from 'node:perf_hooks';

/** A copy in flight, as its deadline sees it. */
export interface Expiring {
  /** Called at most once, when timeoutMs passed before the copy's place was cleared. */
  expire(): void;
}

/** A copy's place in its queue. */
export interface Deadline {
  readonly at: number;
  /** The copy, until it settles and clears its place. */
  copy: Expiring | undefined;
}

/** Past this many passed entries at the front, a queue drops them in one copy. */
const COMPACT_AFTER = 1024;

export class CopyDeadlines {
  readonly #queues = new Map<number, { items: (Deadline | undefined)[]; head: number }>();
  #timer: NodeJS.Timeout | undefined;
  /** When the timer fires (ms, performance.now()). */
  #armedFor = Number.POSITIVE_INFINITY;

  /** `copy` expires timeoutMs from now unless its place (returned) is cleared by then. */
  add(copy: Expiring, timeoutMs: number): Deadline {
    let queue = this.#queues.get(timeoutMs);
    if (!queue) this.#queues.set(timeoutMs, (queue = { items: [], head: 0 }));
    const deadline: Deadline = { at: performance.now() + timeoutMs, copy };
    queue.items.push(deadline);
    if (deadline.at < this.#armedFor) this.#arm(deadline.at);
    return deadline;
  }

  #arm(at: number): void {
    clearTimeout(this.#timer);
    this.#armedFor = at;
    this.#timer = setTimeout(() => this.#expire(), Math.max(0, at - performance.now())).unref();
  }

  #expire(): void {
    this.#timer = undefined;
    this.#armedFor = Number.POSITIVE_INFINITY;
    const now = performance.now();
    let next = Number.POSITIVE_INFINITY;
    for (const [timeoutMs, queue] of this.#queues) {
      const { items } = queue;
      while (queue.head < items.length && (items[queue.head]?.at ?? 0) <= now) {
        const copy = items[queue.head]?.copy;
        items[queue.head++] = undefined;
        copy?.expire();
      }
      if (queue.head === items.length) this.#queues.delete(timeoutMs);
      else {
        if (queue.head > COMPACT_AFTER) {
          queue.items = items.slice(queue.head);
          queue.head = 0;
        }
        next = Math.min(next, queue.items[queue.head]?.at ?? next);
      }
    }
    if (next < Number.POSITIVE_INFINITY) this.#arm(next);
  }
}
