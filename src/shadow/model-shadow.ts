// Sends one shadow copy to a model served in-process (target model:NAME) through the LocalModelClient,
// as an OIP REST body or, for a gRPC call, as that call; bounded by timeoutMs (the signal aborts the
// inference). Resolves exactly once; never rejects.
import { performance } from 'node:perf_hooks';
import type { LocalModelClient } from '../server/exchange.js';
import { outcomeOfStatus, type ShadowAnswer } from './answer.js';
import { ShadowTimeoutError } from './http-shadow.js';

export interface ModelShadowRequest {
  client: LocalModelClient | undefined;
  model: string;
  body: Buffer | undefined;
  /** The request's Inference-Header-Content-Length, when its body uses the binary tensor extension. */
  jsonLength: number | undefined;
  timeoutMs: number;
  maxBytes: number;
  /** The method path of a gRPC call (the body is its framed request message). */
  grpcMethod?: string | undefined;
}

export function sendModelShadow(request: ModelShadowRequest): Promise<ShadowAnswer> {
  const startedAt = performance.now();
  const elapsed = () => performance.now() - startedAt;
  const { client } = request;
  if (!client) return Promise.resolve({ outcome: 'error', latencyMs: 0, answer: undefined, failure: 'ABPROXY_MODEL_UNAVAILABLE' });
  return new Promise((resolve) => {
    const controller = new AbortController();
    let settled = false;
    const settle = (answer: ShadowAnswer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(answer);
    };
    const timer = setTimeout(() => {
      const error = new ShadowTimeoutError(request.timeoutMs);
      settle({ outcome: 'timeout', latencyMs: elapsed(), answer: undefined, failure: error.code });
      controller.abort(error);
    }, request.timeoutMs);
    let running: ReturnType<LocalModelClient['infer']>;
    try {
      const body = request.body ?? Buffer.alloc(0);
      running = request.grpcMethod ? client.callGrpc(request.model, request.grpcMethod, body, controller.signal) : client.infer(request.model, body, controller.signal, request.jsonLength);
    } catch (error) {
      running = Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    running.then(
      ({ status, body, fields }) => {
        const truncated = body.length > request.maxBytes;
        settle({ outcome: outcomeOfStatus(status, fields.grpcStatus), latencyMs: elapsed(), answer: { status, body: truncated ? undefined : body, truncated, ...fields } });
      },
      (error: unknown) => settle({ outcome: 'error', latencyMs: elapsed(), answer: undefined, failure: (error as { code?: string }).code ?? String(error) }),
    );
  });
}
