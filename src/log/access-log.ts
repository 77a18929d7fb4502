// The access log: one JSON line per request, routed (route, variant, how it was assigned, status,
// duration, request id) or answered before it reached a variant (no route, malformed, too large, a drain),
// each with its method, path and client address; sampled by `log.accessLogSampleRate` except 5xx answers,
// which are always written. Never logs bodies, sticky keys or query strings.
import type { Exchange, ExchangeResult, RefusedRequest } from '../server/exchange.js';
import type { Runtime } from '../server/runtime.js';
import type { Logger } from './logger.js';

export interface AccessLog {
  exchange(exchange: Exchange, result: ExchangeResult): void;
  refused(refused: RefusedRequest): void;
}

/** `random` is injectable so sampling can be tested deterministically. */
export function createAccessLog(logger: Logger, random: () => number = Math.random): AccessLog {
  const wanted = (runtime: Runtime, status: number): boolean => {
    const { accessLog, accessLogSampleRate } = runtime.config.log;
    return accessLog && (status >= 500 || accessLogSampleRate >= 1 || random() < accessLogSampleRate);
  };
  const durationMs = (latencyMs: number) => Math.round(latencyMs * 100) / 100;
  return {
    exchange(exchange, result) {
      if (!wanted(exchange.runtime, result.status)) return;
      logger.info(
        {
          type: 'access',
          method: exchange.method,
          path: exchange.target.path,
          client: exchange.client,
          route: exchange.route.name,
          variant: exchange.variant.name,
          assignedBy: exchange.reason,
          status: result.status,
          durationMs: durationMs(result.latencyMs),
          requestId: exchange.requestId,
          ...(result.error ? { error: result.error.message } : {}),
        },
        'request',
      );
    },
    refused(refused) {
      if (!wanted(refused.runtime, refused.status)) return;
      const { method, path, client, route, status, error, latencyMs } = refused;
      logger.info({ type: 'access', method, path, client, route, variant: 'none', status, durationMs: durationMs(latencyMs), error }, 'request');
    },
  };
}
