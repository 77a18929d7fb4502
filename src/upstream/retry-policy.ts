// When a failed upstream exchange is sent again, as NGINX's proxy_next_upstream and Go's http.Transport
// decide it: only while nothing of the answer has reached the client, only after the connection was
// reset or closed under the request (the stale keep-alive race: the upstream closes an idle connection
// as a request is written to it), only when the body can be sent again (none, or read whole), and only
// for a method that is idempotent (RFC 9110 §9.2.2), a request with an Idempotency-Key, or a route
// whose retry.nonIdempotent allows it. Timeouts and refused connections are never retried. Pure.
import { classifyTransportError } from '../http/errors.js';
import type { RouteConfig } from '../config/schema.js';

/** RFC 9110 §9.2.2: the methods whose repetition has the effect of one request. */
const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

export interface RetryRequest {
  method: string;
  /** The request carries Idempotency-Key (draft-ietf-httpapi-idempotency-key-header), so the client says it may be repeated. */
  idempotencyKey: boolean;
  /** The body can be sent again: there is none, or it was read whole. */
  replayable: boolean;
}

/** Whether the request may be repeated at all under the route's retry settings. */
export function mayRetry(request: RetryRequest, policy: RouteConfig['retry']): boolean {
  if (policy.attempts === 0 || !request.replayable) return false;
  return policy.nonIdempotent || request.idempotencyKey || IDEMPOTENT_METHODS.has(request.method);
}

/** Whether an exchange that failed with `error` (`headersSent`: the client already got a status line) is worth one more attempt. */
export function isRetryableFailure(error: Error, headersSent: boolean): boolean {
  return !headersSent && classifyTransportError(error) === 'reset';
}
