// Reads a gRPC request stream as far as its first message (what routing by model name and a `body:`
// sticky key read): the bytes read so far are handed back to be sent on first, so the rest of a
// streaming call still flows through unbuffered; a unary call, whose stream ends with its message, is
// whole by then (and goes upstream as one buffer). Unless the caller needs the message, it waits only for
// what arrived with the call's head: a call whose server speaks first is forwarded at once. Bounded by
// maxBytes like any request body.
import type { Readable } from 'node:stream';
import { ProxyError } from '../http/errors.js';
import { tooLargeError } from '../server/body.js';
import { framedMessage } from './framing.js';

export interface FirstMessage {
  /** Everything read from the stream, in order (the first message's frame and perhaps more). */
  chunks: Buffer[];
  /** The first message, uncompressed; undefined when the stream ended before one, or it cannot be read (an encoding we do not read, or past maxBytes once decompressed). */
  message: Buffer | undefined;
  /** The client had ended the stream: `chunks` are the whole body. */
  ended: boolean;
}

/**
 * `needed`: wait for the first message however long it takes (else only until the end of this turn of the
 * event loop); `encoding`: the call's grpc-encoding, which a message flagged compressed is in.
 */
export function readFirstMessage(stream: Readable, maxBytes: number, needed: boolean, encoding?: string): Promise<FirstMessage> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let ended = false;
    let settled = false;
    let first: Buffer | undefined;
    const done = () => {
      cleanup();
      if (!ended) stream.pause();
      resolve({ chunks, message: first, ended });
    };
    // The end of a unary call comes with its message or just after (in this turn of the event loop).
    const settle = (message: Buffer | undefined) => {
      settled = true;
      first = message;
      setImmediate(done);
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
      if (size < 5 || settled) return;
      const head = chunks.length === 1 ? chunk : Buffer.concat(chunks, size);
      const length = head.readUInt32BE(1);
      if (size >= 5 + length) settle(framedMessage(head[0], Buffer.concat(chunks, size).subarray(5, 5 + length), encoding, maxBytes));
    };
    const onEnd = () => {
      ended = true;
      if (!settled) done();
    };
    const onError = (error: Error) => {
      cleanup();
      reject(new ProxyError('ABPROXY_BAD_REQUEST', `request body could not be read: ${error.message}`, { cause: error }));
    };
    const onClose = () => {
      if (!ended) onError(new Error('the client closed the stream'));
    };
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
    if (!needed) {
      setImmediate(() => {
        if (!settled) settle(undefined);
      });
    }
  });
}
