// Shadow accounting: per (route, shadow) children of the shadow counters and histogram, created at
// zero when a route's shadows are configured so every series exists before its first event.
import type { Counter, Histogram } from 'prom-client';
import { shadowComparisonsTotal, shadowDuration, shadowLogRecordsTotal, shadowRequestsTotal } from '../metrics/registry.js';
import { SHADOW_OUTCOMES, type ShadowOutcome } from './answer.js';
import { COMPARISON_RESULTS, type ComparisonResult } from './comparison.js';

export interface ShadowSeries {
  outcomes: Record<ShadowOutcome, Counter.Internal>;
  comparisons: Record<ComparisonResult, Counter.Internal>;
  duration: Histogram.Internal<'route' | 'shadow'>;
}

const cache = new Map<string, ShadowSeries>();

/** The series of one route's shadow; creates every label set at zero the first time. */
export function shadowSeries(route: string, shadow: string): ShadowSeries {
  const id = `${route}\u0000${shadow}`;
  let found = cache.get(id);
  if (!found) {
    const outcomes = {} as Record<ShadowOutcome, Counter.Internal>;
    for (const outcome of SHADOW_OUTCOMES) {
      shadowRequestsTotal.inc({ route, shadow, outcome }, 0);
      outcomes[outcome] = shadowRequestsTotal.labels({ route, shadow, outcome });
    }
    const comparisons = {} as Record<ComparisonResult, Counter.Internal>;
    for (const result of COMPARISON_RESULTS) {
      shadowComparisonsTotal.inc({ route, shadow, result }, 0);
      comparisons[result] = shadowComparisonsTotal.labels({ route, shadow, result });
    }
    shadowDuration.zero({ route, shadow });
    found = { outcomes, comparisons, duration: shadowDuration.labels({ route, shadow }) };
    cache.set(id, found);
  }
  return found;
}

export type ShadowLogResult = 'written' | 'dropped';

export function recordShadowLog(result: ShadowLogResult, count = 1): void {
  shadowLogRecordsTotal.inc({ result }, count);
}

export function zeroShadowLogSeries(): void {
  shadowLogRecordsTotal.inc({ result: 'written' }, 0);
  shadowLogRecordsTotal.inc({ result: 'dropped' }, 0);
}
