// The bounded request-id -> (route, variant) memory that lets feedback name a request instead of a
// variant. Least recently used ids are dropped first, and every drop is counted. Never grows past `max`.
import { LRUCache } from 'lru-cache';
import { feedbackRequestIdsEvictedTotal } from '../metrics/registry.js';

export interface ServedBy {
  route: string;
  variant: string;
}

export class RequestVariants {
  #cache: LRUCache<string, ServedBy>;

  constructor(max: number) {
    this.#cache = RequestVariants.#create(max);
  }

  static #create(max: number): LRUCache<string, ServedBy> {
    return new LRUCache<string, ServedBy>({
      max,
      dispose: (_value, _key, reason) => {
        if (reason === 'evict') feedbackRequestIdsEvictedTotal.inc();
      },
    });
  }

  get size(): number {
    return this.#cache.size;
  }

  remember(requestId: string, route: string, variant: string): void {
    this.#cache.set(requestId, { route, variant });
  }

  lookup(requestId: string): ServedBy | undefined {
    return this.#cache.get(requestId);
  }

  /** Applies a new bound (after a reload), keeping the most recent ids that still fit. */
  resize(max: number): void {
    if (max === this.#cache.max) return;
    const next = RequestVariants.#create(max);
    // rentries() walks least recent first, so the most recent end up most recent again.
    for (const id of this.#cache.rkeys()) {
      const servedBy = this.#cache.peek(id);
      if (servedBy) next.set(id, servedBy);
    }
    this.#cache = next;
  }
}
