// Bounded request bodies: reading one whole, for routes whose sticky key or shadows need it (413 before
// reading when Content-Length is over the limit, and as soon as a chunked body crosses it; never more
// than maxBytes held), the same limit on a body streamed through, the JSON a `body:` key reads, and a
// body decoded from its Content-Encoding for local models.
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { decodedBody } from '../http/content-decoding.js';
import { ProxyError } from '../http/errors.js';
import { inferenceHeaderLength, jsonPart } from '../http/inference-header.js';

export function declaredLengthTooLarge(req: IncomingMessage, maxBytes: number): boolean {
  const declared = req.headers['content-length'];
  return declared !== undefined && Number(declared) > maxBytes;
}

export function tooLargeError(maxBytes: number): ProxyError {
  return new ProxyError('ABPROXY_BODY_TOO_LARGE', `request body exceeds maxBodyBytes (${maxBytes} bytes)`);
}

export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  if (declaredLengthTooLarge(req, maxBytes)) return Promise.reject(tooLargeError(maxBytes));
  return readStream(req, maxBytes);
}

/** The whole body of a stream part of which was read ahead (`readAhead`, sent first), the rest read within what is left of maxBytes. */
export async function restOfStream(stream: Readable, readAhead: readonly Buffer[], maxBytes: number): Promise<Buffer> {
  const read = readAhead.reduce((sum, chunk) => sum + chunk.length, 0);
  return Buffer.concat([...readAhead, await readStream(stream, maxBytes - read)]);
}

/** Reads a request body stream whole (an IncomingMessage, or an HTTP/2 stream), rejecting with 413 once it crosses maxBytes. */
export function readStream(req: Readable, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        cleanup();
        req.pause();
        reject(tooLargeError(maxBytes));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(new ProxyError('ABPROXY_BAD_REQUEST', `request body could not be read: ${error.message}`, { cause: error }));
    };
    const onAborted = () => onError(new Error('client aborted'));
    function cleanup() {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
    }
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
  });
}

/** True when the request carries a body (RFC 9112 §6.3: Transfer-Encoding or a non-zero Content-Length). */
export function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** What limitedBody does besides counting. */
export interface LimitedBodyOptions {
  /** Keep a copy and hand it over once the body has ended within the limit (for shadows). */
  onComplete?: (body: Buffer) => void;
  /** Called instead of failing the stream when the body crosses the limit, which then just ends (see http2-handler.ts). */
  onTooLarge?: (error: ProxyError) => void;
  /** Called when the reader lets go before the end for another reason than the limit (an early answer, a failure). */
  onAbandoned?: () => void;
}

/**
 * A body of unknown length streamed straight to the upstream, cut off with 413 once it crosses maxBytes.
 * (A Content-Length body was checked against the limit up front, and node's parser holds it to that length.)
 */
export async function* limitedBody(source: AsyncIterable<Buffer>, maxBytes: number, options: LimitedBodyOptions = {}): AsyncGenerator<Buffer> {
  let size = 0;
  let settled = false;
  const copy: Buffer[] | undefined = options.onComplete && [];
  try {
    for await (const chunk of source) {
      size += chunk.length;
      if (size > maxBytes) {
        settled = true;
        if (!options.onTooLarge) throw tooLargeError(maxBytes);
        options.onTooLarge(tooLargeError(maxBytes));
        return;
      }
      copy?.push(chunk);
      yield chunk;
    }
    settled = true;
  } finally {
    if (!settled) options.onAbandoned?.();
  }
  if (copy) options.onComplete?.(Buffer.concat(copy, size));
}

/**
 * The body's JSON value (its JSON part under the binary tensor extension), read through its Content-Encoding
 * (gzip, deflate, br, up to maxBytes decoded), for a `body:` sticky key; undefined when it is not JSON.
 */
export function bodyJson(body: Buffer, inferenceHeader: string | string[] | undefined, contentEncoding: string | undefined, maxBytes: number): unknown {
  const plain = decodedBody(body, contentEncoding, maxBytes);
  if (!plain) return undefined;
  try {
    return JSON.parse(jsonPart(plain, inferenceHeaderLength(inferenceHeader, plain.length)).toString('utf8'));
  } catch {
    return undefined;
  }
}

/** A whole request body as it was before its Content-Encoding, for a local model to read; one that does not decode is a 400. */
export function decodedRequestBody(body: Buffer, contentEncoding: string | undefined, maxBytes: number): Buffer {
  const plain = decodedBody(body, contentEncoding, maxBytes);
  if (plain) return plain;
  throw new ProxyError('ABPROXY_MODEL_BAD_INPUT', `request body could not be decoded from Content-Encoding "${contentEncoding ?? ''}" (gzip, deflate and br are read, up to maxBodyBytes decoded)`);
}
