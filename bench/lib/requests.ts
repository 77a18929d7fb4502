// The requests the scenarios send: a small Open Inference Protocol infer call with a per-request
// sticky key, the way a client of a split model endpoint calls it.

import type { LoadRequest } from './types.js';
import type { Upstreams } from './upstream.js';

export const SPLIT_PATH_PREFIX = '/v2/models/fraud';
export const KEY_HEADER = 'x-session-id';

export const splitRequest: LoadRequest = {
  method: 'POST',
  path: `${SPLIT_PATH_PREFIX}/infer`,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ inputs: [{ name: 'tx', shape: [1, 4], datatype: 'FP32', data: [0.12, 3.4, 1.0, 250.75] }] }),
  keyHeader: KEY_HEADER,
};

/**
 * "challenger 10.0% of 91234" from upstream request counts, for split scenarios' check(); given the
 * connection counts too (takeStats), it adds how many upstream connections were opened.
 */
export function shareNote(counts: Record<string, number>, names: readonly string[], of: string, connections?: Record<string, number>): string {
  const sum = (table: Record<string, number>) => names.reduce((total, name) => total + (table[name] ?? 0), 0);
  const total = sum(counts);
  if (total === 0) return 'no upstream requests';
  const share = `${of} ${(((counts[of] ?? 0) / total) * 100).toFixed(1)}% of ${total}`;
  return connections ? `${share}, ${sum(connections)} upstream conns` : share;
}

/** shareNote from the upstream's request and connection counts since the last call. */
export async function splitCheck(upstreams: Upstreams, names: readonly string[], of: string): Promise<string> {
  const stats = await upstreams.takeStats();
  return shareNote(stats.counts, names, of, stats.connections);
}

/** The check note of rows that mirror every request: the split (shareNote, without connection counts), then how many copies the shadow upstream got. */
export async function mirrorCheck(upstreams: Upstreams): Promise<string> {
  const counts = await upstreams.takeCounts();
  return `${shareNote(counts, ['champion', 'challenger'], 'challenger')}; shadow got ${counts.shadow ?? 0}`;
}
