// The in-process LocalModelClient: runs an OIP infer body (or an OIP gRPC call) on a local model without
// a network hop, for shadows and other callers whose target is model:NAME. Never rejects; an abort
// answers 504 at once.
import { callLocalModel } from '../grpc/model-service.js';
import { ProxyError } from '../http/errors.js';
import type { LocalModelClient } from '../server/exchange.js';
import { errorAnswer, type OipAnswer, type OipService } from './oip-service.js';

export class InProcessModelClient implements LocalModelClient {
  constructor(private readonly service: OipService) {}

  infer(model: string, body: Buffer, signal: AbortSignal, jsonLength?: number): Promise<OipAnswer> {
    return untilAborted(model, signal, () => this.service.infer(model, undefined, body, { jsonLength }));
  }

  callGrpc(model: string, method: string, body: Buffer, signal: AbortSignal): Promise<OipAnswer> {
    return untilAborted(model, signal, async () => {
      const answer = await callLocalModel(this.service, model, method, body);
      const fields = { contentType: 'application/grpc', grpcStatus: String(answer.grpcStatus), ...(answer.message ? { grpcMessage: answer.message } : {}) };
      return { status: 200, body: answer.body, fields };
    });
  }
}

/** The run's answer, or a 504 answer as soon as the signal aborts. */
async function untilAborted(model: string, signal: AbortSignal, run: () => Promise<OipAnswer>): Promise<OipAnswer> {
  const aborted = errorAnswer(new ProxyError('ABPROXY_UPSTREAM_TIMEOUT', `model "${model}" run was abandoned: ${String(signal.reason ?? 'aborted')}`));
  if (signal.aborted) return aborted;
  let onAbort: (() => void) | undefined;
  const abandoned = new Promise<OipAnswer>((resolve) => {
    onAbort = () => resolve(aborted);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([run(), abandoned]);
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}
