// A `model:NAME` variant answering ModelStreamInfer in-process: the answer starts at once, and each
// request message is answered in order as it arrives (a ModelStreamInferResponse per message, a failed
// inference in its error_message), so a stream is never read whole first. Messages are at most
// maxBodyBytes (decompressed from the call's grpc-encoding); at most MAX_QUEUED wait for the model
// before the stream is paused. The call ends with grpc-status once the client has ended its side and
// every message is answered; the request and the answer (each up to maxBodyBytes) go to shadows. A client
// that takes none of the answers for sendTimeoutMs gets RST_STREAM CANCEL (send-timeout.ts).
import { constants } from 'node:http2';
import { FrameReader, framedMessage, frameMessage } from '../grpc/framing.js';
import { encodeGrpcMessage, GRPC_STATUS } from '../grpc/status.js';
import { h2Fields } from '../http/h2-fields.js';
import { BodyCapture } from '../upstream/body-capture.js';
import { ClientAbortError } from '../upstream/relay.js';
import { cancelStream, SendTimeout, SendTimeoutError } from './send-timeout.js';
import type { ModelCall } from './http2-model.js';

/** Request messages waiting for the model before the client's stream is paused. */
const MAX_QUEUED = 16;

/** Answers one ModelStreamInfer request message (unframed reply). Never rejects. */
export type StreamReply = (model: string, message: Buffer, requestId: string) => Promise<Uint8Array>;

export function streamModel({ stream, hasBody, encoding, exchange, model, chunks, extraHeaders, shadows, finish }: ModelCall, reply: StreamReply): void {
  const { maxBodyBytes, sendTimeoutMs } = exchange.runtime.config.limits;
  const reader = new FrameReader(maxBodyBytes);
  const request = new BodyCapture(maxBodyBytes);
  const answer = new BodyCapture(maxBodyBytes);
  let queued = 0;
  let chain = Promise.resolve();
  let failure: { status: number; message: string } | undefined;
  let ended = false;
  /** Made at the first backpressure; `timedOut` once it cut the stream off. */
  let sendTimeout: SendTimeout | undefined;
  let timedOut = false;

  const headers = h2Fields(extraHeaders);
  headers[constants.HTTP2_HEADER_STATUS] = 200;
  headers['content-type'] = 'application/grpc';
  stream.respond(headers, { waitForTrailers: true });

  const fail = (status: number, message: string) => {
    failure ??= { status, message };
    stream.off('data', onData);
    stream.resume(); // the rest of the call is discarded
    void chain.then(end);
  };
  const answerMessage = (message: Buffer) => {
    queued++;
    if (queued >= MAX_QUEUED) stream.pause();
    chain = chain.then(async () => {
      const framed = frameMessage(await reply(model, message, exchange.requestId));
      queued--;
      if (queued < MAX_QUEUED && !ended) stream.resume();
      if (failure || stream.destroyed) return;
      answer.add(framed);
      if (stream.write(framed)) return;
      sendTimeout ??= new SendTimeout(sendTimeoutMs, exchange.route.name, () => {
        timedOut = true;
        return cancelStream(stream, sendTimeoutMs);
      });
      sendTimeout.start();
      await new Promise((resolve) => stream.once('drain', resolve));
      sendTimeout.stop();
    });
  };
  const onData = (chunk: Buffer) => {
    request.add(chunk);
    const frames = reader.push(chunk);
    if (!frames) return fail(GRPC_STATUS.RESOURCE_EXHAUSTED, `a request message exceeds maxBodyBytes (${maxBodyBytes} bytes)`);
    for (const { flag, bytes } of frames) {
      const message = framedMessage(flag, bytes, encoding, maxBodyBytes);
      if (!message) return fail(GRPC_STATUS.INVALID_ARGUMENT, `a request message is not a whole message of at most ${maxBodyBytes} bytes in grpc-encoding ${encoding ?? 'identity'}`);
      answerMessage(message);
    }
  };
  const end = () => {
    if (ended || stream.destroyed) return;
    ended = true;
    const { body, truncated } = request.result();
    shadows?.bodyEnded(truncated ? undefined : body);
    const grpcStatus = String(failure?.status ?? GRPC_STATUS.OK);
    const trailers = { 'grpc-status': grpcStatus, ...(failure ? { 'grpc-message': encodeGrpcMessage(failure.message) } : {}) };
    stream.once('wantTrailers', () => stream.sendTrailers(trailers));
    stream.end();
    const captured = answer.result();
    const fields = { contentType: 'application/grpc', grpcStatus, ...(failure ? { grpcMessage: failure.message } : {}) };
    finish({ status: 200, grpcStatus, headersSent: true, body: captured.body, bodyTruncated: captured.truncated, fields });
  };

  const inputEnded = () => {
    if (failure) return;
    if (reader.partial) return fail(GRPC_STATUS.INVALID_ARGUMENT, 'the call ended inside a message');
    void chain.then(end);
  };
  // The body may already be whole (read ahead to route the call), or partly read ahead.
  for (const chunk of exchange.body ? [exchange.body] : chunks) onData(chunk);
  if (exchange.body !== undefined || !hasBody || stream.readableEnded) inputEnded();
  else {
    stream.on('data', onData);
    stream.once('end', inputEnded);
  }
  stream.once('close', () => {
    sendTimeout?.dispose();
    if (ended) return;
    ended = true;
    finish(timedOut ? { status: 200, headersSent: true, error: new SendTimeoutError(sendTimeoutMs) } : { status: 499, headersSent: true, error: new ClientAbortError() });
  });
}
