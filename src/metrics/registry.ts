// The one prom-client registry and every abproxy_* metric definition. Labels never carry user keys.
// Other modules import the metric objects from here; none of them creates metrics of its own.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export const registry = new Registry();

/**
 * Latency buckets from 0.25 ms to 60 s: about three per decade, so both a 1 ms local model
 * (0.5/1/2 ms around it) and a 2 s LLM call (1/2/4 s around it) get quantiles within one bucket.
 */
export const LATENCY_BUCKETS = [0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60];

export const requestsTotal = new Counter({
  name: 'abproxy_requests_total',
  help: 'Requests answered, by route, variant and HTTP status code',
  labelNames: ['route', 'variant', 'code'] as const,
  registers: [registry],
});

export const requestDuration = new Histogram({
  name: 'abproxy_request_duration_seconds',
  help: 'Time from request start to the last response byte, by route and variant',
  labelNames: ['route', 'variant'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [registry],
});

export const upstreamErrorsTotal = new Counter({
  name: 'abproxy_upstream_errors_total',
  help: 'Upstream failures by route, variant and reason (refused, reset, timeout, invalid, other)',
  labelNames: ['route', 'variant', 'reason'] as const,
  registers: [registry],
});

export const upstreamRetriesTotal = new Counter({
  name: 'abproxy_upstream_retries_total',
  help: 'Requests sent to a variant again after its upstream connection was reset before any answer',
  labelNames: ['route', 'variant'] as const,
  registers: [registry],
});

export const clientSendTimeoutsTotal = new Counter({
  name: 'abproxy_client_send_timeouts_total',
  help: 'Answers cut off because the client took none of them for limits.sendTimeoutMs while they waited to be sent, by route ("none": no route)',
  labelNames: ['route'] as const,
  registers: [registry],
});

export const http2StreamsRefusedTotal = new Counter({
  name: 'abproxy_http2_streams_refused_total',
  help: "HTTP/2 client streams node reset before abproxy's handler saw them: header lists over twice maxHeaderBytes once SETTINGS are acknowledged (ENHANCE_YOUR_CALM); node does not say why, so streams over maxConcurrentStreams or with malformed fields count here too",
  registers: [registry],
});

export const websocketConnections = new Gauge({
  name: 'abproxy_websocket_connections',
  help: 'WebSocket connections open through the proxy, by route and variant',
  labelNames: ['route', 'variant'] as const,
  registers: [registry],
});

export const upgradeFailuresTotal = new Counter({
  name: 'abproxy_upgrade_failures_total',
  help: 'Upgrade requests whose handling threw (a bug): the connection was destroyed and the error logged',
  registers: [registry],
});

export const unkeyedRequestsTotal = new Counter({
  name: 'abproxy_unkeyed_requests_total',
  help: 'Requests with no sticky key, assigned at random by weight',
  labelNames: ['route'] as const,
  registers: [registry],
});

export const variantWeight = new Gauge({
  name: 'abproxy_variant_weight',
  help: 'Live configured weight of each variant',
  labelNames: ['route', 'variant'] as const,
  registers: [registry],
});

export const shadowRequestsTotal = new Counter({
  name: 'abproxy_shadow_requests_total',
  help: 'Shadow copies by outcome (ok, error, timeout, dropped)',
  labelNames: ['route', 'shadow', 'outcome'] as const,
  registers: [registry],
});

export const shadowDuration = new Histogram({
  name: 'abproxy_shadow_duration_seconds',
  help: 'Shadow request latency',
  labelNames: ['route', 'shadow'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [registry],
});

export const shadowComparisonsTotal = new Counter({
  name: 'abproxy_shadow_comparisons_total',
  help: 'Shadow answers compared with the primary answer, by result (match, mismatch, incomparable)',
  labelNames: ['route', 'shadow', 'result'] as const,
  registers: [registry],
});

export const logLinesDroppedTotal = new Counter({
  name: 'abproxy_log_lines_dropped_total',
  help: 'Log lines dropped because stdout was not read and log.maxBufferBytes of lines already waited',
  registers: [registry],
});

export const shadowLogRecordsTotal = new Counter({
  name: 'abproxy_shadow_log_records_total',
  help: 'Shadow log records by result (written; dropped when the disk is slow, the record too large or a write failed)',
  labelNames: ['result'] as const,
  registers: [registry],
});

export const configReloadsTotal = new Counter({
  name: 'abproxy_config_reloads_total',
  help: 'Config reloads by result (success, rejected)',
  labelNames: ['result'] as const,
  registers: [registry],
});

export const configGeneration = new Gauge({
  name: 'abproxy_config_generation',
  help: 'Generation number of the live config (1 at start, +1 per applied reload)',
  registers: [registry],
});

export const clusterAnswersMissedTotal = new Counter({
  name: 'abproxy_cluster_answers_missed_total',
  help: 'Answers a cluster worker needed from another worker and did not get within the bound, by question (reload: a weight change that worker may not have applied; served: a feedback request-id lookup that may have missed the worker that served the id)',
  labelNames: ['question'] as const,
  registers: [registry],
});

export const feedbackReward = new Histogram({
  name: 'abproxy_feedback_reward',
  help: 'Rewards received through feedback, by route and variant',
  labelNames: ['route', 'variant'] as const,
  buckets: [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1],
  registers: [registry],
});

export const feedbackRewardSquares = new Gauge({
  name: 'abproxy_feedback_reward_squares',
  help: 'Sum of squared rewards, by route and variant (for variances)',
  labelNames: ['route', 'variant'] as const,
  registers: [registry],
});

export const feedbackNonBinaryTotal = new Counter({
  name: 'abproxy_feedback_nonbinary_total',
  help: 'Rewards other than exactly 0 or 1, by route and variant (0 means the two-proportion z-test applies)',
  labelNames: ['route', 'variant'] as const,
  registers: [registry],
});

export const feedbackRejectedTotal = new Counter({
  name: 'abproxy_feedback_rejected_total',
  help: 'Feedback refused, by reason (bad_request, too_large, unknown_route, unknown_variant, unknown_request_id)',
  labelNames: ['reason'] as const,
  registers: [registry],
});

export const feedbackRequestIdsEvictedTotal = new Counter({
  name: 'abproxy_feedback_request_ids_evicted_total',
  help: 'Request ids dropped from the bounded request-id -> variant cache before any feedback named them',
  registers: [registry],
});

export const modelInferenceDuration = new Histogram({
  name: 'abproxy_model_inference_duration_seconds',
  help: 'Time of one ONNX Runtime run of a local model (a batch counts once)',
  labelNames: ['model'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [registry],
});

export const modelBatchSize = new Histogram({
  name: 'abproxy_model_batch_size',
  help: 'Requests merged into one run of a local model',
  labelNames: ['model'] as const,
  buckets: [1, 2, 4, 8, 16, 32, 64, 128],
  registers: [registry],
});

export const modelReloadsTotal = new Counter({
  name: 'abproxy_model_reloads_total',
  help: 'Local model (re)loads after start-up, by model and result (success, failed)',
  labelNames: ['model', 'result'] as const,
  registers: [registry],
});

export const modelRejectedTotal = new Counter({
  name: 'abproxy_model_rejected_total',
  help: 'Local model runs refused because the worker pool queue was full',
  labelNames: ['model'] as const,
  registers: [registry],
});

collectDefaultMetrics({ register: registry, prefix: '' });
// Gauges named *_total break the exposition-format rules `promtool check metrics` enforces.
for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) registry.removeSingleMetric(name);
