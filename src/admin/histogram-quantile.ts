// Quantiles from cumulative histogram buckets, the way Prometheus' histogram_quantile() computes them:
// linear interpolation inside the bucket that holds the rank. Pure; never sees raw observations.

export interface CumulativeBucket {
  /** Upper bound of the bucket (Infinity for +Inf). */
  le: number;
  /** Observations <= le. */
  count: number;
}

/**
 * The q-quantile (0 < q < 1) of the observations counted in `buckets` (sorted by `le`, cumulative),
 * or null when there are none. A rank that falls in the +Inf bucket returns the highest finite bound.
 */
export function histogramQuantile(q: number, buckets: readonly CumulativeBucket[]): number | null {
  const total = buckets.at(-1)?.count ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const bucket of buckets) {
    if (bucket.count >= rank && bucket.count > lowerCount) {
      if (bucket.le === Infinity) return lowerBound;
      return lowerBound + ((bucket.le - lowerBound) * (rank - lowerCount)) / (bucket.count - lowerCount);
    }
    if (bucket.le !== Infinity) lowerBound = bucket.le;
    lowerCount = bucket.count;
  }
  return lowerBound;
}
