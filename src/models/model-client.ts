// The in-process LocalModelClient: runs an OIP infer body on a local model without HTTP, for shadows
// and other callers whose target is model:NAME. Never rejects; an abort answers 504 at once.
import { ProxyError } from '../http/errors.js';
import type { LocalModelClient } from '../server/exchange.js';
import { errorAnswer, type OipAnswer, type OipService } from './oip-service.js';

export class InProcessModelClient implements LocalModelClient {
  constructor(private readonly service: OipService) {}

  async infer(model: string, body: Buffer, signal: AbortSignal, jsonLength?: number): Promise<OipAnswer> {
    const aborted = errorAnswer(new ProxyError('ABPROXY_UPSTREAM_TIMEOUT', `model "${model}" run was abandoned: ${String(signal.reason ?? 'aborted')}`));
    if (signal.aborted) return aborted;
    let onAbort: (() => void) | undefined;
    const abandoned = new Promise<OipAnswer>((resolve) => {
      onAbort = () => resolve(aborted);
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([this.service.infer(model, undefined, body, { jsonLength }), abandoned]);
    } finally {
      if (onAbort) signal.removeEventListener('abort', onAbort);
    }
  }
}
