// Per-request accounting on the hot path, through series updated in place (fast-series.ts).
import { CounterSeries, HistogramSeries } from './fast-series.js';
import { clientSendTimeoutsTotal, requestDuration, requestsTotal, unkeyedRequestsTotal, upstreamErrorsTotal, upstreamRetriesTotal } from './registry.js';
import type { UpstreamFailure } from '../http/errors.js';

interface VariantSeries {
  duration: HistogramSeries;
  codes: Map<number, CounterSeries>;
}

const series = new Map<string, Map<string, VariantSeries>>();

function seriesFor(route: string, variant: string): VariantSeries {
  let byVariant = series.get(route);
  if (!byVariant) {
    byVariant = new Map();
    series.set(route, byVariant);
  }
  let found = byVariant.get(variant);
  if (!found) {
    found = { duration: new HistogramSeries(requestDuration, { route, variant }), codes: new Map() };
    byVariant.set(variant, found);
  }
  return found;
}

/** Records one answered request; `variant` is "none" when no variant was chosen (404, 400...). */
export function recordRequest(route: string, variant: string, status: number, seconds: number): void {
  const s = seriesFor(route, variant);
  let counter = s.codes.get(status);
  if (!counter) {
    counter = new CounterSeries(requestsTotal, { route, variant, code: String(status) });
    s.codes.set(status, counter);
  }
  counter.inc();
  s.duration.observe(seconds);
}

export function recordUpstreamError(route: string, variant: string, reason: UpstreamFailure): void {
  upstreamErrorsTotal.labels({ route, variant, reason }).inc();
}

export function recordRetry(route: string, variant: string): void {
  upstreamRetriesTotal.labels({ route, variant }).inc();
}

/** An answer cut off by limits.sendTimeoutMs (route "none" for local models' own endpoints). */
export function recordSendTimeout(route: string): void {
  clientSendTimeoutsTotal.labels({ route }).inc();
}

export function recordUnkeyed(route: string): void {
  unkeyedRequestsTotal.labels({ route }).inc();
}
