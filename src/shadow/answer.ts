// What one side of a comparison answered: status, the captured body (bounded) and its content type,
// plus the outcome and latency of a shadow copy. Plain data shared by dispatch, comparison and the log.

/** An HTTP-equivalent answer whose body was captured up to a byte bound. */
export interface Answer {
  status: number;
  /** Captured body; undefined when nothing was captured. */
  body: Buffer | undefined;
  /** True when the body was longer than the capture bound (so it cannot be compared). */
  truncated: boolean;
  contentType: string | undefined;
}

/** Outcome label of abproxy_shadow_requests_total. */
export type ShadowOutcome = 'ok' | 'error' | 'timeout' | 'dropped';

export const SHADOW_OUTCOMES: readonly ShadowOutcome[] = ['ok', 'error', 'timeout', 'dropped'];

/** A shadow copy's answer; `answer` is undefined when the copy failed before a response (error, timeout). */
export interface ShadowAnswer {
  outcome: Exclude<ShadowOutcome, 'dropped'>;
  latencyMs: number;
  answer: Answer | undefined;
  /** Why the copy failed (error code or message), for the shadow log. */
  failure?: string;
}

/** A shadow answer's outcome: transport failures and 5xx answers are errors; any other status is ok. */
export function outcomeOfStatus(status: number): 'ok' | 'error' {
  return status >= 500 ? 'error' : 'ok';
}
