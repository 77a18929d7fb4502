// Quantiles from cumulative histogram buckets, the way PromQL's histogram_quantile() computes them
// (linear interpolation inside the bucket; the highest finite bound when the rank falls in +Inf). Pure.

export interface Bucket {
  /** Upper bound; Infinity for the +Inf bucket */
  le: number;
  /** Observations <= le (cumulative) */
  count: number;
}

/** The q-quantile (0..1) of the observations, or null when there are none. Buckets must be sorted by `le`. */
export function histogramQuantile(q: number, buckets: readonly Bucket[]): number | null {
  const last = buckets[buckets.length - 1];
  if (!last || last.count <= 0 || !(q >= 0 && q <= 1)) return null;
  const rank = q * last.count;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const bucket of buckets) {
    if (bucket.count >= rank && bucket.count > lowerCount) {
      if (bucket.le === Number.POSITIVE_INFINITY) return lowerBound;
      return lowerBound + (bucket.le - lowerBound) * ((rank - lowerCount) / (bucket.count - lowerCount));
    }
    if (bucket.le !== Number.POSITIVE_INFINITY) lowerBound = bucket.le;
    lowerCount = bucket.count;
  }
  return lowerBound;
}
