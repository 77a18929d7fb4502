// Feedback by request id under `serve --workers N`: each worker remembers only the requests it served, so one
// that does not know an id asks the other workers (fanout.ts) and takes the first that served it.
import type { RequestVariants, ServedBy } from '../feedback/request-variants.js';
import { answerQuestions, askOtherWorkers } from './fanout.js';

/** Resolves with the route and variant that served a request id in any worker, or undefined. */
export type ServedLookupFn = (requestId: string) => Promise<ServedBy | undefined>;

/** How long the primary waits for the other workers' answers. */
const LOOKUP_TIMEOUT_MS = 800;

/** A worker's lookup: its own memory first, then the other workers'. Also answers their lookups from `local`. */
export function servedAcrossWorkers(local: RequestVariants): ServedLookupFn {
  answerQuestions('served', ({ requestId }) => {
    const hit = local.lookup(requestId);
    return hit && { route: hit.route, variant: hit.variant };
  });
  return async (requestId) => {
    const hit = local.lookup(requestId);
    if (hit) return hit;
    const { answers } = await askOtherWorkers({ kind: 'served', requestId }, { first: true, timeoutMs: LOOKUP_TIMEOUT_MS });
    return answers[0] as ServedBy | undefined;
  };
}
