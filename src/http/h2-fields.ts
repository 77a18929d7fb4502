// Header fields as node's http2 takes them: flat [name, value, ...] pairs (HTTP/1.1 style, as undici and
// the proxy's own response fields come) turned into an HTTP/2 header object. Pure.
import type { OutgoingHttpHeaders } from 'node:http2';

/**
 * Flat pairs as an HTTP/2 header object with lower-case names. A repeated name becomes a list (sent as
 * repeated fields), except the fields HTTP/2 allows once, where the first value stands.
 */
export function h2Fields(pairs: readonly string[]): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {};
  for (let i = 0; i < pairs.length; i += 2) {
    const name = (pairs[i] ?? '').toLowerCase();
    const value = pairs[i + 1] ?? '';
    const before = headers[name];
    if (before === undefined) headers[name] = value;
    else if (!SINGLE_VALUE.has(name)) headers[name] = Array.isArray(before) ? [...before, value] : [String(before), value];
  }
  return headers;
}

/** Fields node's http2 refuses to send twice (ERR_HTTP2_HEADER_SINGLE_VALUE). */
const SINGLE_VALUE = new Set([
  'access-control-allow-credentials', 'access-control-max-age', 'access-control-request-method', 'age', 'authorization',
  'content-encoding', 'content-language', 'content-length', 'content-location', 'content-md5', 'content-range',
  'content-type', 'date', 'dnt', 'etag', 'expires', 'from', 'host', 'if-match', 'if-modified-since', 'if-none-match',
  'if-range', 'if-unmodified-since', 'last-modified', 'location', 'max-forwards', 'proxy-authorization', 'range',
  'referer', 'retry-after', 'tk', 'upgrade-insecure-requests', 'user-agent', 'x-content-type-options',
]);
