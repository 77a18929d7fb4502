// Sends one shadow copy over an undici pool and collects its answer, bounded in time (timeoutMs, also
// while queued for a connection) and in bytes (maxBytes). Resolves exactly once; never rejects.
import { performance } from 'node:perf_hooks';
import type { Dispatcher } from 'undici';
import { endsAtHead } from '../http/bodiless-status.js';
import { classifyTransportError } from '../http/errors.js';
import type { PoolSet } from '../upstream/pools.js';
import { CopyDeadlines, type Deadline, type Expiring } from './copy-deadlines.js';
import { ANSWER_FIELD_NAME_LENGTHS, answerFields, outcomeOfStatus, withGrpcTrailers, type AnswerFields, type ShadowAnswer } from './answer.js';
import type { ShadowCopy } from './shadow-protocol.js';

export interface HttpShadowRequest {
  dispatcher: Dispatcher;
  origin: string;
  path: string;
  method: string;
  /** Flat [name, value, ...], hop-by-hop fields already removed. */
  headers: string[];
  body: Buffer | undefined;
  timeoutMs: number;
  /** Keep at most this many response bytes; a longer answer is marked truncated. */
  maxBytes: number;
}

export class ShadowTimeoutError extends Error {
  readonly code = 'ABPROXY_SHADOW_TIMEOUT';
  readonly status = 504;
  constructor(timeoutMs: number) {
    super(`shadow did not answer within ${timeoutMs} ms`);
  }
}

/** Sends one of an exchange's copies (its request's method and body) over the pool for its origin and protocol. */
export function sendShadowCopy(pools: PoolSet, copy: ShadowCopy, method: string, body: Buffer | undefined): Promise<ShadowAnswer> {
  const { origin, path, http2, headers, timeoutMs, maxBytes } = copy;
  return sendHttpShadow({ dispatcher: pools.get(origin, http2), origin, path, method, headers, body, timeoutMs, maxBytes });
}

/** This thread's copies in flight, by deadline. */
const deadlines = new CopyDeadlines();

export function sendHttpShadow(request: HttpShadowRequest): Promise<ShadowAnswer> {
  return new Promise((resolve) => {
    const collector = new ShadowCollector(request.maxBytes, request.timeoutMs, resolve);
    collector.deadline = deadlines.add(collector, request.timeoutMs);
    try {
      request.dispatcher.dispatch(
        {
          origin: request.origin,
          path: request.path,
          method: request.method,
          headers: request.headers,
          body: request.body ?? null,
          headersTimeout: request.timeoutMs,
          bodyTimeout: request.timeoutMs,
        },
        collector,
      );
    } catch (error) {
      collector.onError(error as Error);
    }
  });
}

/**
 * A raw undici handler (the callback API, as the primary's ResponseRelay uses, so undici neither wraps it
 * nor parses headers into an object) that keeps the status, content type and up to maxBytes of the body.
 */
class ShadowCollector implements Dispatcher.DispatchHandler, Expiring {
  deadline: Deadline | undefined;
  #settled = false;
  readonly #startedAt = performance.now();
  #resolve: ((answer: ShadowAnswer) => void) | undefined;
  #abort: ((error?: Error) => void) | undefined;
  #status = 0;
  #fields: AnswerFields = { contentType: undefined };
  #chunks: Buffer[] = [];
  #bytes = 0;
  #truncated = false;

  constructor(
    private readonly maxBytes: number,
    private readonly timeoutMs: number,
    resolve: (answer: ShadowAnswer) => void,
  ) {
    this.#resolve = resolve;
  }

  onConnect(abort: (error?: Error) => void): void {
    this.#abort = abort;
    if (this.#settled) abort(new ShadowTimeoutError(0)); // timed out while queued
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[]): boolean {
    if (statusCode < 200) return true;
    this.#status = statusCode;
    // Only names as long as an answer field's become strings.
    const name = (i: number) => (ANSWER_FIELD_NAME_LENGTHS.has(rawHeaders[2 * i]?.length ?? 0) ? rawHeaders[2 * i]?.toString('latin1') : undefined);
    this.#fields = answerFields(rawHeaders.length >> 1, name, (i) => rawHeaders[2 * i + 1]?.toString('latin1'));
    if (endsAtHead(statusCode)) this.onComplete(null);
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.#truncated) return true;
    if (this.#bytes + chunk.length > this.maxBytes) {
      this.#truncated = true;
      this.#chunks.length = 0;
      return true;
    }
    this.#chunks.push(chunk);
    this.#bytes += chunk.length;
    return true;
  }

  /** `trailers`: over HTTP/2 a header object, where a gRPC answer's status is. */
  onComplete(trailers: unknown): void {
    withGrpcTrailers(this.#fields, trailers);
    this.#settle({
      outcome: outcomeOfStatus(this.#status, this.#fields.grpcStatus),
      latencyMs: performance.now() - this.#startedAt,
      answer: {
        status: this.#status,
        body: this.#truncated ? undefined : Buffer.concat(this.#chunks, this.#bytes),
        truncated: this.#truncated,
        ...this.#fields,
      },
    });
  }

  onError(error: Error): void {
    const timedOut = error instanceof ShadowTimeoutError || classifyTransportError(error) === 'timeout';
    const code = (error as { code?: string }).code;
    this.#settle({ outcome: timedOut ? 'timeout' : 'error', latencyMs: performance.now() - this.#startedAt, answer: undefined, failure: code ?? error.message });
  }

  /** timeoutMs passed first: the copy ends as a timeout, and undici stops it. */
  expire(): void {
    if (this.#settled) return;
    const error = new ShadowTimeoutError(this.timeoutMs);
    const abort = this.#abort;
    this.onError(error);
    abort?.(error);
  }

  /**
   * Resolves once, clears its place among the deadlines, and lets go of the answer, its promise and undici's
   * request: undici may hold a handler well after its request ended, and what it reaches from here would
   * outlive young-generation collections (the data plane's scavenges promoted 1.5 KB per copy while it did).
   */
  #settle(answer: ShadowAnswer): void {
    if (this.#settled) return;
    this.#settled = true;
    if (this.deadline) this.deadline.copy = undefined;
    const resolve = this.#resolve;
    this.#resolve = undefined;
    this.#abort = undefined;
    this.#chunks = [];
    this.#fields = { contentType: undefined };
    resolve?.(answer);
  }
}
