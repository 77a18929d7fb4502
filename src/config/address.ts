// Parses listen addresses of the form host:port ([::1]:port for IPv6) and tells when two would collide.
// Pure; never binds anything.
import { isIP } from 'node:net';

export interface Address {
  host: string;
  port: number;
}

export function parseAddress(value: string): { address?: Address; problem?: string } {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:\s[\]]+)):(\d{1,5})$/.exec(value);
  if (!match) return { problem: `"${value}" is not host:port` };
  const host = match[1] ?? match[2] ?? '';
  const port = Number(match[3]);
  if (port > 65535) return { problem: `port ${port} is out of range 0-65535` };
  if (match[1] !== undefined && isIP(host) !== 6) return { problem: `"${host}" is not an IPv6 address` };
  return { address: { host, port } };
}

/** True for addresses that only this machine can reach. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

/** True when two listeners could not both bind: the same port (not 0, which picks a free one) on the same host or a wildcard. */
export function addressesCollide(a: Address, b: Address): boolean {
  const wildcard = (host: string) => host === '0.0.0.0' || host === '::';
  return a.port !== 0 && a.port === b.port && (a.host === b.host || wildcard(a.host) || wildcard(b.host));
}
