// The access log: one JSON line per routed request (route, variant, status, duration, request id),
// sampled by `log.accessLogSampleRate` except 5xx answers, which are always written. Never logs bodies,
// sticky keys or query strings.
import type { Exchange, ExchangeResult } from '../server/exchange.js';
import type { Logger } from './logger.js';

export type AccessLog = (exchange: Exchange, result: ExchangeResult) => void;

/** `random` is injectable so sampling can be tested deterministically. */
export function createAccessLog(logger: Logger, random: () => number = Math.random): AccessLog {
  return (exchange, result) => {
    const { accessLog, accessLogSampleRate } = exchange.runtime.config.log;
    if (!accessLog) return;
    if (result.status < 500 && accessLogSampleRate < 1 && random() >= accessLogSampleRate) return;
    logger.info(
      {
        type: 'access',
        route: exchange.route.name,
        variant: exchange.variant.name,
        assignedBy: exchange.reason,
        path: exchange.target.path,
        status: result.status,
        durationMs: Math.round(result.latencyMs * 100) / 100,
        requestId: exchange.requestId,
        ...(result.error ? { error: result.error.message } : {}),
      },
      'request',
    );
  };
}
