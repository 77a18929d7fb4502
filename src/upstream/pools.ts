// One undici keep-alive Pool per upstream origin, shared across config generations. Pools whose
// origin left the config are closed gracefully (their in-flight requests finish first).
import { Pool } from 'undici';
import type { Limits } from '../config/schema.js';

export class PoolSet {
  readonly #pools = new Map<string, Pool>();
  #limits: Limits;

  constructor(limits: Limits) {
    this.#limits = limits;
  }

  get(origin: string): Pool {
    let pool = this.#pools.get(origin);
    if (!pool) {
      pool = new Pool(origin, {
        connections: this.#limits.upstreamConnections,
        pipelining: 1,
        keepAliveTimeout: this.#limits.upstreamKeepAliveTimeoutMs,
        keepAliveMaxTimeout: this.#limits.upstreamKeepAliveTimeoutMs,
        headersTimeout: this.#limits.upstreamTimeoutMs,
        bodyTimeout: this.#limits.upstreamTimeoutMs,
        connectTimeout: Math.min(this.#limits.upstreamTimeoutMs, 10_000),
      });
      this.#pools.set(origin, pool);
    }
    return pool;
  }

  /** Applies new limits to pools created from now on, and closes pools for origins not in `keep`. */
  retain(keep: ReadonlySet<string>, limits: Limits): Promise<void> {
    const limitsChanged = JSON.stringify(limits) !== JSON.stringify(this.#limits);
    this.#limits = limits;
    const closing: Promise<void>[] = [];
    for (const [origin, pool] of this.#pools) {
      if (!keep.has(origin) || limitsChanged) {
        this.#pools.delete(origin);
        closing.push(pool.close());
      }
    }
    return Promise.all(closing).then(() => undefined);
  }

  async closeAll(): Promise<void> {
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(pools.map((pool) => pool.close()));
  }

  /** Closes every pool at once, aborting requests in flight (for secondary traffic that must not delay shutdown). */
  async destroyAll(): Promise<void> {
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(pools.map((pool) => pool.destroy()));
  }
}
