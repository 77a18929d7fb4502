// Reads a gRPC request stream only as far as its first message (what a `body:` sticky key of a
// streaming call is taken from): the bytes read so far are handed back to be sent on first, so the
// rest of the stream still flows through unbuffered. Bounded by maxBytes like any request body.
import type { Readable } from 'node:stream';
import { ProxyError } from '../http/errors.js';
import { tooLargeError } from '../server/body.js';

export interface FirstMessage {
  /** Everything read from the stream, in order (the first message's frame and perhaps more). */
  chunks: Buffer[];
  /** The first message, uncompressed; undefined when the stream ended before one, or it is compressed. */
  message: Buffer | undefined;
}

export function readFirstMessage(stream: Readable, maxBytes: number): Promise<FirstMessage> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (message: Buffer | undefined) => {
      cleanup();
      stream.pause();
      resolve({ chunks, message });
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size > maxBytes) {
        cleanup();
        stream.pause();
        reject(tooLargeError(maxBytes));
        return;
      }
      if (size < 5) return;
      const head = chunks.length === 1 ? chunk : Buffer.concat(chunks, size);
      const length = head.readUInt32BE(1);
      if (head[0] !== 0) done(undefined);
      else if (size >= 5 + length) done(Buffer.concat(chunks, size).subarray(5, 5 + length));
    };
    const onEnd = () => done(undefined);
    const onError = (error: Error) => {
      cleanup();
      reject(new ProxyError('ABPROXY_BAD_REQUEST', `request body could not be read: ${error.message}`, { cause: error }));
    };
    const onClose = () => onError(new Error('the client closed the stream'));
    function cleanup() {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.off('close', onClose);
    }
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
    stream.on('close', onClose);
  });
}
