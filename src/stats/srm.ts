// Sample-ratio mismatch: Pearson's chi-square goodness-of-fit of observed requests per variant against
// the configured shares, flagged below p = 0.001 (GrowthBook's threshold). Pure.
import { chiSquareSurvival } from './distributions.js';

export const SRM_P_THRESHOLD = 0.001;

export interface SrmResult {
  /** Null when a variant with no configured share received traffic (the statistic is infinite). */
  chiSquare: number | null;
  df: number;
  pValue: number | null;
  mismatch: boolean;
}

/**
 * `observed[i]` requests against `shares[i]` (summing to 1). Variants with share 0 and no traffic are
 * left out; one with share 0 but traffic is a mismatch outright. Null p-value when nothing to test.
 */
export function sampleRatioMismatch(observed: readonly number[], shares: readonly number[], threshold = SRM_P_THRESHOLD): SrmResult {
  const total = observed.reduce((sum, n) => sum + n, 0);
  let chiSquare = 0;
  let cells = 0;
  for (let i = 0; i < observed.length; i++) {
    const seen = observed[i] ?? 0;
    const share = shares[i] ?? 0;
    if (share <= 0) {
      if (seen > 0) return { chiSquare: null, df: observed.length - 1, pValue: 0, mismatch: true };
      continue;
    }
    cells++;
    if (total === 0) continue;
    const expected = total * share;
    chiSquare += ((seen - expected) * (seen - expected)) / expected;
  }
  const df = Math.max(cells - 1, 0);
  if (total === 0 || df < 1) return { chiSquare: total === 0 ? null : chiSquare, df, pValue: null, mismatch: false };
  const pValue = chiSquareSurvival(chiSquare, df);
  return { chiSquare, df, pValue, mismatch: pValue < threshold };
}
