// Request-target normalisation before routing (RFC 9112 §3.2 origin-form; RFC 3986 §5.2.4 dot segments,
// §6.2.2.2 percent-encoding). Only origin-form is accepted; escaped unreserved characters ("%2E", "%61")
// are decoded, dot segments removed and repeated slashes merged, so "/v1/%2E%2E/admin", "/v2/models/fr%61ud"
// and "//evil.example/x" route as what they name and cannot escape or bypass a route. Pure.

export interface RequestTarget {
  path: string;
  /** The query without "?", or "" */
  query: string;
}

export function normalizeTarget(url: string): RequestTarget | undefined {
  if (!url.startsWith('/')) return undefined;
  const q = url.indexOf('?');
  const rawPath = q === -1 ? url : url.slice(0, q);
  const query = q === -1 ? '' : url.slice(q + 1);
  if (!/[%.]|\/\//.test(rawPath)) return { path: rawPath, query };
  const decoded = rawPath.includes('%') ? rawPath.replace(/%([0-9a-f]{2})/gi, decodeUnreserved) : rawPath;
  const out: string[] = [];
  const segments = decoded.split('/');
  for (let i = 1; i < segments.length; i++) {
    const segment = segments[i] ?? '';
    if (segment === '..') out.pop();
    else if (segment !== '.' && !(segment === '' && i < segments.length - 1)) out.push(segment);
  }
  const last = segments[segments.length - 1];
  if ((last === '.' || last === '..') && out[out.length - 1] !== '') out.push('');
  return { path: `/${out.join('/')}`, query };
}

/** RFC 3986 §2.3, §6.2.2.2: a percent-encoded unreserved character is that character; other escapes stay as sent. */
function decodeUnreserved(escape: string, hex: string): string {
  const char = String.fromCharCode(parseInt(hex, 16));
  return /^[A-Za-z0-9\-._~]$/.test(char) ? char : escape;
}
