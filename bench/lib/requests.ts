// The requests the scenarios send: a small Open Inference Protocol infer call with a per-request
// sticky key, the way a client of a split model endpoint calls it.

import type { LoadRequest } from './types.js';
import type { UpstreamStats } from './upstream.js';

export const SPLIT_PATH_PREFIX = '/v2/models/fraud';
export const KEY_HEADER = 'x-session-id';

export const splitRequest: LoadRequest = {
  method: 'POST',
  path: `${SPLIT_PATH_PREFIX}/infer`,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ inputs: [{ name: 'tx', shape: [1, 4], datatype: 'FP32', data: [0.12, 3.4, 1.0, 250.75] }] }),
  keyHeader: KEY_HEADER,
};

/** "challenger 10.0% of 91234, 130 upstream conns" from upstream stats, for split scenarios' check(). */
export function shareNote(stats: UpstreamStats, names: readonly string[], of: string): string {
  const sum = (table: Record<string, number>) => names.reduce((total, name) => total + (table[name] ?? 0), 0);
  const total = sum(stats.counts);
  if (total === 0) return 'no upstream requests';
  return `${of} ${(((stats.counts[of] ?? 0) / total) * 100).toFixed(1)}% of ${total}, ${sum(stats.connections)} upstream conns`;
}
