// Hop-by-hop header removal (RFC 9110 §7.6.1): the fixed connection-specific fields plus every name
// listed in Connection. Works on node's flat rawHeaders arrays ([name, value, name, value, ...]). Pure.

/** Connection-specific fields of RFC 9110 §7.6.1 and RFC 9112 §9.6/§7, plus the legacy Proxy-* ones. */
const ALWAYS_HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Names that Connection may list but that the proxy owns; listing them must not delete them. */
const PROTECTED = new Set(['host', 'content-length', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'forwarded', 'x-request-id']);

/** Lower-cased names listed in every Connection field (RFC 9110 §7.6.1: a comma-separated list of tokens). */
export function connectionTokens(rawHeaders: readonly string[]): Set<string> {
  const tokens = new Set<string>();
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if ((rawHeaders[i] ?? '').toLowerCase() === 'connection') {
      for (const token of (rawHeaders[i + 1] ?? '').split(',')) {
        const name = token.trim().toLowerCase();
        if (name && !PROTECTED.has(name)) tokens.add(name);
      }
    }
  }
  return tokens;
}

/**
 * Copies rawHeaders without hop-by-hop fields and without the names in `drop` (lower-case).
 * Returns a new flat array.
 */
export function stripHopByHop(rawHeaders: readonly string[], drop: ReadonlySet<string> = EMPTY): string[] {
  const listed = connectionTokens(rawHeaders);
  const out: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] ?? '';
    const lower = name.toLowerCase();
    if (ALWAYS_HOP_BY_HOP.has(lower) || listed.has(lower) || drop.has(lower)) continue;
    out.push(name, rawHeaders[i + 1] ?? '');
  }
  return out;
}

const EMPTY: ReadonlySet<string> = new Set();
