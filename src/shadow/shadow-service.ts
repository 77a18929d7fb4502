// Shadow traffic for the data plane: samples each routed request per shadow, drops copies beyond
// maxInFlight (counted), and sends the rest: HTTP copies (over HTTP/2 for gRPC) from the shadow worker
// thread when a core is to spare for it (shadowCopies), else from here like local-model copies. Once the
// primary has ended its answer follows, and the worker compares and records the exchange when every
// answer is in.
// Never awaited by the primary response; nothing here can fail or delay it.
import { resolve } from 'node:path';
import { resolveWorkerCount } from '../cluster/worker-count.js';
import type { Logger } from '../log/logger.js';
import { perWorkerLimit } from '../cluster/share.js';
import { workerIdentity } from '../cluster/worker.js';
import { grpcEncodingOf, uncompressedBody } from '../grpc/framing.js';
import { isGrpc } from '../grpc/status.js';
import { decodedBody } from '../http/content-decoding.js';
import { INFERENCE_HEADER, inferenceHeaderLength } from '../http/inference-header.js';
import type { CompiledRoute, CompiledShadow } from '../routing/route-table.js';
import type { DataPlaneHooks, Exchange, ExchangeResult, LocalModelClient, MirroredRequest } from '../server/exchange.js';
import { DROPPED_REQUEST_HEADERS, upstreamHeaders } from '../server/request-context.js';
import type { Runtime, RuntimeHolder } from '../server/runtime.js';
import { PoolSet } from '../upstream/pools.js';
import type { Answer, ShadowAnswer, ShadowOutcome } from './answer.js';
import { sendShadowCopy } from './http-shadow.js';
import { workerLogPath } from './log-files.js';
import { sendModelShadow } from './model-shadow.js';
import { mirroredExchange, type ExchangeHead, type PrimaryPart, type PrimaryShadow, type ShadowCopy } from './shadow-protocol.js';
import { ShadowThread } from './shadow-thread.js';
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
/** Left out of a copy besides what the primary's request leaves out: its length (undici sets it) and the tag it sets itself. */
const SHADOW_DROPPED_HEADERS: ReadonlySet<string> = new Set([...DROPPED_REQUEST_HEADERS, 'content-length', 'x-abproxy-shadow']);

/** One of the exchange's shadows: its copy's index in the mirror, its answer to come on this thread, or neither (dropped). */
interface Planned {
  shadow: CompiledShadow;
  copy?: number;
  here?: Promise<ShadowAnswer>;
}

/** True when this process has a core beyond its share for the shadow worker to send copies on. */
function coreToSpare(shard: { count: number } | undefined): boolean {
  return resolveWorkerCount('auto') > (shard?.count ?? 1);
}

export class ShadowService {
  readonly #holder: RuntimeHolder;
  readonly #logger: Logger;
  readonly #models: () => LocalModelClient | undefined;
  readonly #shard: { slot: number; count: number } | undefined;
  readonly #inFlight = new Map<string, number>();
  /** Pools for copies sent from this thread. */
  readonly #pools: PoolSet;
  /** Counted again on every config swap: a container's CPU limit can change while it runs. */
  #coreToSpare = false;
  #thread: ShadowThread | undefined;
  #failures = 0;

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

  /** The shadow worker (it sends the copies and writes the log). */
  get log(): ShadowThread | undefined {
    return this.#thread;
  }

  /** Mirrors one exchange; the returned callback takes the primary's result. Undefined when nothing was sent. */
  start(exchange: Exchange, req: MirroredRequest): ((primary: ExchangeResult) => void) | undefined {
    const { route } = exchange;
    const thread = this.#thread;
    if (route.shadows.length === 0 || !thread) return undefined;
    const grpc = isGrpc(req.headers['content-type']);
    const { shadowCopies } = exchange.runtime.config;
    const fromWorker = shadowCopies === 'worker' || (shadowCopies === 'auto' && this.#coreToSpare);
    const planned: Planned[] = [];
    const copies: ShadowCopy[] = [];
    let here = 0;
    const head: ExchangeHead = {
      route: route.name,
      requestId: exchange.requestId,
      key: exchange.key,
      variant: exchange.variant.name,
      method: req.method ?? 'GET',
      path: exchange.target.path,
      captureBodies: exchange.runtime.config.shadowLog.captureBodies,
      body: exchange.body,
    };
    const grpcEncoding = grpc ? grpcEncodingOf(req.headers['grpc-encoding']) : undefined;
    if (grpcEncoding !== undefined) head.grpcEncoding = grpcEncoding;
    let headers: string[] | undefined;
    for (const shadow of route.shadows) {
      const { name, percent, maxInFlight } = shadow.config;
      if (percent < 100 && Math.random() * 100 >= percent) continue;
      if (this.inFlight(route.name, name) >= perWorkerLimit(maxInFlight, this.#shard)) {
        shadowSeries(route.name, name).outcomes.dropped.inc();
        planned.push({ shadow });
        continue;
      }
      const target = grpc ? shadow.grpcTarget : shadow.target;
      if (target.kind === 'model') {
        this.#started(route.name, name);
        here++;
        planned.push({ shadow, here: this.#sendLocal(shadow, exchange, req, target.model, grpc) });
        continue;
      }
      headers ??= shadowHeaders(req, exchange.runtime, exchange.requestId);
      const copy: ShadowCopy = {
        shadow: name,
        origin: target.origin,
        path: target.basePath + exchange.target.path + (exchange.target.query ? `?${exchange.target.query}` : ''),
        http2: grpc,
        headers: [...headers, 'x-abproxy-shadow', `${route.name}/${name}`, ...(grpc ? ['te', 'trailers'] : [])],
        timeoutMs: shadow.config.timeoutMs,
        maxBytes: exchange.runtime.config.limits.maxBodyBytes,
      };
      if (fromWorker) {
        planned.push({ shadow, copy: copies.length });
        copies.push(copy);
      } else {
        this.#started(route.name, name);
        here++;
        planned.push({ shadow, here: this.#sendHttp(route.name, copy, head.method, exchange.body) });
      }
    }
    const id = copies.length > 0 ? thread.mirror(route.name, head, copies) : undefined;
    if (copies.length > 0) {
      for (const entry of planned) {
        if (entry.copy === undefined) continue;
        if (id === undefined) {
          shadowSeries(route.name, entry.shadow.config.name).outcomes.dropped.inc();
          delete entry.copy;
        } else this.#started(route.name, entry.shadow.config.name);
      }
    }
    if (id === undefined && here === 0) return undefined;
    return (primary) => {
      this.#complete(thread, id, head, planned, primary).catch((error: unknown) => this.#logger.warn({ err: error }, 'shadow record failed'));
    };
  }

  /** Settles once the shadow worker has loaded (a route with shadows starts it), so the first copies leave at once. */
  async ready(): Promise<void> {
    await this.#thread?.ready();
  }

  /** Stops every copy in flight (a shadow never holds up shutdown) and flushes the shadow log. */
  async close(): Promise<void> {
    await this.#pools.destroyAll();
    await this.#thread?.close();
  }

  #sendHttp(route: string, copy: ShadowCopy, method: string, body: Buffer | undefined): Promise<ShadowAnswer> {
    return sendShadowCopy(this.#pools, copy, method, body).then((answer) => {
      this.#settled(route, copy.shadow, answer.outcome, answer.latencyMs);
      return answer;
    });
  }

  /** A gRPC call reaches the model with its messages uncompressed, as local models read them (one that cannot be read goes as it came, and is refused). */
  #sendLocal(shadow: CompiledShadow, exchange: Exchange, req: MirroredRequest, model: string, grpc: boolean): Promise<ShadowAnswer> {
    const { timeoutMs } = shadow.config;
    const maxBytes = exchange.runtime.config.limits.maxBodyBytes;
    const body = !exchange.body ? undefined
      : grpc ? (uncompressedBody(exchange.body, grpcEncodingOf(req.headers['grpc-encoding']), maxBytes) ?? exchange.body)
      : (decodedBody(exchange.body, req.headers['content-encoding'], maxBytes) ?? exchange.body);
    const jsonLength = body && inferenceHeaderLength(req.headers[INFERENCE_HEADER], body.length);
    return sendModelShadow({ client: this.#models(), model, body, jsonLength, timeoutMs, maxBytes, grpcMethod: grpc ? exchange.target.path : undefined }).then((answer) => {
      this.#settled(exchange.route.name, shadow.config.name, answer.outcome, answer.latencyMs);
      return answer;
    });
  }

  /** Hands the primary's answer (and those of the copies sent from here, once in) to the worker: as the mirror's primary part, or as a whole exchange. */
  async #complete(thread: ShadowThread, id: number | undefined, head: ExchangeHead, planned: Planned[], primary: ExchangeResult): Promise<void> {
    const answer: Answer | undefined = primary.error
      ? undefined
      : { status: primary.status, body: primary.body, truncated: primary.bodyTruncated ?? false, contentType: undefined, ...primary.fields };
    const failure = primary.error ? ((primary.error as { code?: string }).code ?? primary.error.message) : undefined;
    const results = planned.some((p) => p.here !== undefined) ? await Promise.all(planned.map((p) => p.here ?? Promise.resolve(undefined))) : [];
    const shadows = planned.map(({ shadow: { config }, copy }, i) => {
      const shadow: PrimaryShadow = { name: config.name, target: config.target, tolerance: config.tolerance, ignore: config.ignore, result: results[i] };
      if (copy !== undefined) shadow.copy = copy;
      return shadow;
    });
    const part: PrimaryPart = { time: Date.now(), primary: { status: primary.status, answer, latencyMs: primary.latencyMs, ...(failure ? { failure } : {}) }, shadows };
    if (id === undefined) thread.append(mirroredExchange(head, part.primary, part.shadows));
    else thread.complete(id, part);
  }

  #started(route: string, shadow: string): void {
    const id = slotId(route, shadow);
    this.#inFlight.set(id, (this.#inFlight.get(id) ?? 0) + 1);
  }

  /** A copy ended (latencyMs undefined: lost with the worker): counted, and its in-flight place freed. */
  #settled(route: string, shadow: string, outcome: Exclude<ShadowOutcome, 'dropped'>, latencyMs: number | undefined): void {
    const id = slotId(route, shadow);
    this.#inFlight.set(id, Math.max(0, (this.#inFlight.get(id) ?? 1) - 1));
    const series = shadowSeries(route, shadow);
    series.outcomes[outcome].inc();
    if (latencyMs !== undefined) series.duration.observe(latencyMs / 1000);
  }

  /** Counts the cores again, creates series at zero, keeps pools (here and the worker's) for live shadow origins, and (re)starts the worker when the log's settings or its priority change (a thread cannot raise its own priority back). */
  #apply(runtime: Runtime): void {
    this.#coreToSpare = coreToSpare(this.#shard);
    const routes = runtime.routes.routes.filter((r) => r.shadows.length > 0);
    for (const route of routes) for (const shadow of route.shadows) shadowSeries(route.name, shadow.config.name);
    const origins = [...new Set(routes.flatMap(httpOrigins))];
    const { path } = runtime.config.shadowLog;
    const file = this.#shard ? workerLogPath(resolve(path), this.#shard.slot) : resolve(path);
    const maxBytes = Math.floor(runtime.config.shadowLog.maxBytes / (this.#shard?.count ?? 1));
    const { limits } = runtime.config;
    const yieldCpu = runtime.config.shadowPriority === 'yield';
    this.#pools.retain(new Set(origins), limits).catch((error: unknown) => this.#logger.warn({ err: error }, 'closing a retired shadow pool failed'));
    if (routes.length === 0 || (this.#thread && this.#thread.path === file && this.#thread.maxBytes === maxBytes && this.#thread.yieldCpu === yieldCpu)) {
      this.#thread?.retainPools(origins, limits);
      return;
    }
    const previous = this.#thread;
    this.#thread = new ShadowThread({
      path: file,
      maxBytes,
      limits,
      yieldCpu,
      onError: (error) => this.#onWorkerError(error),
      onPriorityRefused: (reason) => this.#logger.warn({ reason }, 'the shadow worker could not lower its CPU priority (shadowPriority: yield); it competes with the data plane'),
      onCopySettled: (route, shadow, outcome, latencyMs) => this.#settled(route, shadow, outcome, latencyMs),
    });
    previous?.close().catch(() => undefined);
  }

  #onWorkerError(error: Error): void {
    // One warning per 1000 failures: a full or read-only disk, or a worker that keeps dying, must not flood the process log.
    if (this.#failures++ % 1000 === 0) this.#logger.warn({ err: error, failures: this.#failures }, 'shadow log write or shadow worker failed; what it held is dropped and counted');
  }
}

function slotId(route: string, shadow: string): string {
  return `${route}\u0000${shadow}`;
}

function httpOrigins(route: CompiledRoute): string[] {
  return route.shadows.flatMap((s) => [s.target, s.grpcTarget]).flatMap((t) => (t.kind === 'http' ? [t.origin] : []));
}

/** The client's headers minus hop-by-hop fields (RFC 9110 §7.6.1), with the exchange's request id. */
/** The headers the primary's upstream request carries (x-forwarded-* rebuilt, x-request-id set), less SHADOW_DROPPED_HEADERS. */
function shadowHeaders(req: MirroredRequest, runtime: Runtime, requestId: string): string[] {
  return upstreamHeaders(req, runtime, requestId, SHADOW_DROPPED_HEADERS);
}
