// A cluster worker's side of `serve --workers N`: slot 0 hosts the admin server on the configured address and
// serves /metrics aggregated by the primary; the other workers keep a private loopback admin port. Every
// worker answers the primary's requests for its registry snapshot, looks up feedback's request ids in the
// others (served-lookup.ts), and reloads when a weight change asks (reload-everywhere.ts). Never aggregates
// anything itself.
import cluster from 'node:cluster';
import type { AdminRoute } from '../admin/admin-server.js';
import type { ConfigReloader } from '../config/reload.js';
import type { RequestVariants } from '../feedback/request-variants.js';
import { registry } from '../metrics/registry.js';
import type { MetricsJson } from '../metrics/snapshot.js';
import type { Abproxy, StartOptions } from '../server/lifecycle.js';
import { sendJson } from '../server/respond.js';
import { isClusterMessage, METRICS_COLLECT, METRICS_PART, METRICS_REPLY, METRICS_REQUEST, WORKER_READY, type MetricsPart, type MetricsReply, type MetricsRequest, type WorkerReady } from './messages.js';
import { PendingReplies } from './pending-replies.js';
import { reloadAcrossWorkers } from './reload-everywhere.js';
import { servedAcrossWorkers } from './served-lookup.js';
import { currentShare, type Share } from './share.js';

export type WorkerIdentity = Share;

/** This process's place in the cluster, or undefined when it is not a cluster worker. */
export function workerIdentity(): WorkerIdentity | undefined {
  return cluster.isWorker ? currentShare() : undefined;
}

/**
 * Start options for a worker: only slot 0 binds the configured admin address (so stateful admin endpoints
 * such as feedback and the report live in one place), with /metrics and the report aggregated over every
 * worker; other workers bind a private loopback admin port of their own.
 */
export function workerStartOptions(identity: WorkerIdentity, metricsTimeoutMs = 5_000): Pick<StartOptions, 'adminRoutes' | 'adminListen' | 'metricsSource' | 'servedLookup' | 'reloadOthers'> {
  answerMetricsCollection();
  const everyWorker = { servedLookup: (local: RequestVariants) => servedAcrossWorkers(local), reloadOthers: (reloader: ConfigReloader) => reloadAcrossWorkers(identity, reloader) };
  if (identity.slot === 0) return { adminRoutes: [aggregatedMetricsRoute(metricsTimeoutMs)], metricsSource: () => clusterMetricsJson(metricsTimeoutMs), ...everyWorker };
  return { adminListen: { host: '127.0.0.1', port: 0, exclusive: true }, ...everyWorker };
}

/** Tells the primary this worker is listening. */
export function announceReady(identity: WorkerIdentity, proxy: Abproxy): void {
  const message: WorkerReady = {
    type: WORKER_READY,
    slot: identity.slot,
    dataPort: proxy.dataPlane.address.port,
    adminPort: proxy.admin.address.port,
  };
  process.send?.(message);
}

function answerMetricsCollection(): void {
  process.on('message', (message: unknown) => {
    if (!isClusterMessage(message) || message.type !== METRICS_COLLECT) return;
    const reply = (fields: Omit<MetricsPart, 'type' | 'id'>) => process.send?.({ type: METRICS_PART, id: message.id, ...fields } satisfies MetricsPart);
    registry.getMetricsAsJSON().then(
      (metrics) => reply({ metrics }),
      (error: unknown) => reply({ error: (error as Error).message }),
    );
  });
}

type Reply = Pick<MetricsReply, 'text' | 'metrics' | 'error'>;
const metricsReplies = new PendingReplies<Reply>();
let listening = false;

/** Asks the primary for every worker's metrics, merged; resolves with an error reply after timeoutMs. */
function askPrimary(format: MetricsRequest['format'], timeoutMs: number): Promise<Reply> {
  if (!listening) {
    listening = true;
    process.on('message', (message: unknown) => {
      if (isClusterMessage(message) && message.type === METRICS_REPLY) metricsReplies.settle(message.id, message);
    });
  }
  return metricsReplies.ask((id) => process.send?.({ type: METRICS_REQUEST, id, format } satisfies MetricsRequest), timeoutMs, {
    error: `the cluster primary did not answer within ${timeoutMs} ms`,
  });
}

/** Every worker's metrics merged, in prom-client's getMetricsAsJSON shape (for reports read from metrics). */
export async function clusterMetricsJson(timeoutMs: number): Promise<MetricsJson> {
  const reply = await askPrimary('json', timeoutMs);
  if (!reply.metrics) throw new Error(reply.error ?? 'no metrics');
  return reply.metrics as MetricsJson;
}

function aggregatedMetricsRoute(timeoutMs: number): AdminRoute {
  return {
    method: 'GET',
    path: '/metrics',
    handler: async (_req, res) => {
      const reply = await askPrimary('text', timeoutMs);
      if (reply.text === undefined) return sendJson(res, 503, { error: reply.error ?? 'no metrics', code: 'ABPROXY_METRICS_UNAVAILABLE' });
      res.writeHead(200, { 'content-type': registry.contentType });
      res.end(reply.text);
    },
  };
}
