// Reads metrics back into per-route, per-variant figures (requests by code, latency buckets, reward
// sums, shadow outcomes) for the report and status views, from this process's registry or from any
// source of the same JSON (a cluster's merged registries). Read-only: never changes a metric.
import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import type { Bucket } from '../stats/histogram-quantile.js';
import type { RewardSummary } from '../stats/summary.js';
import { registry } from './registry.js';

/** Metrics as prom-client's getMetricsAsJSON() gives them (also what AggregatorRegistry merges). */
export type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];
export type MetricsSource = () => Promise<MetricsJson>;

/** This process's registry. */
export const localMetrics: MetricsSource = () => registry.getMetricsAsJSON();

export interface VariantFigures {
  requests: number;
  /** Answers with a 5xx status */
  errors: number;
  latency: Bucket[];
  feedback: RewardSummary;
  nonBinaryRewards: number;
}

export interface ShadowFigures {
  /** Copies by outcome: ok, error, timeout, dropped */
  outcomes: Record<string, number>;
  /** Comparisons by result: match, mismatch, incomparable */
  results: Record<string, number>;
}

export interface RouteFigures {
  variants: Map<string, VariantFigures>;
  shadows: Map<string, ShadowFigures>;
}

type Labels = Partial<Record<string, string | number>>;
type MetricValueWithName = MetricValue<string> & { metricName?: string };

export async function readSnapshot(source: MetricsSource = localMetrics): Promise<Map<string, RouteFigures>> {
  const routes = new Map<string, RouteFigures>();
  const routeOf = (name: string): RouteFigures => {
    let found = routes.get(name);
    if (!found) routes.set(name, (found = { variants: new Map(), shadows: new Map() }));
    return found;
  };
  const variantOf = (labels: Labels): VariantFigures => {
    const figures = routeOf(String(labels.route)).variants;
    const name = String(labels.variant);
    let found = figures.get(name);
    if (!found) figures.set(name, (found = { requests: 0, errors: 0, latency: [], feedback: { count: 0, sum: 0, sumSquares: 0 }, nonBinaryRewards: 0 }));
    return found;
  };
  const shadowOf = (labels: Labels): ShadowFigures => {
    const figures = routeOf(String(labels.route)).shadows;
    const name = String(labels.shadow);
    let found = figures.get(name);
    if (!found) figures.set(name, (found = { outcomes: {}, results: {} }));
    return found;
  };

  const metrics = new Map((await source()).map((metric) => [metric.name, metric.values]));
  const valuesOf = (name: string): MetricValue<string>[] => metrics.get(name) ?? [];
  for (const { labels, value } of valuesOf('abproxy_requests_total')) {
    if (labels.route === 'none') continue;
    const v = variantOf(labels);
    v.requests += value;
    if (Number(labels.code) >= 500) v.errors += value;
  }
  for (const { labels, value, metricName } of valuesOf('abproxy_request_duration_seconds') as MetricValueWithName[]) {
    if (labels.route === 'none' || !metricName?.endsWith('_bucket')) continue;
    const le = labels.le;
    variantOf(labels).latency.push({ le: le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le), count: value });
  }
  for (const figures of routes.values()) for (const v of figures.variants.values()) v.latency.sort((a, b) => a.le - b.le);
  for (const { labels, value, metricName } of valuesOf('abproxy_feedback_reward') as MetricValueWithName[]) {
    if (metricName?.endsWith('_count')) variantOf(labels).feedback.count = value;
    else if (metricName?.endsWith('_sum')) variantOf(labels).feedback.sum = value;
  }
  for (const { labels, value } of valuesOf('abproxy_feedback_reward_squares')) variantOf(labels).feedback.sumSquares = value;
  for (const { labels, value } of valuesOf('abproxy_feedback_nonbinary_total')) variantOf(labels).nonBinaryRewards = value;
  for (const { labels, value } of valuesOf('abproxy_shadow_requests_total')) {
    const s = shadowOf(labels);
    const outcome = String(labels.outcome);
    s.outcomes[outcome] = (s.outcomes[outcome] ?? 0) + value;
  }
  for (const { labels, value } of valuesOf('abproxy_shadow_comparisons_total')) {
    const s = shadowOf(labels);
    const result = String(labels.result);
    s.results[result] = (s.results[result] ?? 0) + value;
  }
  return routes;
}
