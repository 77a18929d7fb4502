// Bounded request-body reading, for routes whose sticky key or shadows need the whole body.
// Rejects with 413 before reading when Content-Length is over the limit, and as soon as a chunked
// body crosses it. Never holds more than maxBytes.
import type { IncomingMessage } from 'node:http';
import { ProxyError } from '../http/errors.js';

export function declaredLengthTooLarge(req: IncomingMessage, maxBytes: number): boolean {
  const declared = req.headers['content-length'];
  return declared !== undefined && Number(declared) > maxBytes;
}

export function tooLargeError(maxBytes: number): ProxyError {
  return new ProxyError('ABPROXY_BODY_TOO_LARGE', `request body exceeds maxBodyBytes (${maxBytes} bytes)`);
}

export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  if (declaredLengthTooLarge(req, maxBytes)) return Promise.reject(tooLargeError(maxBytes));
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
