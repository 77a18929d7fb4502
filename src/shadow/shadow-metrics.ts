// Shadow accounting: per (route, shadow) series of the shadow counters and histogram (updated in place,
// fast-series.ts), created at zero when a route's shadows are configured so every series exists before its
// first event.
import { CounterSeries, HistogramSeries } from '../metrics/fast-series.js';
import { shadowComparisonsTotal, shadowDuration, shadowLogRecordsTotal, shadowRequestsTotal } from '../metrics/registry.js';
import { SHADOW_OUTCOMES, type ShadowOutcome } from './answer.js';
import { COMPARISON_RESULTS, type ComparisonResult } from './comparison.js';

export interface ShadowSeries {
  outcomes: Record<ShadowOutcome, CounterSeries>;
  comparisons: Record<ComparisonResult, CounterSeries>;
  duration: HistogramSeries;
}

const cache = new Map<string, ShadowSeries>();

/** The series of one route's shadow; creates every label set at zero the first time. */
export function shadowSeries(route: string, shadow: string): ShadowSeries {
  const id = `${route}\u0000${shadow}`;
  let found = cache.get(id);
  if (!found) {
    const outcomes = {} as Record<ShadowOutcome, CounterSeries>;
    for (const outcome of SHADOW_OUTCOMES) {
      outcomes[outcome] = new CounterSeries(shadowRequestsTotal, { route, shadow, outcome });
      outcomes[outcome].inc(0);
    }
    const comparisons = {} as Record<ComparisonResult, CounterSeries>;
    for (const result of COMPARISON_RESULTS) {
      comparisons[result] = new CounterSeries(shadowComparisonsTotal, { route, shadow, result });
      comparisons[result].inc(0);
    }
    shadowDuration.zero({ route, shadow });
    found = { outcomes, comparisons, duration: new HistogramSeries(shadowDuration, { route, shadow }) };
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
