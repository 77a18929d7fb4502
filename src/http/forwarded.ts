// X-Forwarded-For/-Proto/-Host (the de-facto convention that RFC 7239 standardised as Forwarded).
// A client's own values are kept only when the direct peer is a configured trusted proxy; otherwise
// they are replaced, never appended. Pure.

export interface ForwardedInput {
  peerAddress: string;
  /** The client's x-forwarded-for, x-forwarded-proto, x-forwarded-host (first of each), if any */
  incomingFor: string | undefined;
  incomingProto: string | undefined;
  incomingHost: string | undefined;
  host: string | undefined;
  encrypted: boolean;
  trusted: boolean;
}

/** Flat [name, value, ...] of the three x-forwarded-* fields to send upstream. */
export function forwardedHeaders(input: ForwardedInput): string[] {
  const peer = input.peerAddress.startsWith('::ffff:') ? input.peerAddress.slice(7) : input.peerAddress;
  const chainFor = input.trusted && input.incomingFor ? `${input.incomingFor}, ${peer}` : peer;
  const proto = (input.trusted && input.incomingProto) || (input.encrypted ? 'https' : 'http');
  const host = (input.trusted && input.incomingHost) || input.host;
  const out = ['x-forwarded-for', chainFor, 'x-forwarded-proto', proto];
  if (host) out.push('x-forwarded-host', host);
  return out;
}

/** Names of the client's forwarding fields that are always dropped and rebuilt. */
export const FORWARDING_FIELDS: ReadonlySet<string> = new Set(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'forwarded']);
