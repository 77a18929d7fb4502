// Per-request accounting on the hot path. prom-client re-validates and re-hashes the labels on every
// inc()/observe(), even on a labels() child; here each series is resolved once to prom-client's value
// record and updated in place. Never throws into the request path, and never loses a count: records
// are re-resolved when a metric's table is replaced (reset), and an unexpected record shape (a
// prom-client upgrade) falls back to the public API, costing speed only.
import type { Counter, Histogram } from 'prom-client';
import { clientSendTimeoutsTotal, requestDuration, requestsTotal, unkeyedRequestsTotal, upstreamErrorsTotal, upstreamRetriesTotal } from './registry.js';
import type { UpstreamFailure } from '../http/errors.js';

type Labels = Record<string, string>;

interface CounterRecord {
  value: number;
}

interface HistogramRecord {
  sum: number;
  count: number;
  bucketValues: Record<number, number>;
}

/** prom-client's per-metric table of value records (labels hash -> record), if it still has one. */
function tableOf(metric: object): object | undefined {
  const table = (metric as { hashMap?: unknown }).hashMap;
  return table !== null && typeof table === 'object' ? table : undefined;
}

/** The value record whose labels are exactly `labels`, found by value (no reliance on the hash format). */
function findRecord(table: object, labels: Labels): Record<string, unknown> | undefined {
  const names = Object.keys(labels);
  for (const record of Object.values(table) as unknown[]) {
    if (record === null || typeof record !== 'object') continue;
    const own = (record as { labels?: unknown }).labels;
    if (own === null || typeof own !== 'object') continue;
    const ownLabels = own as Record<string, unknown>;
    if (Object.keys(ownLabels).length === names.length && names.every((name) => ownLabels[name] === labels[name])) return record as Record<string, unknown>;
  }
  return undefined;
}

class CounterSeries {
  #table: object | undefined;
  #record: CounterRecord | undefined;
  constructor(
    private readonly counter: Counter<string>,
    private readonly labels: Labels,
  ) {}

  inc(): void {
    if (this.#record !== undefined && tableOf(this.counter) === this.#table) {
      this.#record.value += 1;
      return;
    }
    this.counter.inc(this.labels); // the public API creates the record (or is all we use)
    this.#table = tableOf(this.counter);
    const record = this.#table && findRecord(this.#table, this.labels);
    this.#record = record && typeof record.value === 'number' ? (record as unknown as CounterRecord) : undefined;
  }
}

class HistogramSeries {
  #table: object | undefined;
  #record: HistogramRecord | undefined;
  /** Upper bounds of the finite buckets, ascending (the keys of the record's bucketValues). */
  #bounds: number[] = [];
  constructor(
    private readonly histogram: Histogram<string>,
    private readonly labels: Labels,
  ) {}

  observe(value: number): void {
    const record = this.#record;
    if (record !== undefined && tableOf(this.histogram) === this.#table && Number.isFinite(value)) {
      record.sum += value;
      record.count += 1;
      const bounds = this.#bounds;
      for (let i = 0; i < bounds.length; i++) {
        const bound = bounds[i] as number;
        if (value <= bound) {
          record.bucketValues[bound] = (record.bucketValues[bound] ?? 0) + 1;
          break;
        }
      }
      return;
    }
    this.histogram.observe(this.labels, value);
    this.#table = tableOf(this.histogram);
    const found = this.#table && findRecord(this.#table, this.labels);
    const valid = found && typeof found.sum === 'number' && typeof found.count === 'number' && found.bucketValues !== null && typeof found.bucketValues === 'object';
    this.#record = valid ? (found as unknown as HistogramRecord) : undefined;
    this.#bounds = this.#record ? Object.keys(this.#record.bucketValues).map(Number).sort((a, b) => a - b) : [];
  }
}

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
