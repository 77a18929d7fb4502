// What every forwarded request takes from its head, for plain requests and WebSocket handshakes alike:
// its variant (sticky key, override, or a random pick that is counted), its request id (the client's
// when well-formed, else a new one) and the header list sent upstream (hop-by-hop and forwarding
// fields dropped, x-forwarded-* rebuilt, x-request-id set), for HTTP/1.1 and HTTP/2 heads. Never reads the body.
import type { IncomingHttpHeaders } from 'node:http';
import { randomUUID } from 'node:crypto';
import { FORWARDING_FIELDS, forwardedHeaders } from '../http/forwarded.js';
import { stripHopByHop } from '../http/hop-by-hop.js';
import { recordUnkeyed } from '../metrics/request-metrics.js';
import { assign, type Assignment } from '../routing/assign.js';
import type { CompiledRoute } from '../routing/route-table.js';
import { extractKey } from '../routing/sticky.js';
import type { Runtime } from './runtime.js';

/** Request headers the proxy rebuilds or must not pass (undici rejects `expect`). */
export const DROPPED_REQUEST_HEADERS: ReadonlySet<string> = new Set([...FORWARDING_FIELDS, 'expect', 'x-request-id']);
const REQUEST_ID = /^[\x21-\x7e]{1,200}$/;

/** What the context reads of a request: an IncomingMessage, or an HTTP/2 stream's head (http2-handler.ts). */
export interface RequestHead {
  readonly headers: IncomingHttpHeaders;
  /** Flat [name, value, ...] as received; no HTTP/2 pseudo-headers. */
  readonly rawHeaders: readonly string[];
  readonly socket: { readonly remoteAddress?: string | undefined };
}

/** The route's variant for this request; `json` is the parsed body when a `body:` key needs it. */
export function assignRequest(route: CompiledRoute, req: RequestHead, query: string, json: unknown): Assignment & { key: string | undefined } {
  const key = extractKey(route.sticky, { headers: req.headers, query, json });
  const override = route.overrideHeader ? req.headers[route.overrideHeader] : undefined;
  const { variant, reason } = assign(route, key, typeof override === 'string' ? override : undefined);
  if (reason === 'random') recordUnkeyed(route.name);
  return { variant, reason, key };
}

export function requestIdOf(req: RequestHead): string {
  const incoming = req.headers['x-request-id'];
  return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

/**
 * The client's headers as sent upstream: hop-by-hop fields out (RFC 9110 §7.6.1), x-forwarded-* rebuilt, x-request-id set.
 * `dropped`: the fields left out besides hop-by-hop ones (a superset of DROPPED_REQUEST_HEADERS).
 */
export function upstreamHeaders(req: RequestHead, runtime: Runtime, requestId: string, dropped: ReadonlySet<string> = DROPPED_REQUEST_HEADERS): string[] {
  const headers = stripHopByHop(req.rawHeaders, dropped);
  const { socket } = req;
  headers.push(
    ...forwardedHeaders({
      peerAddress: socket.remoteAddress ?? '',
      incomingFor: first(req.headers['x-forwarded-for']),
      incomingProto: first(req.headers['x-forwarded-proto']),
      incomingHost: first(req.headers['x-forwarded-host']),
      host: req.headers.host,
      encrypted: 'encrypted' in socket,
      trusted: isTrusted(runtime, socket.remoteAddress),
    }),
    'x-request-id',
    requestId,
  );
  return headers;
}

function isTrusted(runtime: Runtime, address: string | undefined): boolean {
  if (!address || runtime.config.trustedProxies.length === 0) return false;
  const plain = address.startsWith('::ffff:') ? address.slice(7) : address;
  return runtime.trustedProxies.check(plain, plain.includes(':') ? 'ipv6' : 'ipv4');
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}
