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
 * Copies rawHeaders without hop-by-hop fields and without the names in `drop` (lower-case), appending
 * to `out` (a new array by default) and returning it. One pass; a second one over the copy only when
 * a Connection field lists names beyond the fixed set (the common `keep-alive`/`close` cost nothing).
 */
export function stripHopByHop(rawHeaders: readonly string[], drop: ReadonlySet<string> = EMPTY, out: string[] = []): string[] {
  const start = out.length;
  let listed: Set<string> | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] ?? '';
    const lower = name.toLowerCase();
    if (lower === 'connection') listed = addListed(listed, rawHeaders[i + 1] ?? '');
    if (ALWAYS_HOP_BY_HOP.has(lower) || drop.has(lower)) continue;
    out.push(name, rawHeaders[i + 1] ?? '');
  }
  if (listed === undefined) return out;
  let kept = start;
  for (let i = start; i < out.length; i += 2) {
    const name = out[i] ?? '';
    if (listed.has(name.toLowerCase())) continue;
    out[kept] = name;
    out[kept + 1] = out[i + 1] ?? '';
    kept += 2;
  }
  out.length = kept;
  return out;
}

/** Adds the names a Connection value lists that the fixed set does not already remove. */
function addListed(listed: Set<string> | undefined, value: string): Set<string> | undefined {
  if (value.length === 10 && value.toLowerCase() === 'keep-alive') return listed; // the usual value: always stripped anyway
  for (const token of value.split(',')) {
    const name = token.trim().toLowerCase();
    if (name && !PROTECTED.has(name) && !ALWAYS_HOP_BY_HOP.has(name)) (listed ??= new Set()).add(name);
  }
  return listed;
}

const EMPTY: ReadonlySet<string> = new Set();
