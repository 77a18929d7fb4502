// Wires the experiment features into one instance: feedback on both planes, the request-id memory
// filled as exchanges end, the access log (of routed and refused requests), the report endpoints and
// the zero-initialised series.
// Everything here runs after the answer is decided and never throws into the request path.
import type { ServedLookupFn } from '../cluster/served-lookup.js';
import { RequestVariants } from '../feedback/request-variants.js';
import { createAccessLog } from '../log/access-log.js';
import type { Logger } from '../log/logger.js';
import { createKnownSeries } from '../metrics/known-series.js';
import { localMetrics, type MetricsSource } from '../metrics/snapshot.js';
import type { Exchange, ExchangeResult, LocalHandler, RefusedRequest } from '../server/exchange.js';
import type { Runtime, RuntimeHolder } from '../server/runtime.js';
import type { AdminRoute } from './admin-server.js';
import { feedbackAdminRoute, feedbackLocalHandler } from './feedback.js';
import { reportRoutes } from './report.js';

export interface Experiment {
  localHandler: LocalHandler;
  adminRoutes: AdminRoute[];
  onExchangeEnd: (exchange: Exchange, result: ExchangeResult) => void;
  onRefused: (refused: RefusedRequest) => void;
  /** Call for every live generation (at start and after each swap). */
  apply(runtime: Runtime): void;
}

/** `servedLookup`: how feedback looks a request id up beyond `served` (cluster workers); default `served` alone. */
export function createExperiment(holder: RuntimeHolder, logger: Logger, metrics: MetricsSource = localMetrics, servedLookup?: (local: RequestVariants) => ServedLookupFn): Experiment {
  const served = new RequestVariants(holder.current.config.feedback.requestIdCacheSize);
  const accessLog = createAccessLog(logger);
  const lookup: ServedLookupFn = servedLookup?.(served) ?? ((requestId) => Promise.resolve(served.lookup(requestId)));
  const deps = { holder, lookup };
  return {
    localHandler: feedbackLocalHandler(deps),
    adminRoutes: [feedbackAdminRoute(deps), ...reportRoutes(holder, metrics)],
    onExchangeEnd: (exchange, result) => {
      try {
        served.remember(exchange.requestId, exchange.route.name, exchange.variant.name);
        accessLog.exchange(exchange, result);
      } catch (error) {
        logger.warn({ err: error }, 'recording the end of a request failed');
      }
    },
    onRefused: (refused) => {
      try {
        accessLog.refused(refused);
      } catch (error) {
        logger.warn({ err: error }, 'recording a refused request failed');
      }
    },
    apply(runtime) {
      served.resize(runtime.config.feedback.requestIdCacheSize);
      createKnownSeries(runtime);
    },
  };
}
