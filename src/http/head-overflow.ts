// Which part of a request head went over maxHeaderBytes when node's parser reports HPE_HEADER_OVERFLOW
// for both: the request-target (414 URI Too Long, RFC 9110 §15.5.15) or the header fields (431,
// RFC 6585 §5). Pure; reads only the bytes node hands to 'clientError'.

const SPACE = 0x20;
const COLON = 0x3a;

/**
 * True when the overflow was the request-target's. `read` is the error's rawPacket: the one read the
 * parser failed in, not the head so far. `stoppedAt` is its bytesParsed: node adds a span to the head's
 * size when the span ends or the read runs out, so the parser stops on the SP that ends the target, one
 * past the colon that ends a header name, on the LF after a header value's CR, or at the end of the read.
 * Only the first names the target; a head that crossed the limit at the end of a read (a long URL or a
 * header field that arrived in several reads) cannot be told apart there, and stays a 431.
 */
export function requestTargetOverflowed(read: Uint8Array | undefined, stoppedAt: number | undefined): boolean {
  if (read === undefined || stoppedAt === undefined || stoppedAt >= read.length) return false;
  return read[stoppedAt] === SPACE && read[stoppedAt - 1] !== COLON;
}
