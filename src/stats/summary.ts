// Per-variant reward summaries from sufficient statistics (count, sum, sum of squares), which is all
// the metrics keep, so the same figures come out of one process or of Prometheus across replicas.
import { studentTQuantile } from './distributions.js';

export interface RewardSummary {
  count: number;
  sum: number;
  sumSquares: number;
}

export function mean(s: RewardSummary): number | null {
  return s.count > 0 ? s.sum / s.count : null;
}

/** Unbiased sample variance; null below two observations. Clamped at 0 against rounding. */
export function sampleVariance(s: RewardSummary): number | null {
  if (s.count < 2) return null;
  return Math.max(0, (s.sumSquares - (s.sum * s.sum) / s.count) / (s.count - 1));
}

/** 95% confidence interval of the mean: mean ± t(0.975, n-1) · s / √n. Null below two observations. */
export function meanCi95(s: RewardSummary): [number, number] | null {
  const m = mean(s);
  const variance = sampleVariance(s);
  if (m === null || variance === null) return null;
  const half = studentTQuantile(0.975, s.count - 1) * Math.sqrt(variance / s.count);
  return [m - half, m + half];
}
