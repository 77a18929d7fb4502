// Creates every known label set at zero, so each series exists before its first event (rates and
// absent() behave, and dashboards show 0 rather than "no data"). Shadow series belong to the shadow module.
import type { UpstreamFailure } from '../http/errors.js';
import type { Runtime } from '../server/runtime.js';
import {
  clientSendTimeoutsTotal,
  configReloadsTotal,
  feedbackNonBinaryTotal,
  feedbackRejectedTotal,
  feedbackReward,
  feedbackRewardSquares,
  requestDuration,
  requestsTotal,
  unkeyedRequestsTotal,
  upstreamErrorsTotal,
  upstreamRetriesTotal,
  websocketConnections,
} from './registry.js';

/** Statuses a variant commonly answers with; others appear on first use. */
export const COMMON_VARIANT_CODES = ['200', '400', '404', '429', '500', '502', '503', '504'] as const;
/** Statuses the proxy answers itself before a route or variant is chosen. */
export const UNROUTED_CODES = ['400', '404', '408', '413', '414', '431', '503'] as const;
export const UPSTREAM_FAILURES: readonly UpstreamFailure[] = ['refused', 'reset', 'timeout', 'invalid', 'other'];
export const FEEDBACK_REJECTIONS = ['bad_request', 'too_large', 'unknown_route', 'unknown_variant', 'unknown_request_id'] as const;

/** Idempotent: adding 0 to an existing series changes nothing, so it runs again on every config swap. */
export function createKnownSeries(runtime: Runtime): void {
  for (const result of ['success', 'rejected']) configReloadsTotal.inc({ result }, 0);
  for (const reason of FEEDBACK_REJECTIONS) feedbackRejectedTotal.inc({ reason }, 0);
  for (const code of UNROUTED_CODES) requestsTotal.inc({ route: 'none', variant: 'none', code }, 0);
  clientSendTimeoutsTotal.inc({ route: 'none' }, 0); // local models' own endpoints answer outside routes
  for (const route of runtime.routes.routes) {
    unkeyedRequestsTotal.inc({ route: route.name }, 0);
    clientSendTimeoutsTotal.inc({ route: route.name }, 0);
    for (const { name: variant } of route.variants) {
      const labels = { route: route.name, variant };
      for (const code of COMMON_VARIANT_CODES) requestsTotal.inc({ ...labels, code }, 0);
      for (const reason of UPSTREAM_FAILURES) upstreamErrorsTotal.inc({ ...labels, reason }, 0);
      upstreamRetriesTotal.inc(labels, 0);
      if (route.config.websocket) websocketConnections.inc(labels, 0);
      requestDuration.zero(labels);
      feedbackReward.zero(labels);
      feedbackRewardSquares.inc(labels, 0);
      feedbackNonBinaryTotal.inc(labels, 0);
    }
  }
}
