// How an ended exchange is counted, for the HTTP/1.1 and HTTP/2 pipelines alike: a transport failure is
// classified and counted, and answered with its proxy error while the client has no status yet; a
// client that left is 499 (nginx's convention); a client cut off by the send timeout keeps the status it
// was sent, as in nginx's log (send-timeout.ts counts it). Returns the status the request is recorded with.
import { classifyTransportError, ProxyError, upstreamError } from '../http/errors.js';
import { recordUpstreamError } from '../metrics/request-metrics.js';
import { ClientAbortError, type RelayResult } from '../upstream/relay.js';
import { SendTimeoutError } from './send-timeout.js';

export function settledStatus(result: RelayResult, route: string, variant: string, answer: (failure: ProxyError) => void): number {
  const { error } = result;
  if (!error) return result.status;
  if (error instanceof ClientAbortError) return 499;
  if (error instanceof SendTimeoutError) return result.status;
  if (!(error instanceof ProxyError)) recordUpstreamError(route, variant, classifyTransportError(error));
  if (result.headersSent) return result.status;
  const failure = error instanceof ProxyError ? error : upstreamError(error);
  answer(failure);
  return failure.status;
}
