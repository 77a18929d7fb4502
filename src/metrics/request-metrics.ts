// Per-request accounting on the hot path: caches prom-client children per (route, variant[, code])
// so a request costs two map lookups, not label hashing. Never throws into the request path.
import type { Counter, Histogram } from 'prom-client';
import { requestDuration, requestsTotal, unkeyedRequestsTotal, upstreamErrorsTotal } from './registry.js';
import type { UpstreamFailure } from '../http/errors.js';

interface VariantSeries {
  duration: Histogram.Internal<'route' | 'variant'>;
  codes: Map<number, Counter.Internal>;
}

const series = new Map<string, VariantSeries>();

function seriesFor(route: string, variant: string): VariantSeries {
  const id = `${route}\u0000${variant}`;
  let found = series.get(id);
  if (!found) {
    found = { duration: requestDuration.labels({ route, variant }), codes: new Map() };
    series.set(id, found);
  }
  return found;
}

/** Records one answered request; `variant` is "none" when no variant was chosen (404, 400...). */
export function recordRequest(route: string, variant: string, status: number, seconds: number): void {
  const s = seriesFor(route, variant);
  let counter = s.codes.get(status);
  if (!counter) {
    counter = requestsTotal.labels({ route, variant, code: String(status) });
    s.codes.set(status, counter);
  }
  counter.inc();
  s.duration.observe(seconds);
}

export function recordUpstreamError(route: string, variant: string, reason: UpstreamFailure): void {
  upstreamErrorsTotal.labels({ route, variant, reason }).inc();
}

export function recordUnkeyed(route: string): void {
  unkeyedRequestsTotal.labels({ route }).inc();
}
