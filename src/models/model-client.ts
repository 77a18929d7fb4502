// The in-process LocalModelClient: runs an OIP infer body on a local model without HTTP, for shadows
// and other callers whose target is model:NAME. Never rejects; an abort answers 504 at once.
import { errorBody } from '../http/errors.js';
import type { LocalModelClient } from '../server/exchange.js';
import type { OipService } from './oip-service.js';

export class InProcessModelClient implements LocalModelClient {
  constructor(private readonly service: OipService) {}

  async infer(model: string, body: Buffer, signal: AbortSignal, jsonLength?: number): Promise<{ status: number; contentType: string; body: Buffer }> {
    const aborted = { status: 504, body: errorBody('ABPROXY_UPSTREAM_TIMEOUT', `model "${model}" run was abandoned: ${String(signal.reason ?? 'aborted')}`) };
    if (signal.aborted) return asResult(aborted);
    let onAbort: (() => void) | undefined;
    const abandoned = new Promise<typeof aborted>((resolve) => {
      onAbort = () => resolve(aborted);
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return asResult(await Promise.race([this.service.infer(model, undefined, body, { jsonLength }), abandoned]));
    } finally {
      if (onAbort) signal.removeEventListener('abort', onAbort);
    }
  }
}

function asResult(answer: { status: number; body: string }): { status: number; contentType: string; body: Buffer } {
  return { status: answer.status, contentType: 'application/json', body: Buffer.from(answer.body) };
}
