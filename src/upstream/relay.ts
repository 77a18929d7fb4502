// ResponseRelay: an undici raw dispatch handler that streams one upstream response to the client's
// ServerResponse with backpressure, stripping hop-by-hop response headers (RFC 9110 §7.6.1), and cuts off
// a client that takes nothing for limits.sendTimeoutMs while undici is paused for it (server/send-timeout.ts).
// Never buffers the body (except an optional bounded capture copy); one relay per attempt (the request
// handler decides on retries, upstream/retry-policy.ts).
import type { ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import { endsAtHead } from '../http/bodiless-status.js';
import { stripHopByHop } from '../http/hop-by-hop.js';
import { answerFields, type AnswerFields } from '../shadow/answer.js';
import { BodyCapture } from './body-capture.js';
import { Backpressure, cutConnection, SendTimeout, SendTimeoutError } from '../server/send-timeout.js';

export interface RelayResult {
  status: number;
  /** Set when the exchange failed; `headersSent` tells whether the client already got a status line. */
  error?: Error;
  headersSent: boolean;
  /** The captured response body (up to captureBytes), when capture was asked for. */
  body?: Buffer;
  bodyTruncated?: boolean;
  /** A gRPC answer's grpc-status (HTTP/2 relays), from its trailers or its Trailers-Only head. */
  grpcStatus?: string;
  /** How to read the captured body (content type and encoding, OIP binary extension length). */
  fields?: AnswerFields;
}

/** What a relay needs besides the client it answers (an HTTP/1.1 response here, an HTTP/2 stream in stream-relay.ts). */
export interface RelayCommon {
  /** Extra response headers, flat [name, value, ...], set after the upstream's (they win). */
  extraHeaders: readonly string[];
  /** Called exactly once, when the exchange ends in any way. */
  onFinish: (result: RelayResult) => void;
  /** Keep a copy of up to this many response bytes in RelayResult.body (0: none). */
  captureBytes: number;
  /** limits.sendTimeoutMs of the exchange's generation, and the route a send timeout is counted on. */
  sendTimeoutMs: number;
  route: string;
}

export interface RelayOptions extends RelayCommon {
  res: ServerResponse;
}

/** Response fields the proxy sets itself: the upstream's are dropped. */
export const OWN_HEADERS: ReadonlySet<string> = new Set(['x-abproxy-variant', 'x-request-id']);

export class ResponseRelay implements Dispatcher.DispatchHandler {
  #abort: ((error?: Error) => void) | undefined;
  #status = 0;
  #finished = false;
  #capture: BodyCapture | undefined;
  #fields: AnswerFields | undefined;
  #resume: (() => void) | undefined;
  /** Made at the first backpressure. */
  #backpressure: Backpressure | undefined;

  constructor(private readonly options: RelayOptions) {
    if (options.captureBytes > 0) this.#capture = new BodyCapture(options.captureBytes);
    options.res.once('close', this.#onClientClose);
  }

  /** Aborts the upstream exchange (client went away, or the request body broke a limit). */
  abort(error: Error): void {
    this.#abort?.(error);
  }

  /**
   * undici calls it as the request is about to be written; one that waited in the pool's queue (every upstream
   * connection busy) is not written if its client left meanwhile, and ends as a client abort (499). undici
   * closes the upstream connection it was given, as for any aborted HTTP/1.1 request.
   */
  onConnect(abort: (error?: Error) => void): void {
    this.#abort = abort;
    if (this.options.res.destroyed) abort(new ClientAbortError());
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
    if (statusCode < 200) return true; // 1xx informational: not relayed
    this.#status = statusCode;
    const names: string[] = new Array<string>(rawHeaders.length);
    for (let i = 0; i < rawHeaders.length; i++) names[i] = rawHeaders[i]?.toString('latin1') ?? '';
    const headers = stripHopByHop(names, OWN_HEADERS);
    if (this.#capture) this.#fields = answerFields(headers.length / 2, (i) => headers[2 * i], (i) => headers[2 * i + 1]);
    const { extraHeaders, res } = this.options;
    for (let i = 0; i < extraHeaders.length; i++) headers.push(extraHeaders[i] ?? '');
    res.writeHead(statusCode, statusText || undefined, headers);
    this.#resume = resume;
    if (endsAtHead(statusCode)) this.onComplete();
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.#capture?.add(chunk);
    const { res } = this.options;
    if (res.write(chunk)) return true;
    // Backpressure: undici pauses until 'drain', and the send timeout runs meanwhile.
    this.#backpressure ??= new Backpressure(res, () => this.#resume?.(), new SendTimeout(this.options.sendTimeoutMs, this.options.route, () => this.#sendTimedOut()));
    this.#backpressure.wait();
    return false;
  }

  onComplete(): void {
    if (this.#finished) return; // a bodiless answer, ended at its head
    this.options.res.end();
    this.#finish(undefined);
  }

  onError(error: Error): void {
    if (this.#finished) return; // a bodiless answer, ended at its head, then failed by undici's length check
    const { res } = this.options;
    if (res.headersSent && !res.writableEnded) res.destroy(error); // cut the client off: never complete-looking
    this.#finish(error);
  }

  /** The client took nothing for sendTimeoutMs: its connection is destroyed and the upstream request aborted. */
  #sendTimedOut(): boolean {
    if (!cutConnection(this.options.res)) return false;
    this.#abort?.(new SendTimeoutError(this.options.sendTimeoutMs));
    return true;
  }

  #onClientClose = (): void => {
    if (!this.#finished && !this.options.res.writableFinished) this.#abort?.(new ClientAbortError());
  };

  #finish(error: Error | undefined): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#backpressure?.dispose();
    const result: RelayResult = { status: this.#status, headersSent: this.options.res.headersSent };
    if (error) result.error = error;
    if (this.#capture) {
      const { body, truncated } = this.#capture.result();
      result.body = body;
      result.bodyTruncated = truncated;
      if (this.#fields) result.fields = this.#fields;
    }
    this.options.onFinish(result);
  }
}

export class ClientAbortError extends Error {
  readonly code = 'ABPROXY_CLIENT_ABORTED';
  constructor() {
    super('client closed the connection');
  }
}
