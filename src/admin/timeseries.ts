// Short live time series per route and variant (requests/s, error rate, p50/p99 latency, realized split,
// shadow agreement), sampled from the metrics registry into bounded ring buffers. Off the request path:
// it only reads counters on a timer and never touches a request.
import { requestDuration, requestsTotal, shadowComparisonsTotal } from '../metrics/registry.js';
import { histogramQuantile, type CumulativeBucket } from './histogram-quantile.js';
import { RingBuffer } from './ring-buffer.js';
import type { Runtime } from '../server/runtime.js';

/** The part of the live config the series follow; the sampler reads it afresh on every tick. */
export interface SeriesSource {
  generation: number;
  routes: readonly { name: string; variants: readonly { name: string; weight: number }[]; shadows: readonly string[] }[];
}

/** The series source of one live generation: routes in config order, with weights and shadow names. */
export function seriesSourceOf(runtime: Runtime): SeriesSource {
  return {
    generation: runtime.generation,
    routes: runtime.config.routes.map((r) => ({ name: r.name, variants: r.variants, shadows: r.shadows.map((s) => s.name) })),
  };
}

export interface VariantPoint {
  name: string;
  /** Requests answered in the interval, any status. */
  requests: number;
  rps: number | null;
  /** Share of the interval's requests answered with a 5xx status. */
  errorRate: number | null;
  p50Ms: number | null;
  p99Ms: number | null;
  /** Realized split: this variant's share of the route's requests in the interval. */
  share: number | null;
  configuredShare: number;
}

export interface ShadowPoint {
  name: string;
  /** Comparisons with a verdict (match or mismatch) in the interval. */
  compared: number;
  agreement: number | null;
}

export interface SeriesPoint {
  /** Epoch milliseconds at the end of the interval. */
  t: number;
  generation: number;
  variants: VariantPoint[];
  shadows: ShadowPoint[];
}

export interface TimeSeriesOptions {
  intervalMs?: number;
  /** Points kept per route (default 300: five minutes at one per second). */
  capacity?: number;
  clock?: () => number;
}

interface VariantTotals {
  requests: number;
  errors: number;
  buckets: CumulativeBucket[];
}

interface ShadowTotals {
  match: number;
  mismatch: number;
}

interface Totals {
  at: number;
  variants: Map<string, VariantTotals>;
  shadows: Map<string, ShadowTotals>;
}

const EMPTY_VARIANT: VariantTotals = { requests: 0, errors: 0, buckets: [] };
const EMPTY_SHADOW: ShadowTotals = { match: 0, mismatch: 0 };

export class TimeSeries {
  readonly intervalMs: number;
  readonly capacity: number;
  readonly #source: () => SeriesSource;
  readonly #clock: () => number;
  readonly #rings = new Map<string, RingBuffer<SeriesPoint>>();
  #previous: Totals | undefined;
  #timer: NodeJS.Timeout | undefined;
  #busy = false;
  /** Bounds and failures, reported in the JSON: points overwritten, ticks skipped or failed. */
  readonly counters = { samples: 0, evictedPoints: 0, skippedSamples: 0, failedSamples: 0 };

  constructor(source: () => SeriesSource, options: TimeSeriesOptions = {}) {
    this.#source = source;
    this.intervalMs = options.intervalMs ?? 1_000;
    this.capacity = options.capacity ?? 300;
    this.#clock = options.clock ?? Date.now;
  }

  /** Samples every intervalMs until stop(); a tick still running when the next is due is skipped and counted. */
  start(onError: (error: unknown) => void): void {
    if (this.#timer) return;
    const tick = (): void => {
      if (this.#busy) {
        this.counters.skippedSamples++;
        return;
      }
      this.#busy = true;
      this.sample()
        .catch((error: unknown) => {
          this.counters.failedSamples++;
          onError(error);
        })
        .finally(() => {
          this.#busy = false;
        });
    };
    tick();
    this.#timer = setInterval(tick, this.intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Reads the registry once and appends one point per configured route (the first call only sets the baseline). */
  async sample(): Promise<void> {
    const totals = await readTotals(this.#clock());
    const source = this.#source();
    const previous = this.#previous;
    this.#previous = totals;
    const live = new Set(source.routes.map((r) => r.name));
    for (const name of this.#rings.keys()) if (!live.has(name)) this.#rings.delete(name);
    if (!previous) return;
    const seconds = (totals.at - previous.at) / 1000;
    for (const route of source.routes) {
      const point = buildPoint(route, source.generation, totals, previous, seconds);
      let ring = this.#rings.get(route.name);
      if (!ring) {
        ring = new RingBuffer<SeriesPoint>(this.capacity);
        this.#rings.set(route.name, ring);
      }
      if (ring.size === ring.capacity) this.counters.evictedPoints++;
      ring.push(point);
    }
    this.counters.samples++;
  }

  /** The newest `limit` points of one route, oldest first. */
  points(route: string, limit?: number): SeriesPoint[] {
    return this.#rings.get(route)?.toArray(limit) ?? [];
  }
}

function buildPoint(route: SeriesSource['routes'][number], generation: number, now: Totals, before: Totals, seconds: number): SeriesPoint {
  const totalWeight = route.variants.reduce((sum, v) => sum + v.weight, 0);
  const deltas = route.variants.map((v) => {
    const id = seriesId(route.name, v.name);
    return { variant: v, delta: variantDelta(now.variants.get(id) ?? EMPTY_VARIANT, before.variants.get(id) ?? EMPTY_VARIANT) };
  });
  const routeRequests = deltas.reduce((sum, d) => sum + d.delta.requests, 0);
  const variants = deltas.map(({ variant, delta }): VariantPoint => {
    const p50 = histogramQuantile(0.5, delta.buckets);
    const p99 = histogramQuantile(0.99, delta.buckets);
    return {
      name: variant.name,
      requests: delta.requests,
      rps: seconds > 0 ? delta.requests / seconds : null,
      errorRate: delta.requests > 0 ? delta.errors / delta.requests : null,
      p50Ms: p50 === null ? null : p50 * 1000,
      p99Ms: p99 === null ? null : p99 * 1000,
      share: routeRequests > 0 ? delta.requests / routeRequests : null,
      configuredShare: totalWeight > 0 ? variant.weight / totalWeight : 0,
    };
  });
  const shadows = route.shadows.map((name): ShadowPoint => {
    const id = seriesId(route.name, name);
    const cur = now.shadows.get(id) ?? EMPTY_SHADOW;
    const prev = before.shadows.get(id) ?? EMPTY_SHADOW;
    const reset = cur.match < prev.match || cur.mismatch < prev.mismatch;
    const match = reset ? cur.match : cur.match - prev.match;
    const compared = match + (reset ? cur.mismatch : cur.mismatch - prev.mismatch);
    return { name, compared, agreement: compared > 0 ? match / compared : null };
  });
  return { t: now.at, generation, variants, shadows };
}

/** Counts in the interval; a counter that went down was reset, so its current value is the delta. */
function variantDelta(cur: VariantTotals, prev: VariantTotals): VariantTotals {
  const prevByLe = new Map(prev.buckets.map((b) => [b.le, b.count]));
  const reset = cur.requests < prev.requests || cur.buckets.some((b) => b.count < (prevByLe.get(b.le) ?? 0));
  if (reset) return cur;
  return {
    requests: cur.requests - prev.requests,
    errors: cur.errors - prev.errors,
    buckets: cur.buckets.map((b) => ({ le: b.le, count: b.count - (prevByLe.get(b.le) ?? 0) })),
  };
}

function seriesId(route: string, name: string): string {
  return `${route}\u0000${name}`;
}

async function readTotals(at: number): Promise<Totals> {
  const variants = new Map<string, VariantTotals>();
  const variantTotals = (route: unknown, variant: unknown): VariantTotals => {
    const id = seriesId(String(route), String(variant));
    let found = variants.get(id);
    if (!found) {
      found = { requests: 0, errors: 0, buckets: [] };
      variants.set(id, found);
    }
    return found;
  };
  for (const { labels, value } of (await requestsTotal.get()).values) {
    const totals = variantTotals(labels.route, labels.variant);
    totals.requests += value;
    if (Number(labels.code) >= 500) totals.errors += value;
  }
  for (const { labels, value, metricName } of (await requestDuration.get()).values) {
    if (!metricName?.endsWith('_bucket')) continue;
    const bound = (labels as { le?: string | number }).le;
    const le = bound === '+Inf' ? Infinity : Number(bound);
    variantTotals(labels.route, labels.variant).buckets.push({ le, count: value });
  }
  for (const totals of variants.values()) totals.buckets.sort((a, b) => a.le - b.le);

  const shadows = new Map<string, ShadowTotals>();
  for (const { labels, value } of (await shadowComparisonsTotal.get()).values) {
    if (labels.result !== 'match' && labels.result !== 'mismatch') continue;
    const id = seriesId(String(labels.route), String(labels.shadow));
    const totals = shadows.get(id) ?? { match: 0, mismatch: 0 };
    totals[labels.result] += value;
    shadows.set(id, totals);
  }
  return { at, variants, shadows };
}
