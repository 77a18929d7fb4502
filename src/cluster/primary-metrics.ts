// Metrics only the cluster primary knows (live workers, restarts, failed scrapes), in the primary's own small
// registry that joins the workers' snapshots in every aggregated scrape. Never registers per-request series.
import { Counter, Gauge, Registry } from 'prom-client';

export const primaryRegistry = new Registry();

export const clusterWorkers = new Gauge({
  name: 'abproxy_cluster_workers',
  help: 'Workers that are listening, as seen by the cluster primary',
  registers: [primaryRegistry],
});

export const clusterWorkersConfigured = new Gauge({
  name: 'abproxy_cluster_workers_configured',
  help: 'Workers the cluster primary keeps running (--workers)',
  registers: [primaryRegistry],
});

export const clusterWorkerRestarts = new Counter({
  name: 'abproxy_cluster_worker_restarts_total',
  help: 'Workers that exited unexpectedly and were replaced by the cluster primary',
  registers: [primaryRegistry],
});

export const clusterScrapeFailures = new Counter({
  name: 'abproxy_cluster_scrape_failures_total',
  help: 'Aggregated scrapes that failed because a worker did not send its metrics in time',
  registers: [primaryRegistry],
});
