// Sends one shadow copy over an undici pool and collects its answer, bounded in time (timeoutMs, also
// while queued for a connection) and in bytes (maxBytes). Resolves exactly once; never rejects.
import { performance } from 'node:perf_hooks';
import type { Dispatcher } from 'undici';
import { classifyTransportError } from '../http/errors.js';
import { outcomeOfStatus, type ShadowAnswer } from './answer.js';

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

export function sendHttpShadow(request: HttpShadowRequest): Promise<ShadowAnswer> {
  return new Promise((resolve) => {
    const collector = new ShadowCollector(request.maxBytes, performance.now(), resolve);
    const timer = setTimeout(() => collector.timeOut(new ShadowTimeoutError(request.timeoutMs)), request.timeoutMs);
    collector.onSettled = () => clearTimeout(timer);
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
      collector.onResponseError(undefined, error as Error);
    }
  });
}

/** A raw undici handler that keeps the status, content type and up to maxBytes of the body. */
class ShadowCollector implements Dispatcher.DispatchHandler {
  onSettled: () => void = () => undefined;
  #controller: Dispatcher.DispatchController | undefined;
  #settled = false;
  #status = 0;
  #contentType: string | undefined;
  readonly #chunks: Buffer[] = [];
  #bytes = 0;
  #truncated = false;

  constructor(
    private readonly maxBytes: number,
    private readonly startedAt: number,
    private readonly resolve: (answer: ShadowAnswer) => void,
  ) {}

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#settled) controller.abort(new ShadowTimeoutError(0)); // timed out while queued
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    if (statusCode < 200) return;
    this.#status = statusCode;
    const type = headers['content-type'];
    this.#contentType = Array.isArray(type) ? type[0] : type;
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#truncated) return;
    if (this.#bytes + chunk.length > this.maxBytes) {
      this.#truncated = true;
      this.#chunks.length = 0;
      return;
    }
    this.#chunks.push(chunk);
    this.#bytes += chunk.length;
  }

  onResponseEnd(): void {
    this.#settle({
      outcome: outcomeOfStatus(this.#status),
      latencyMs: performance.now() - this.startedAt,
      answer: { status: this.#status, body: this.#truncated ? undefined : Buffer.concat(this.#chunks, this.#bytes), truncated: this.#truncated, contentType: this.#contentType },
    });
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, error: Error): void {
    const timedOut = error instanceof ShadowTimeoutError || classifyTransportError(error) === 'timeout';
    const code = (error as { code?: string }).code;
    this.#settle({ outcome: timedOut ? 'timeout' : 'error', latencyMs: performance.now() - this.startedAt, answer: undefined, failure: code ?? error.message });
  }

  timeOut(error: ShadowTimeoutError): void {
    if (this.#settled) return;
    this.onResponseError(undefined, error);
    this.#controller?.abort(error);
  }

  #settle(answer: ShadowAnswer): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#chunks.length = 0;
    this.onSettled();
    this.resolve(answer);
  }
}
