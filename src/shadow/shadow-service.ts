// Shadow traffic for the data plane: samples each routed request per shadow, drops copies beyond
// maxInFlight (counted), sends the rest (HTTP pool, over HTTP/2 for gRPC; or local model), and once the
// primary's and every shadow's answer are in hands the exchange to the shadow log thread, which
// compares and records it.
// Never awaited by the primary response; nothing here can fail or delay it.
import { resolve } from 'node:path';
import type { Logger } from '../log/logger.js';
import { perWorkerLimit } from '../cluster/share.js';
import { workerIdentity } from '../cluster/worker.js';
import { isGrpc } from '../grpc/status.js';
import { stripHopByHop } from '../http/hop-by-hop.js';
import { INFERENCE_HEADER, inferenceHeaderLength } from '../http/inference-header.js';
import type { CompiledRoute, CompiledShadow } from '../routing/route-table.js';
import type { DataPlaneHooks, Exchange, ExchangeResult, LocalModelClient, MirroredRequest } from '../server/exchange.js';
import type { Runtime, RuntimeHolder } from '../server/runtime.js';
import { PoolSet } from '../upstream/pools.js';
import type { Answer, ShadowAnswer } from './answer.js';
import { sendHttpShadow } from './http-shadow.js';
import { workerLogPath } from './log-files.js';
import { sendModelShadow } from './model-shadow.js';
import { ShadowLogThread } from './log-thread.js';
import { shadowSeries } from './shadow-metrics.js';

export interface ShadowServiceOptions {
  holder: RuntimeHolder;
  logger: Logger;
  /** The in-process model client for model:NAME shadows, once local models are available. */
  models?: () => LocalModelClient | undefined;
  /** This process's cluster worker slot (default: from the environment of `serve --workers N`); each slot writes its own log file with its share of maxBytes. */
  shard?: { slot: number; count: number } | undefined;
}

/** Request headers a shadow copy must not carry as received (the proxy sets its own). */
const SHADOW_DROPPED_HEADERS: ReadonlySet<string> = new Set(['expect', 'content-length', 'x-request-id', 'x-abproxy-shadow']);

interface Pending {
  shadow: CompiledShadow;
  /** Undefined when the copy was dropped at maxInFlight. */
  result: Promise<ShadowAnswer> | undefined;
}

export class ShadowService {
  readonly #holder: RuntimeHolder;
  readonly #logger: Logger;
  readonly #models: () => LocalModelClient | undefined;
  readonly #shard: { slot: number; count: number } | undefined;
  readonly #pools: PoolSet;
  readonly #inFlight = new Map<string, number>();
  #log: ShadowLogThread | undefined;
  #logFailures = 0;

  constructor(options: ShadowServiceOptions) {
    this.#holder = options.holder;
    this.#logger = options.logger;
    this.#models = options.models ?? (() => undefined);
    const shard = options.shard ?? workerIdentity();
    this.#shard = shard && shard.count > 1 ? shard : undefined;
    this.#pools = new PoolSet(options.holder.current.config.limits);
    this.#apply(options.holder.current);
    options.holder.onSwap((next) => this.#apply(next));
  }

  /** The data-plane hooks that mirror requests through this service. */
  hooks(): Pick<DataPlaneHooks, 'wantsShadows' | 'startShadows' | 'captureBytes'> {
    return {
      wantsShadows: (route) => route.shadows.length > 0,
      captureBytes: (route) => (route.shadows.length > 0 ? this.#holder.current.config.limits.maxBodyBytes : 0),
      startShadows: (exchange, req) => this.start(exchange, req),
    };
  }

  /** Copies in flight for one route's shadow (what maxInFlight bounds). */
  inFlight(route: string, shadow: string): number {
    return this.#inFlight.get(slotId(route, shadow)) ?? 0;
  }

  get log(): ShadowLogThread | undefined {
    return this.#log;
  }

  /** Mirrors one exchange; the returned callback takes the primary's result. Undefined when nothing was sent. */
  start(exchange: Exchange, req: MirroredRequest): ((primary: ExchangeResult) => void) | undefined {
    const { route } = exchange;
    if (route.shadows.length === 0) return undefined;
    const pending: Pending[] = [];
    let sent = 0;
    let headers: string[] | undefined;
    for (const shadow of route.shadows) {
      const { name, percent, maxInFlight } = shadow.config;
      if (percent < 100 && Math.random() * 100 >= percent) continue;
      const series = shadowSeries(route.name, name);
      const id = slotId(route.name, name);
      const active = this.#inFlight.get(id) ?? 0;
      if (active >= perWorkerLimit(maxInFlight, this.#shard)) {
        series.outcomes.dropped.inc();
        pending.push({ shadow, result: undefined });
        continue;
      }
      this.#inFlight.set(id, active + 1);
      sent++;
      headers ??= shadowHeaders(req, exchange.requestId);
      const result = this.#send(shadow, exchange, req, headers).then((answer) => {
        this.#inFlight.set(id, (this.#inFlight.get(id) ?? 1) - 1);
        series.outcomes[answer.outcome].inc();
        series.duration.observe(answer.latencyMs / 1000);
        return answer;
      });
      pending.push({ shadow, result });
    }
    if (sent === 0) return undefined;
    const method = req.method ?? 'GET';
    return (primary) => {
      this.#record(exchange, method, pending, primary).catch((error: unknown) => this.#logger.warn({ err: error }, 'shadow record failed'));
    };
  }

  /** Stops every copy in flight (a shadow never holds up shutdown) and flushes the shadow log. */
  async close(): Promise<void> {
    await this.#pools.destroyAll();
    await this.#log?.close();
  }

  /** `headers`: the request's as every copy carries them. A gRPC copy travels over HTTP/2, like its request. */
  #send(shadow: CompiledShadow, exchange: Exchange, req: MirroredRequest, headers: string[]): Promise<ShadowAnswer> {
    const { timeoutMs } = shadow.config;
    const maxBytes = exchange.runtime.config.limits.maxBodyBytes;
    const grpc = isGrpc(req.headers['content-type']);
    const target = grpc ? shadow.grpcTarget : shadow.target;
    if (target.kind === 'model') {
      const { body } = exchange;
      const jsonLength = body && inferenceHeaderLength(req.headers[INFERENCE_HEADER], body.length);
      return sendModelShadow({ client: this.#models(), model: target.model, body, jsonLength, timeoutMs, maxBytes, grpcMethod: grpc ? exchange.target.path : undefined });
    }
    const query = exchange.target.query ? `?${exchange.target.query}` : '';
    return sendHttpShadow({
      dispatcher: this.#pools.get(target.origin, grpc),
      origin: target.origin,
      path: target.basePath + exchange.target.path + query,
      method: req.method ?? 'GET',
      headers: [...headers, 'x-abproxy-shadow', `${exchange.route.name}/${shadow.config.name}`, ...(grpc ? ['te', 'trailers'] : [])],
      body: exchange.body,
      timeoutMs,
      maxBytes,
    });
  }

  async #record(exchange: Exchange, method: string, pending: Pending[], primary: ExchangeResult): Promise<void> {
    const { route } = exchange;
    const primaryAnswer: Answer | undefined = primary.error
      ? undefined
      : { status: primary.status, body: primary.body, truncated: primary.bodyTruncated ?? false, contentType: undefined, ...primary.fields };
    const results = await Promise.all(pending.map((p) => p.result ?? Promise.resolve(undefined)));
    const shadows = pending.map(({ shadow: { config } }, i) => ({ name: config.name, target: config.target, tolerance: config.tolerance, ignore: config.ignore, result: results[i] }));
    const failure = primary.error ? ((primary.error as { code?: string }).code ?? primary.error.message) : undefined;
    this.#log?.append({
      route: route.name,
      requestId: exchange.requestId,
      key: exchange.key,
      variant: exchange.variant.name,
      method,
      path: exchange.target.path,
      body: exchange.body,
      primary: { status: primary.status, answer: primaryAnswer, latencyMs: primary.latencyMs, ...(failure ? { failure } : {}) },
      shadows,
      captureBodies: exchange.runtime.config.shadowLog.captureBodies,
    });
  }

  /** Creates series at zero, keeps pools for live shadow origins, and (re)opens the log when its settings change. */
  #apply(runtime: Runtime): void {
    const routes = runtime.routes.routes.filter((r) => r.shadows.length > 0);
    for (const route of routes) for (const shadow of route.shadows) shadowSeries(route.name, shadow.config.name);
    const origins = new Set(routes.flatMap(httpOrigins));
    this.#pools.retain(origins, runtime.config.limits).catch((error: unknown) => this.#logger.warn({ err: error }, 'closing a retired shadow pool failed'));
    const { path } = runtime.config.shadowLog;
    const file = this.#shard ? workerLogPath(resolve(path), this.#shard.slot) : resolve(path);
    const maxBytes = Math.floor(runtime.config.shadowLog.maxBytes / (this.#shard?.count ?? 1));
    if (routes.length === 0 || (this.#log && this.#log.path === file && this.#log.maxBytes === maxBytes)) return;
    const previous = this.#log;
    this.#log = new ShadowLogThread({ path: file, maxBytes, onError: (error) => this.#onLogError(error) });
    previous?.close().catch(() => undefined);
  }

  #onLogError(error: Error): void {
    // One warning per 1000 failed writes: a full or read-only disk must not flood the process log.
    if (this.#logFailures++ % 1000 === 0) this.#logger.warn({ err: error, failures: this.#logFailures }, 'shadow log write failed; records dropped');
  }
}

function slotId(route: string, shadow: string): string {
  return `${route}\u0000${shadow}`;
}

function httpOrigins(route: CompiledRoute): string[] {
  return route.shadows.flatMap((s) => [s.target, s.grpcTarget]).flatMap((t) => (t.kind === 'http' ? [t.origin] : []));
}

/** The client's headers minus hop-by-hop fields (RFC 9110 §7.6.1), with the exchange's request id. */
function shadowHeaders(req: MirroredRequest, requestId: string): string[] {
  return [...stripHopByHop(req.rawHeaders, SHADOW_DROPPED_HEADERS), 'x-request-id', requestId];
}
