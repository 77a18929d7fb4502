// The size of an HTTP/2 request's header list as SETTINGS_MAX_HEADER_LIST_SIZE counts it (RFC 9113
// §6.5.2), and the answer to one over maxHeaderBytes: 414 URI Too Long (RFC 9110 §15.5.15) when :path
// alone is over it, else 431 (RFC 6585 §5), as HTTP/1.1's head limit answers. Pure; never throws.
import { ProxyError } from './errors.js';

/** RFC 9113 §6.5.2: what each field adds to the header list's size besides its name and value. */
export const FIELD_OVERHEAD_BYTES = 32;

/**
 * One field's size: its name's and value's octets plus 32. node:http2 hands names and values over as
 * one character per octet (a UTF-8 value arrives as its bytes, each a Latin-1 character), so length is octets.
 */
function fieldBytes(name: string, value: string): number {
  return name.length + value.length + FIELD_OVERHEAD_BYTES;
}

/**
 * `rawHeaders` as node:http2's 'stream' event gives them, [name, value, ...], pseudo-header fields
 * included, as the limit counts them: undefined when the list is within `maxHeaderBytes`.
 */
export function headerListProblem(rawHeaders: readonly string[], maxHeaderBytes: number): ProxyError | undefined {
  let listBytes = 0;
  let pathBytes = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] ?? '';
    const bytes = fieldBytes(name, rawHeaders[i + 1] ?? '');
    listBytes += bytes;
    if (name === ':path') pathBytes = bytes;
  }
  if (listBytes <= maxHeaderBytes) return undefined;
  if (pathBytes > maxHeaderBytes) {
    return new ProxyError('ABPROXY_URI_TOO_LONG', `request URL is too long: its :path field is ${pathBytes} bytes, over maxHeaderBytes (${maxHeaderBytes})`);
  }
  return new ProxyError('ABPROXY_HEADERS_TOO_LARGE', `request headers are too large: the header list is ${listBytes} bytes, over maxHeaderBytes (${maxHeaderBytes})`);
}
