// Series updated in place on the hot path. prom-client re-validates and re-hashes the labels on every
// inc()/observe(), even on a labels() child (~180 ns a counter, ~320 ns a histogram here); a series here is
// resolved once to prom-client's value record and updated in place. Never throws, and never loses a count:
// records are re-resolved when a metric's table is replaced (reset), and an unexpected record shape (a
// prom-client upgrade) falls back to the public API, costing speed only.
import type { Counter, Histogram } from 'prom-client';

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

export class CounterSeries {
  #table: object | undefined;
  #record: CounterRecord | undefined;
  constructor(
    private readonly counter: Counter<string>,
    private readonly labels: Labels,
  ) {}

  inc(by = 1): void {
    if (this.#record !== undefined && tableOf(this.counter) === this.#table) {
      this.#record.value += by;
      return;
    }
    this.counter.inc(this.labels, by); // the public API creates the record (or is all we use)
    this.#table = tableOf(this.counter);
    const record = this.#table && findRecord(this.#table, this.labels);
    this.#record = record && typeof record.value === 'number' ? (record as unknown as CounterRecord) : undefined;
  }
}

export class HistogramSeries {
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
