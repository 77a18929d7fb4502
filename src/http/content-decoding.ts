// Decodes a captured answer body by its Content-Encoding (RFC 9110 §8.4: gzip, deflate, br) so answers
// compare by content, not by how each server compressed them. Bounded: a small compressed body cannot
// expand past MAX_DECODED_BYTES. Pure (zlib's synchronous calls).
import { brotliDecompressSync, gunzipSync, inflateRawSync, inflateSync } from 'node:zlib';

/** The most a body may decode to before it is left uncompared. */
export const MAX_DECODED_BYTES = 64 * 1024 * 1024;

/** The body as sent before encoding; the body itself without an encoding; undefined when it cannot be decoded (or is too large). */
export function decodedBody(body: Buffer, encoding: string | undefined, maxBytes = MAX_DECODED_BYTES): Buffer | undefined {
  const coding = encoding?.trim().toLowerCase();
  if (!coding || coding === 'identity') return body;
  const options = { maxOutputLength: maxBytes };
  try {
    if (coding === 'gzip' || coding === 'x-gzip') return gunzipSync(body, options);
    if (coding === 'br') return brotliDecompressSync(body, options);
    if (coding === 'deflate') return inflateDeflate(body, options);
  } catch {
    return undefined;
  }
  return undefined; // a coding we do not know, or several stacked
}

/** HTTP's deflate is the zlib format (RFC 1950), though some servers send raw deflate (RFC 1951). */
function inflateDeflate(body: Buffer, options: { maxOutputLength: number }): Buffer {
  try {
    return inflateSync(body, options);
  } catch {
    return inflateRawSync(body, options);
  }
}
