// Absolute-form request targets (RFC 9112 §3.2.2: "GET http://models.example/v1/x HTTP/1.1", as HTTP
// clients send through a configured proxy). A server must accept them and take the target's authority
// over the Host field; nginx and Envoy do the same. The request is rewritten in place to origin-form
// with Host set to that authority, so routing, forwarding and x-forwarded-host see one request.
import type { IncomingMessage } from 'node:http';

/** reg-name, IPv4 or bracketed IPv6 literal, then an optional port (RFC 3986 §3.2.2-3), without userinfo. */
const AUTHORITY = /^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]+)(?::[0-9]*)?$/;
const SCHEME = /^https?:\/\//i;

/**
 * Rewrites an http(s) absolute-form target to origin-form and its Host field to the target's authority.
 * Returns the reason to answer 400, or undefined (also for a target that is not absolute-form).
 */
export function adoptAbsoluteForm(req: IncomingMessage): string | undefined {
  const url = req.url ?? '';
  if (url.startsWith('/') || !SCHEME.test(url)) return undefined;
  const rest = url.slice(url.indexOf('//') + 2);
  const end = rest.search(/[/?]/);
  const authority = end === -1 ? rest : rest.slice(0, end);
  if (rest.startsWith('/') || authority.length === 0) return 'absolute-form target without a host';
  if (authority.includes('@')) return 'absolute-form target with userinfo (RFC 9110 §4.2.4)';
  if (!AUTHORITY.test(authority)) return 'absolute-form target with an invalid authority';
  const path = end === -1 ? '' : rest.slice(end);
  req.url = path.startsWith('/') ? path : `/${path}`;
  setHost(req, authority);
  return undefined;
}

/** RFC 9112 §3.2.2: the recipient ignores the Host field and uses the target's authority (one Host: checked before). */
function setHost(req: IncomingMessage, authority: string): void {
  const raw = req.rawHeaders;
  const at = raw.findIndex((name, i) => i % 2 === 0 && name.toLowerCase() === 'host');
  if (at === -1) raw.push('Host', authority); // HTTP/1.0 may omit Host
  else raw[at + 1] = authority;
  req.headers.host = authority;
}
