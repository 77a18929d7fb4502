// The requests the scenarios send: a small Open Inference Protocol infer call with a per-request
// sticky key, the way a client of a split model endpoint calls it.

import type { LoadRequest } from './types.js';

export const SPLIT_PATH_PREFIX = '/v2/models/fraud';
export const KEY_HEADER = 'x-session-id';

export const splitRequest: LoadRequest = {
  method: 'POST',
  path: `${SPLIT_PATH_PREFIX}/infer`,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ inputs: [{ name: 'tx', shape: [1, 4], datatype: 'FP32', data: [0.12, 3.4, 1.0, 250.75] }] }),
  keyHeader: KEY_HEADER,
};

/** "challenger 10.0%" from upstream request counts, for split scenarios' check(). */
export function shareNote(counts: Record<string, number>, names: readonly string[], of: string): string {
  const total = names.reduce((sum, name) => sum + (counts[name] ?? 0), 0);
  if (total === 0) return 'no upstream requests';
  return `${of} ${(((counts[of] ?? 0) / total) * 100).toFixed(1)}% of ${total}`;
}
