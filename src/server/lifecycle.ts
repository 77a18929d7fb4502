// Process lifecycle of one abproxy instance: load config, build the runtime, start the data plane and
// the admin server, keep gauges in step with the live generation, and shut down with a drain.
import { createExperiment } from '../admin/experiment.js';
import { healthRoutes } from '../admin/health.js';
import { routesApi } from '../admin/routes-api.js';
import { startAdminServer, type AdminRoute, type AdminServer } from '../admin/admin-server.js';
import { dashboardRoutes } from '../admin/dashboard/serve.js';
import { seriesSourceOf, TimeSeries } from '../admin/timeseries.js';
import { timeseriesRoutes } from '../admin/timeseries-route.js';
import type { ReloadOthersFn } from '../cluster/reload-everywhere.js';
import type { ServedLookupFn } from '../cluster/served-lookup.js';
import { isLoopback, parseAddress, type Address } from '../config/address.js';
import { callLocalModel, streamInferReply } from '../grpc/model-service.js';
import { loadConfigFile, type LoadedConfig } from '../config/load.js';
import { ConfigReloader } from '../config/reload.js';
import { watchConfig } from '../config/watch.js';
import type { RequestVariants } from '../feedback/request-variants.js';
import { createLogger, type Logger } from '../log/logger.js';
import { configGeneration, variantWeight } from '../metrics/registry.js';
import type { MetricsSource } from '../metrics/snapshot.js';
import { InProcessModelClient } from '../models/model-client.js';
import { ModelHost } from '../models/model-host.js';
import { oipEndpointAnswer, oipLocalHandler, oipServeModel, variantOp } from '../models/oip-http.js';
import { OipService } from '../models/oip-service.js';
import { ShadowService } from '../shadow/shadow-service.js';
import { PoolSet } from '../upstream/pools.js';
import { bindFailure } from './bind-failure.js';
import { startDataPlane, type DataPlane } from './data-plane.js';
import { startHttp2Plane, type Http2Plane } from './http2-plane.js';
import type { DataPlaneHooks, LocalModelClient } from './exchange.js';
import type { DataPlaneState } from './request-handler.js';
import { RuntimeHolder, type Runtime } from './runtime.js';

export interface StartOptions {
  configPath: string;
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  /** Admin routes that take precedence over the built-in ones (a cluster worker's aggregated /metrics). */
  adminRoutes?: AdminRoute[];
  /** Where the report and status read metrics (a cluster worker: every worker's, merged); default this process's registry. */
  metricsSource?: MetricsSource;
  /** How feedback finds which variant served a request id (a cluster worker: also in the other workers); default this process's memory. */
  servedLookup?: (local: RequestVariants) => ServedLookupFn;
  /** After the admin API applies a weight change here, applies it in the other cluster workers too. */
  reloadOthers?: (reloader: ConfigReloader) => ReloadOthersFn;
  /** Listen here instead of config.admin (cluster workers that do not host the admin API). */
  adminListen?: { host: string; port: number; exclusive: boolean };
  /** Reload the config file when it changes (default true). */
  watch?: boolean;
}

export interface Abproxy {
  readonly loaded: LoadedConfig;
  readonly holder: RuntimeHolder;
  readonly dataPlane: DataPlane;
  /** The HTTP/2 listener, when the config has `http2`. */
  readonly http2Plane: Http2Plane | undefined;
  readonly admin: AdminServer;
  readonly logger: Logger;
  readonly state: DataPlaneState;
  readonly models: ModelHost;
  /** Runs OIP infer bodies on local models in-process (for model: shadows). */
  readonly modelClient: LocalModelClient;
  readonly shadows: ShadowService;
  /** Re-reads the config file (the watcher, SIGHUP and the admin API call it). */
  readonly reloader: ConfigReloader;
  /** Drains the data plane (up to graceMs), then closes the admin server and upstream pools (these within POOL_CLOSE_GRACE_MS). */
  close(graceMs?: number): Promise<void>;
}

/**
 * How long the upstream pools may take to close once the drain is over. By then every client connection is
 * closed and the relays have aborted their requests (one undici still had queued is aborted, unsent, when
 * undici takes it up), so a pool closes at once; the grace bounds the shutdown should one still hold a request.
 */
const POOL_CLOSE_GRACE_MS = 1_000;

export async function startAbproxy(options: StartOptions): Promise<Abproxy> {
  const loaded = loadConfigFile(options.configPath, options.env);
  const { config } = loaded;
  const logger = options.logger ?? createLogger(config.log.level, config.log.maxBufferBytes);
  const listen = mustAddress(config.listen);
  const listenHttp2 = config.http2 && mustAddress(config.http2.listen);
  const adminAddress = mustAddress(config.admin);
  if (!isLoopback(adminAddress.host) && !config.adminToken) {
    throw new Error(`admin address ${config.admin} is not loopback: set adminToken before exposing the admin API`);
  }
  const holder = new RuntimeHolder(config);
  const pools = new PoolSet(config.limits);
  const state: DataPlaneState = { draining: false };
  const models = new ModelHost(config.modelPool, logger);
  const oip = new OipService(models, () => holder.current.config.limits.upstreamTimeoutMs);
  const modelClient = new InProcessModelClient(oip);
  const shadows = new ShadowService({ holder, logger, models: () => modelClient });
  const experiment = createExperiment(holder, logger, options.metricsSource, options.servedLookup);
  const hooks: DataPlaneHooks = {
    localHandlers: [experiment.localHandler, oipLocalHandler(oip)],
    serveModel: oipServeModel(oip),
    callGrpcModel: (model, method, body, requestId) => callLocalModel(oip, model, method, body, requestId),
    streamGrpcModel: (model, message, requestId) => streamInferReply(oip, model, message, requestId),
    answerModelRest: (model, path, method, body, inferenceHeader, requestId) => oipEndpointAnswer(oip, variantOp(path, method, model), method, body, inferenceHeader, requestId),
    ...shadows.hooks(),
    onExchangeEnd: experiment.onExchangeEnd,
    onRefused: experiment.onRefused,
  };

  publishGauges(holder.current);
  experiment.apply(holder.current);
  holder.onSwap((next) => {
    publishGauges(next);
    experiment.apply(next);
    const targets = next.routes.routes.flatMap((r) => [...r.variants, ...r.shadows]).flatMap((v) => [v.target, v.grpcTarget]);
    const origins = new Set(targets.flatMap((t) => (t.kind === 'http' ? [t.origin] : [])));
    pools.retain(origins, next.config.limits).catch((error: unknown) => logger.warn({ err: error }, 'closing a retired upstream pool failed'));
    models.apply(next.config.models);
  });

  const reloader = new ConfigReloader({ path: options.configPath, holder, logger, started: loaded, env: options.env });
  const deps = { holder, pools, state, hooks };
  // What a start that fails part-way closes again, newest first.
  const undo: (() => unknown)[] = [];
  const failStart = async (error: unknown): Promise<never> => {
    for (const step of undo.reverse()) await step();
    throw error;
  };
  await shadows.ready();
  undo.push(() => pools.closeAll(POOL_CLOSE_GRACE_MS), () => shadows.close());
  const dataPlane = await startDataPlane(deps, config.limits, listen.host, listen.port, (error) => logger.error({ err: error }, 'upgrade request failed; its connection was closed')).catch((error: unknown) => failStart(bindFailure('listen', config.listen, error)));
  undo.push(() => dataPlane.drain(0));
  const http2Plane = config.http2 && listenHttp2 ? await startHttp2Plane(deps, config.limits, config.http2, listenHttp2.host, listenHttp2.port, options.watch === false ? undefined : { logger }, dataPlane.server).catch((error: unknown) =>
    failStart((error as { syscall?: string }).syscall === 'listen' ? bindFailure('http2.listen', config.http2?.listen ?? '', error) : error),
  ) : undefined;
  if (http2Plane) undo.push(() => http2Plane.drain(0));
  const drainAll = (graceMs: number) => Promise.all([dataPlane.drain(graceMs), http2Plane?.drain(graceMs)]);
  const notReadyReason = () => {
    if (state.draining) return 'draining';
    const loading = models.notReady();
    return loading.length > 0 ? `models not loaded: ${loading.join(', ')}` : undefined;
  };
  const seriesSource = () => seriesSourceOf(holder.current);
  const series = new TimeSeries(seriesSource);
  const adminRoutes: AdminRoute[] = [
    ...(options.adminRoutes ?? []),
    ...timeseriesRoutes(series, seriesSource),
    ...dashboardRoutes(),
    ...healthRoutes({ notReadyReason }),
    ...experiment.adminRoutes,
    ...routesApi({ configPath: options.configPath, holder, reloader, reloadOthers: options.reloadOthers?.(reloader), fileWatched: options.watch !== false, logger, env: options.env }),
  ];
  const adminListen = options.adminListen ?? { ...adminAddress, exclusive: false };
  const admin = await startAdminServer(adminRoutes, adminListen.host, adminListen.port, (error) => logger.error({ err: error }, 'admin request failed'), adminListen.exclusive).catch((error: unknown) =>
    failStart(bindFailure('admin', `${adminListen.host}:${adminListen.port}`, error)),
  );
  undo.push(() => admin.close());
  logger.info({ address: `${dataPlane.address.address}:${dataPlane.address.port}` }, 'data plane listening');
  if (http2Plane) logger.info({ address: `${http2Plane.address.address}:${http2Plane.address.port}` }, 'HTTP/2 data plane listening');
  logger.info({ address: `${admin.address.address}:${admin.address.port}` }, 'admin listening');
  series.start((error) => logger.warn({ err: error }, 'time-series sample failed'));
  undo.push(() => series.stop(), () => models.close());
  await models.start(config.models).catch(failStart);
  if (Object.keys(config.models).length > 0) logger.info({ models: models.names() }, 'local models loaded');
  const watcher =
    options.watch === false ? undefined : watchConfig(options.configPath, () => reloader.reload('watch'), { onError: (error) => logger.warn({ err: error }, 'config watch') });

  return {
    loaded,
    holder,
    dataPlane,
    http2Plane,
    admin,
    logger,
    state,
    models,
    modelClient,
    shadows,
    reloader,
    async close(graceMs = 30_000) {
      watcher?.close();
      series.stop();
      await drainAll(graceMs);
      await shadows.close();
      await admin.close();
      const destroyed = await pools.closeAll(POOL_CLOSE_GRACE_MS);
      if (destroyed > 0) logger.warn({ pools: destroyed, graceMs: POOL_CLOSE_GRACE_MS }, 'upstream requests still open after the drain were aborted');
      await models.close();
    },
  };
}

function publishGauges(runtime: Runtime): void {
  configGeneration.set(runtime.generation);
  variantWeight.reset();
  for (const route of runtime.routes.routes) {
    for (const variant of route.variants) variantWeight.labels({ route: route.name, variant: variant.name }).set(variant.weight);
  }
}

function mustAddress(value: string): Address {
  const { address, problem } = parseAddress(value);
  if (!address) throw new Error(problem);
  return address;
}
