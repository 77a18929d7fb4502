// One undici keep-alive Pool per upstream origin and protocol (HTTP/1.1, or HTTP/2 for gRPC: h2c on
// http origins, ALPN on https), shared across config generations. Pools whose origin left the config
// are closed gracefully (their in-flight requests finish first); at shutdown, gracefully only up to a grace
// period, then destroyed, so an upstream that never answers cannot hold the process.
import { Pool } from 'undici';
import type { Limits } from '../config/schema.js';

export class PoolSet {
  /** Keyed by protocol and origin. */
  readonly #pools = new Map<string, { origin: string; pool: Pool }>();
  #limits: Limits;

  constructor(limits: Limits) {
    this.#limits = limits;
  }

  /** `http2`: streams multiplexed over HTTP/2 connections instead of one request at a time per connection. */
  get(origin: string, http2 = false): Pool {
    const id = http2 ? `h2 ${origin}` : origin;
    let pool = this.#pools.get(id)?.pool;
    if (!pool) {
      pool = new Pool(origin, {
        connections: this.#limits.upstreamConnections,
        ...(http2 ? { allowH2: true, connect: h2cConnect(origin) } : { pipelining: 1 }),
        keepAliveTimeout: this.#limits.upstreamKeepAliveTimeoutMs,
        keepAliveMaxTimeout: this.#limits.upstreamKeepAliveTimeoutMs,
        headersTimeout: this.#limits.upstreamTimeoutMs,
        bodyTimeout: this.#limits.upstreamTimeoutMs,
        connectTimeout: Math.min(this.#limits.upstreamTimeoutMs, 10_000),
        maxHeaderSize: this.#limits.maxHeaderBytes,
      });
      this.#pools.set(id, { origin, pool });
    }
    return pool;
  }

  /** Applies new limits to pools created from now on, and closes pools for origins not in `keep`. */
  retain(keep: ReadonlySet<string>, limits: Limits): Promise<void> {
    const limitsChanged = JSON.stringify(limits) !== JSON.stringify(this.#limits);
    this.#limits = limits;
    const closing: Promise<void>[] = [];
    for (const [id, { origin, pool }] of this.#pools) {
      if (!keep.has(origin) || limitsChanged) {
        this.#pools.delete(id);
        closing.push(pool.close());
      }
    }
    return Promise.all(closing).then(() => undefined);
  }

  /** Closes every pool gracefully for up to graceMs, then destroys those still open (aborting what they hold); resolves with how many it destroyed. */
  async closeAll(graceMs: number): Promise<number> {
    const pools = [...this.#pools.values()].map((entry) => entry.pool);
    this.#pools.clear();
    const outcomes = await Promise.all(pools.map((pool) => closeWithin(pool, graceMs)));
    return outcomes.filter((outcome) => outcome === 'destroyed').length;
  }

  /** Closes every pool at once, aborting requests in flight (for secondary traffic that must not delay shutdown). */
  async destroyAll(): Promise<void> {
    const pools = [...this.#pools.values()].map((entry) => entry.pool);
    this.#pools.clear();
    await Promise.all(pools.map((pool) => pool.destroy()));
  }
}

/** A graceful close that waits for requests in flight and queued, bounded: past graceMs the pool is destroyed (its pending close() never settles then). */
async function closeWithin(pool: Pool, graceMs: number): Promise<'closed' | 'destroyed'> {
  let timer: NodeJS.Timeout | undefined;
  const graceOver = new Promise<'grace over'>((resolve) => (timer = setTimeout(resolve, graceMs, 'grace over')));
  try {
    if ((await Promise.race([pool.close(), graceOver])) !== 'grace over') return 'closed';
  } finally {
    clearTimeout(timer);
  }
  await pool.destroy();
  return 'destroyed';
}

/**
 * h2c (HTTP/2 with prior knowledge) on http origins. Pool builds its connector from `connect`'s fields
 * only (Client's own `useH2c` option never reaches it), and undici's connector type does not list the
 * field its connector reads.
 */
function h2cConnect(origin: string): Pool.Options['connect'] {
  return { useH2c: origin.startsWith('http:') } as Pool.Options['connect'];
}
