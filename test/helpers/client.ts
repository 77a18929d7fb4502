// A small keep-alive HTTP client for tests (an undici Pool per proxy), plus bounded-concurrency mapping.
import { Pool, type Dispatcher } from 'undici';

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

export interface TestClient {
  send(method: Dispatcher.HttpMethod, path: string, headers?: Record<string, string>, body?: string | Buffer): Promise<Reply>;
  close(): Promise<void>;
}

export function testClient(url: string, connections = 16): TestClient {
  const pool = new Pool(url, { connections, pipelining: 1 });
  return {
    async send(method, path, headers = {}, body) {
      const res = await pool.request({ method, path, headers, body: body ?? null });
      return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
    },
    close: () => pool.close(),
  };
}

/** Runs fn over items with at most `limit` in flight; results keep the input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  async function worker(): Promise<void> {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!, index);
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** The value of one Prometheus sample from a text exposition, or 0 when absent. */
export function metricValue(exposition: string, name: string, labels: Record<string, string>): number {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of exposition.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const braces = /\{(.*)\}/.exec(line)?.[1] ?? '';
    const have = braces.split(',');
    if (want.every((pair) => have.includes(pair))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}
