// The IPC vocabulary between the cluster primary and its workers: plain JSON objects tagged by `type`.
// Never carries request data: only readiness, metric snapshots, and which route and variant served a
// request id (for feedback), each exchange tagged with an id of its own.
export const WORKER_READY = 'abproxy:worker-ready';
export const METRICS_REQUEST = 'abproxy:metrics-request';
export const METRICS_REPLY = 'abproxy:metrics-reply';
export const METRICS_COLLECT = 'abproxy:metrics-collect';
export const METRICS_PART = 'abproxy:metrics-part';
export const SERVED_LOOKUP = 'abproxy:served-lookup';
export const SERVED_QUERY = 'abproxy:served-query';
export const SERVED_ANSWER = 'abproxy:served-answer';
export const SERVED_REPLY = 'abproxy:served-reply';

/** Worker -> primary: the data plane and the admin server (shared in slot 0, private elsewhere) are listening. */
export interface WorkerReady {
  type: typeof WORKER_READY;
  slot: number;
  dataPort: number;
  adminPort: number;
}

/** Admin worker -> primary: send me the metrics of every worker, aggregated, as exposition text or JSON. */
export interface MetricsRequest {
  type: typeof METRICS_REQUEST;
  id: number;
  format: 'text' | 'json';
}

/** Primary -> admin worker: the aggregated metrics (text, or prom-client getMetricsAsJSON), or why there are none. */
export interface MetricsReply {
  type: typeof METRICS_REPLY;
  id: number;
  text?: string;
  metrics?: object[];
  error?: string;
}

/** Primary -> every ready worker: send your registry as JSON. */
export interface MetricsCollect {
  type: typeof METRICS_COLLECT;
  id: number;
}

/** Worker -> primary: one worker's registry snapshot (prom-client getMetricsAsJSON). */
export interface MetricsPart {
  type: typeof METRICS_PART;
  id: number;
  metrics?: object[];
  error?: string;
}

/** Worker -> primary: which route and variant served this request id? (This worker did not.) */
export interface ServedLookup {
  type: typeof SERVED_LOOKUP;
  id: number;
  requestId: string;
}

/** Primary -> every other ready worker: did you serve this request id? */
export interface ServedQuery {
  type: typeof SERVED_QUERY;
  id: number;
  requestId: string;
}

/** Worker -> primary: the route and variant that served the queried id here, or none. */
export interface ServedAnswer {
  type: typeof SERVED_ANSWER;
  id: number;
  servedBy?: { route: string; variant: string };
}

/** Primary -> the asking worker: the first answer that names a route and variant, or none. */
export interface ServedReply {
  type: typeof SERVED_REPLY;
  id: number;
  servedBy?: { route: string; variant: string };
}

export type ClusterMessage = WorkerReady | MetricsRequest | MetricsReply | MetricsCollect | MetricsPart | ServedLookup | ServedQuery | ServedAnswer | ServedReply;

export function isClusterMessage(value: unknown): value is ClusterMessage {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string' && (value as { type: string }).type.startsWith('abproxy:');
}

/** Environment a worker is forked with: its stable slot (0 hosts the admin server) and the worker count. */
export const SLOT_ENV = 'ABPROXY_WORKER_SLOT';
export const COUNT_ENV = 'ABPROXY_WORKER_COUNT';
