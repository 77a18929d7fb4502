// The primary's side of /metrics with several workers: asks every listening worker for its registry as JSON,
// then merges the snapshots with prom-client's AggregatorRegistry. Bounded by a timeout; never waits forever.
import type { Worker } from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';
import { METRICS_COLLECT, type MetricsCollect, type MetricsPart } from './messages.js';
import { clusterScrapeFailures, primaryRegistry } from './primary-metrics.js';

/**
 * How a gauge combines across workers. Counters and histograms add up (prom-client's default, "sum");
 * a gauge that states configuration is the same in every worker, so it is taken once, not multiplied.
 */
const GAUGE_AGGREGATORS: Readonly<Record<string, string>> = {
  abproxy_config_generation: 'max',
  abproxy_variant_weight: 'max',
};

interface Pending {
  parts: object[][];
  waiting: Set<number>;
  resolve: (merged: Registry) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

export class MetricsGatherer {
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;

  constructor(private readonly timeoutMs: number) {}

  /** The registries of every worker in `workers` plus the primary's own metrics, merged. */
  gather(workers: readonly Worker[]): Promise<Registry> {
    const id = this.#nextId++;
    return new Promise<Registry>((resolve, reject) => {
      const timer = setTimeout(() => this.#fail(id, new Error(`metrics from ${this.#pending.get(id)?.waiting.size ?? 0} worker(s) did not arrive within ${this.timeoutMs} ms`)), this.timeoutMs);
      const pending: Pending = { parts: [], waiting: new Set(), resolve, reject, timer };
      this.#pending.set(id, pending);
      const message: MetricsCollect = { type: METRICS_COLLECT, id };
      for (const worker of workers) {
        if (!worker.isConnected()) continue;
        pending.waiting.add(worker.id);
        worker.send(message, (error: Error | null) => {
          if (error) this.forget(worker.id);
        });
      }
      this.#settleIfComplete(id);
    });
  }

  /** A worker's snapshot arrived. */
  onPart(worker: Worker, part: MetricsPart): void {
    const pending = this.#pending.get(part.id);
    if (!pending || !pending.waiting.delete(worker.id)) return;
    if (part.error !== undefined || !part.metrics) {
      this.#fail(part.id, new Error(`worker ${worker.id} could not collect its metrics: ${part.error ?? 'no data'}`));
      return;
    }
    pending.parts.push(part.metrics);
    this.#settleIfComplete(part.id);
  }

  /** A worker exited: scrapes in progress stop waiting for it (its counters leave the sum, as after a restart). */
  forget(workerId: number): void {
    for (const [id, pending] of this.#pending) {
      if (pending.waiting.delete(workerId)) this.#settleIfComplete(id);
    }
  }

  #settleIfComplete(id: number): void {
    const pending = this.#pending.get(id);
    if (!pending || pending.waiting.size > 0) return;
    this.#pending.delete(id);
    clearTimeout(pending.timer);
    primaryRegistry
      .getMetricsAsJSON()
      .then(
        (own) => pending.resolve(aggregate([...pending.parts, own])),
        (error: unknown) => pending.reject(error as Error),
      );
  }

  #fail(id: number, error: Error): void {
    const pending = this.#pending.get(id);
    if (!pending) return;
    this.#pending.delete(id);
    clearTimeout(pending.timer);
    clusterScrapeFailures.inc();
    pending.reject(error);
  }
}

/** Merges registry snapshots (one per process) into one registry, with configuration gauges taken once. */
export function aggregate(snapshots: readonly object[][]): Registry {
  const adjusted = snapshots.map((metrics) =>
    metrics.map((metric) => {
      const { name } = metric as { name: string };
      const aggregator = GAUGE_AGGREGATORS[name];
      return aggregator ? { ...metric, aggregator } : metric;
    }),
  );
  return AggregatorRegistry.aggregate(adjusted);
}
