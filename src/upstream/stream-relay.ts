// StreamRelay: an undici raw dispatch handler that streams one upstream response to a client's HTTP/2
// stream with backpressure: hop-by-hop fields dropped (HTTP/2 forbids them, RFC 9113 §8.2.2), the
// upstream's trailers passed on (gRPC's status travels in them), and a failure after the head sent
// as RST_STREAM so the client never takes a cut answer for a whole one; a client that takes nothing for
// limits.sendTimeoutMs while undici is paused for it gets RST_STREAM CANCEL (server/send-timeout.ts). Reports a
// gRPC answer's status; optionally keeps a bounded copy of the answer for shadow comparison.
import { constants, type OutgoingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { Dispatcher } from 'undici';
import { endsAtHead } from '../http/bodiless-status.js';
import { h2Fields } from '../http/h2-fields.js';
import { stripHopByHop } from '../http/hop-by-hop.js';
import { answerFields, withGrpcTrailers, type AnswerFields } from '../shadow/answer.js';
import { BodyCapture } from './body-capture.js';
import { ClientAbortError, OWN_HEADERS, type RelayCommon, type RelayResult } from './relay.js';
import { Backpressure, cancelStream, SendTimeout, SendTimeoutError } from '../server/send-timeout.js';

export interface StreamRelayOptions extends RelayCommon {
  stream: ServerHttp2Stream;
}

export class StreamRelay implements Dispatcher.DispatchHandler {
  readonly #options: StreamRelayOptions;
  #abort: ((error?: Error) => void) | undefined;
  #status = 0;
  #finished = false;
  #trailers: OutgoingHttpHeaders = {};
  #resume: (() => void) | undefined;
  /** The answer was complete with its head. */
  #ended = false;
  #capture: BodyCapture | undefined;
  #fields: AnswerFields | undefined;
  #grpcStatus: string | undefined;
  /** Made at the first backpressure. */
  #backpressure: Backpressure | undefined;

  constructor(options: StreamRelayOptions) {
    this.#options = options;
    if (options.captureBytes > 0) this.#capture = new BodyCapture(options.captureBytes);
    options.stream.once('close', this.#onClientClose);
    options.stream.on('wantTrailers', () => options.stream.sendTrailers(this.#trailers));
  }

  /** Aborts the upstream exchange (the request body broke a limit). */
  abort(error: Error): void {
    this.#abort?.(error);
  }

  /**
   * undici calls it as the request is about to be written; one that waited in the pool's queue (every upstream
   * connection busy) is not written if its client reset the stream or left meanwhile, and ends as a client abort (499).
   */
  onConnect(abort: (error?: Error) => void): void {
    this.#abort = abort;
    if (this.#options.stream.destroyed) abort(new ClientAbortError());
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    if (statusCode < 200) return true; // 1xx informational: not relayed
    this.#status = statusCode;
    const { stream, extraHeaders } = this.#options;
    if (stream.destroyed) return true; // the client left; #onClientClose aborts the exchange
    const fields = stripHopByHop(latin1(rawHeaders), OWN_HEADERS);
    if (this.#capture) this.#fields = answerFields(fields.length / 2, (i) => fields[2 * i], (i) => fields[2 * i + 1]);
    const headers = h2Fields([...fields, ...extraHeaders]); // the upstream's own of these were stripped: ours stand
    headers[constants.HTTP2_HEADER_STATUS] = statusCode;
    // grpc-status in the head is a gRPC "Trailers-Only" answer: it must reach the client as one ended head too.
    const grpcStatus = headers['grpc-status'];
    const bodiless = endsAtHead(statusCode);
    this.#ended = grpcStatus !== undefined || bodiless;
    if (grpcStatus !== undefined) this.#grpcStatus = String(grpcStatus);
    stream.respond(headers, this.#ended ? { endStream: true } : { waitForTrailers: true });
    this.#resume = resume;
    if (bodiless) this.#finish(undefined);
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.#capture?.add(chunk);
    const { stream } = this.#options;
    if (stream.write(chunk)) return true;
    // Backpressure: undici pauses until 'drain', and the send timeout runs meanwhile.
    this.#backpressure ??= new Backpressure(stream, () => this.#resume?.(), new SendTimeout(this.#options.sendTimeoutMs, this.#options.route, () => this.#sendTimedOut()));
    this.#backpressure.wait();
    return false;
  }

  /** Over HTTP/2 upstreams undici hands the trailers as a header object, over HTTP/1.1 as raw pairs. */
  onComplete(trailers: readonly (string | Buffer)[] | Record<string, string | string[]> | null): void {
    if (isPairs(trailers)) this.#trailers = h2Fields(stripHopByHop(latin1(trailers)));
    else if (trailers) {
      if (typeof trailers['grpc-status'] === 'string') this.#grpcStatus = trailers['grpc-status'];
      if (this.#fields) withGrpcTrailers(this.#fields, trailers);
      this.#trailers = h2Fields(stripHopByHop(Object.entries(trailers).flatMap(([name, value]) => (Array.isArray(value) ? value.flatMap((v) => [name, v]) : [name, value]))));
    }
    if (!this.#ended) this.#options.stream.end();
    this.#finish(undefined);
  }

  onError(error: Error): void {
    if (this.#finished) return; // a bodiless answer, ended at its head, then failed by undici's length check
    const { stream } = this.#options;
    if (stream.headersSent && !stream.destroyed) stream.close(constants.NGHTTP2_INTERNAL_ERROR);
    this.#finish(error);
  }

  /** The client took nothing for sendTimeoutMs: its stream is reset (CANCEL) and the upstream request aborted. */
  #sendTimedOut(): boolean {
    const { stream, sendTimeoutMs } = this.#options;
    cancelStream(stream, sendTimeoutMs);
    this.#abort?.(new SendTimeoutError(sendTimeoutMs));
    return true;
  }

  #onClientClose = (): void => {
    if (!this.#finished) this.#abort?.(new ClientAbortError());
  };

  #finish(error: Error | undefined): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#backpressure?.dispose();
    const result: RelayResult = { status: this.#status, headersSent: this.#options.stream.headersSent };
    if (error) result.error = error;
    if (this.#grpcStatus !== undefined) result.grpcStatus = this.#grpcStatus;
    if (this.#capture) {
      const { body, truncated } = this.#capture.result();
      result.body = body;
      result.bodyTruncated = truncated;
      if (this.#fields) result.fields = this.#fields;
    }
    this.#options.onFinish(result);
  }
}

function latin1(raw: readonly (string | Buffer)[]): string[] {
  return raw.map((part) => (typeof part === 'string' ? part : part.toString('latin1')));
}

function isPairs(trailers: readonly (string | Buffer)[] | Record<string, string | string[]> | null): trailers is readonly (string | Buffer)[] {
  return Array.isArray(trailers);
}
