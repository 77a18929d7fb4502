// The experiment report of one route, computed from metric figures and the live route config:
// realized vs configured split, errors, latency quantiles, rewards with intervals and tests, SRM. Pure.
import type { RouteFigures, ShadowFigures, VariantFigures } from '../metrics/snapshot.js';
import type { CompiledRoute } from '../routing/route-table.js';
import { histogramQuantile } from '../stats/histogram-quantile.js';
import { twoProportionZTest, welchTTest } from '../stats/hypothesis.js';
import { sampleRatioMismatch, SRM_P_THRESHOLD, type SrmResult } from '../stats/srm.js';
import { mean, meanCi95 } from '../stats/summary.js';
import { verdict } from '../stats/verdict.js';

export interface VariantReport {
  name: string;
  weight: number;
  requests: number;
  /** Realized share of the route's requests */
  share: number | null;
  configuredShare: number;
  errorRate: number | null;
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
  feedback: number;
  rewardMean: number | null;
  rewardCi95: [number, number] | null;
  /** Relative difference of mean reward against the control (first variant): 0.041 is +4.1% */
  lift: number | null;
  /** Welch t-test of the reward difference against the control */
  pValue: number | null;
  /** Two-proportion z-test against the control, when every reward of both is 0 or 1 */
  zPValue: number | null;
}

export interface ShadowReport {
  name: string;
  comparisons: number;
  match: number;
  mismatch: number;
  incomparable: number;
  /** match / (match + mismatch) */
  agreementRate: number | null;
  dropped: number;
}

export interface Report {
  route: string;
  requests: number;
  variants: VariantReport[];
  srm: SrmResult & { threshold: number };
  shadows: ShadowReport[];
  verdict: string;
}

const EMPTY: VariantFigures = { requests: 0, errors: 0, latency: [], feedback: { count: 0, sum: 0, sumSquares: 0 }, nonBinaryRewards: 0 };

export function buildReport(route: CompiledRoute, figures: RouteFigures | undefined): Report {
  const of = (name: string) => figures?.variants.get(name) ?? EMPTY;
  const total = route.variants.reduce((sum, v) => sum + of(v.name).requests, 0);
  const control = route.variants[0] ? of(route.variants[0].name) : EMPTY;
  const variants = route.variants.map((variant, index): VariantReport => {
    const f = of(variant.name);
    const ms = (q: number) => {
      const seconds = histogramQuantile(q, f.latency);
      return seconds === null ? null : seconds * 1000;
    };
    const againstControl = index > 0;
    const controlMean = mean(control.feedback);
    const ownMean = mean(f.feedback);
    const binary = control.nonBinaryRewards === 0 && f.nonBinaryRewards === 0;
    return {
      name: variant.name,
      weight: variant.weight,
      requests: f.requests,
      share: total > 0 ? f.requests / total : null,
      configuredShare: variant.share,
      errorRate: f.requests > 0 ? f.errors / f.requests : null,
      p50Ms: ms(0.5),
      p95Ms: ms(0.95),
      p99Ms: ms(0.99),
      feedback: f.feedback.count,
      rewardMean: ownMean,
      rewardCi95: meanCi95(f.feedback),
      lift: againstControl && ownMean !== null && controlMean !== null && controlMean !== 0 ? (ownMean - controlMean) / Math.abs(controlMean) : null,
      pValue: againstControl ? (welchTTest(control.feedback, f.feedback)?.pValue ?? null) : null,
      zPValue: againstControl && binary ? (twoProportionZTest(control.feedback, f.feedback)?.pValue ?? null) : null,
    };
  });
  const srm = {
    ...sampleRatioMismatch(
      variants.map((v) => v.requests),
      variants.map((v) => v.configuredShare),
    ),
    threshold: SRM_P_THRESHOLD,
  };
  const shadows = route.shadows.map((s) => shadowReport(s.config.name, figures?.shadows.get(s.config.name)));
  return { route: route.name, requests: total, variants, srm, shadows, verdict: verdict(variants, srm) };
}

function shadowReport(name: string, f: ShadowFigures | undefined): ShadowReport {
  const match = f?.results.match ?? 0;
  const mismatch = f?.results.mismatch ?? 0;
  const incomparable = f?.results.incomparable ?? 0;
  return {
    name,
    comparisons: match + mismatch + incomparable,
    match,
    mismatch,
    incomparable,
    agreementRate: match + mismatch > 0 ? match / (match + mismatch) : null,
    dropped: f?.outcomes.dropped ?? 0,
  };
}
