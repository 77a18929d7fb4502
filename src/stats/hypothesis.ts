// Significance of a challenger's reward against the control: Welch's unequal-variance t-test for any
// rewards, and the pooled two-proportion z-test when every reward is 0 or 1. Pure.
import { normalTwoSided, studentTTwoSided } from './distributions.js';
import { sampleVariance, type RewardSummary } from './summary.js';

export interface WelchResult {
  t: number;
  /** Welch–Satterthwaite degrees of freedom */
  df: number;
  pValue: number;
}

export interface ZResult {
  z: number;
  pValue: number;
}

/** Welch's t-test of mean(b) - mean(a); null when either side has fewer than two rewards or no variance at all. */
export function welchTTest(a: RewardSummary, b: RewardSummary): WelchResult | null {
  const va = sampleVariance(a);
  const vb = sampleVariance(b);
  if (va === null || vb === null) return null;
  const sa = va / a.count;
  const sb = vb / b.count;
  const se2 = sa + sb;
  if (!(se2 > 0)) return null;
  const t = (b.sum / b.count - a.sum / a.count) / Math.sqrt(se2);
  const df = (se2 * se2) / ((sa * sa) / (a.count - 1) + (sb * sb) / (b.count - 1));
  return { t, df, pValue: studentTTwoSided(t, df) };
}

/** Pooled two-proportion z-test of p(b) - p(a), for 0/1 rewards (sum = successes). */
export function twoProportionZTest(a: RewardSummary, b: RewardSummary): ZResult | null {
  if (a.count < 1 || b.count < 1) return null;
  const pooled = (a.sum + b.sum) / (a.count + b.count);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / a.count + 1 / b.count));
  if (!(se > 0)) return null;
  const z = (b.sum / b.count - a.sum / a.count) / se;
  return { z, pValue: normalTwoSided(z) };
}
