// Request-head checks that node's strict parser leaves to the application: Host presence and
// uniqueness, field-name syntax, framing-header lookalikes, and Transfer-Encoding on HTTP/1.0.
// Pure: reads the version and node's flat rawHeaders, returns a problem or undefined; never throws.

/** RFC 9110 §5.6.2 tchar, as a 128-entry lookup (non-ASCII is never a tchar). */
const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TCHAR[c] = 1;

/** RFC 9110 §5.1: field-name = token. */
export function isToken(name: string): boolean {
  if (name.length === 0) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c > 127 || TCHAR[c] !== 1) return false;
  }
  return true;
}

/**
 * A name that is not a framing field but reads as one once delimiters are dropped
 * ("Transfer_Encoding", "Content_Length", "Transfer---Encoding"). Backends that map "_" to "-"
 * (CGI/WSGI) or fold punctuation would frame the body differently from this proxy.
 */
export function isFramingLookalike(lower: string): boolean {
  if (lower === 'content-length' || lower === 'transfer-encoding') return false;
  if (lower.length < 13) return false;
  const letters = lower.replace(/[^a-z0-9]/g, '');
  return letters === 'contentlength' || letters === 'transferencoding';
}

/**
 * The reason this request head must be answered 400 without forwarding, or undefined.
 * - RFC 9112 §3.2: an HTTP/1.1 request without Host, or with more than one, is answered 400.
 * - RFC 9110 §5.1: every field name is a token.
 * - RFC 9112 §6.1: Transfer-Encoding in an HTTP/1.0 request means faulty framing.
 * - Framing-header lookalikes (see isFramingLookalike).
 */
export function requestHeadProblem(httpVersion: string, rawHeaders: readonly string[]): string | undefined {
  let hosts = 0;
  let transferEncoding = false;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] ?? '';
    if (!isToken(name)) return 'header field name is not a token';
    // Lower-case only the names that can matter: "host" (4), and names of 13+ characters whose first
    // character is "c", "t" or punctuation (framing fields and their lookalikes).
    const length = name.length;
    if (length === 4) {
      if (name.toLowerCase() === 'host') hosts++;
      continue;
    }
    if (length < 13 || !mayBeFraming(name.charCodeAt(0) | 0x20)) continue;
    const lower = name.toLowerCase();
    if (lower === 'transfer-encoding') transferEncoding = true;
    else if (isFramingLookalike(lower)) return `header "${name}" imitates a framing header`;
  }
  if (hosts > 1) return 'more than one Host header';
  if (httpVersion === '1.1' && hosts === 0) return 'HTTP/1.1 request without Host header';
  if (transferEncoding && httpVersion === '1.0') return 'Transfer-Encoding in an HTTP/1.0 request';
  return undefined;
}

/** First character (lower-cased with | 0x20) of a name that could be or imitate a framing field. */
function mayBeFraming(c0: number): boolean {
  return c0 === 0x63 /* c */ || c0 === 0x74 /* t */ || !((c0 >= 0x61 && c0 <= 0x7a) || (c0 >= 0x30 && c0 <= 0x39));
}
