// The IPC vocabulary between the cluster primary and its workers: plain JSON objects tagged by `type`.
// Never carries request data: only readiness, metric snapshots, and workers' questions to each other (which
// route and variant served a request id; reload the config), each exchange tagged with an id of its own.
export const WORKER_READY = 'abproxy:worker-ready';
export const METRICS_REQUEST = 'abproxy:metrics-request';
export const METRICS_REPLY = 'abproxy:metrics-reply';
export const METRICS_COLLECT = 'abproxy:metrics-collect';
export const METRICS_PART = 'abproxy:metrics-part';
export const FANOUT_ASK = 'abproxy:fanout-ask';
export const FANOUT_QUESTION = 'abproxy:fanout-question';
export const FANOUT_ANSWER = 'abproxy:fanout-answer';
export const FANOUT_REPLY = 'abproxy:fanout-reply';

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

/** What one worker asks all the others (fanout.ts): which route and variant served a request id; reload the config file. */
export type WorkerQuestion = { kind: 'served'; requestId: string } | { kind: 'reload' };

/** Worker -> primary: put this question to every other worker; reply with the first answer or all of them, by timeoutMs. */
export interface FanoutAsk {
  type: typeof FANOUT_ASK;
  id: number;
  question: WorkerQuestion;
  first: boolean;
  timeoutMs: number;
}

/** Primary -> every other listening worker: the question. */
export interface FanoutQuestion {
  type: typeof FANOUT_QUESTION;
  id: number;
  question: WorkerQuestion;
}

/** Worker -> primary: this worker's answer, or none, and its slot (so the asker learns who did not answer). */
export interface FanoutAnswer {
  type: typeof FANOUT_ANSWER;
  id: number;
  slot: number;
  answer?: unknown;
}

/** Primary -> the asking worker: the answers that arrived, and the slots of the workers that answered (with or without an answer). */
export interface FanoutReply {
  type: typeof FANOUT_REPLY;
  id: number;
  answers: unknown[];
  answered: number[];
}

export type ClusterMessage = WorkerReady | MetricsRequest | MetricsReply | MetricsCollect | MetricsPart | FanoutAsk | FanoutQuestion | FanoutAnswer | FanoutReply;

export function isClusterMessage(value: unknown): value is ClusterMessage {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string' && (value as { type: string }).type.startsWith('abproxy:');
}

/** Environment a worker is forked with: its stable slot (0 hosts the admin server) and the worker count. */
export const SLOT_ENV = 'ABPROXY_WORKER_SLOT';
export const COUNT_ENV = 'ABPROXY_WORKER_COUNT';
