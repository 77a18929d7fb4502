// Bounded client load for tests: N requests over C keep-alive connections (undici Pool), recording each
// answer's status, body and latency. Percentiles for comparing runs with generous margins.
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';

export interface LoadOptions {
  requests: number;
  concurrency: number;
  method?: 'GET' | 'POST';
  body?: string;
  headers?: Record<string, string>;
  /** Each connection waits this long after an answer before its next request (default 0), to spread the load over time. */
  gapMs?: number;
}

export interface LoadResult {
  statuses: number[];
  bodies: string[];
  latenciesMs: number[];
  /** Requests that failed without an HTTP answer. */
  errors: number;
}

export async function runLoad(origin: string, path: string, options: LoadOptions): Promise<LoadResult> {
  const pool = new Pool(origin, { connections: options.concurrency });
  const result: LoadResult = { statuses: [], bodies: [], latenciesMs: [], errors: 0 };
  let next = 0;
  const worker = async () => {
    while (next < options.requests) {
      next++;
      const startedAt = performance.now();
      try {
        const res = await pool.request({ path, method: options.method ?? 'POST', body: options.body ?? null, headers: options.headers ?? { 'content-type': 'application/json' } });
        result.bodies.push(await res.body.text());
        result.statuses.push(res.statusCode);
        result.latenciesMs.push(performance.now() - startedAt);
      } catch {
        result.errors++;
      }
      if (options.gapMs) await new Promise((resolve) => setTimeout(resolve, options.gapMs));
    }
  };
  try {
    await Promise.all(Array.from({ length: options.concurrency }, worker));
  } finally {
    await pool.close();
  }
  return result;
}

/** The p-th percentile (0-100) by nearest rank. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

/** Polls `check` every 20 ms until it returns true or timeoutMs passes; returns the last result. */
export async function waitFor(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}
