// Shadow traffic for the data plane: samples each routed request per shadow, drops copies beyond
// maxInFlight (counted), and sends the rest: HTTP copies (over HTTP/2 for gRPC) from the shadow worker
// thread when a core is to spare for it (shadowCopies), else from here like local-model copies. Once the
// primary has ended its answer follows, and the worker compares and records the exchange when every
// answer is in.
// Never awaited by the primary response; nothing here can fail or delay it.
import { resolve } from 'node:path';
import { coreToSpare } from '../cluster/worker-count.js';
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
import type { ShadowAnswer, ShadowOutcome } from './answer.js';
import { sendShadowCopy } from './http-shadow.js';
import { workerLogPath } from './log-files.js';
import { sendModelShadow } from './model-shadow.js';
import { mirroredExchange, type ExchangeHead, type PrimaryPart, type PrimaryShadow, type ShadowCopy } from './shadow-protocol.js';
import { ShadowThread } from './shadow-thread.js';
import { shadowSeries, type ShadowSeries } from './shadow-metrics.js';

export interface ShadowServiceOptions {
  holder: RuntimeHolder;
  logger: Logger;
  /** The in-process model client for model:NAME shadows, once local models are available. */
  models?: () => LocalModelClient | undefined;
  /** This process's cluster worker slot (default: from the environment of `serve --workers N`); each slot writes its own log file with its share of maxBytes. */
  shard?: { slot: number; count: number } | undefined;
}

/** Left out of a copy besides what the primary's request leaves out: its length (undici sets it) and the tag it sets itself. */
const COPY_DROPPED_HEADERS: ReadonlySet<string> = new Set(['content-length', 'x-abproxy-shadow']);
const SHADOW_DROPPED_HEADERS: ReadonlySet<string> = new Set([...DROPPED_REQUEST_HEADERS, ...COPY_DROPPED_HEADERS]);

/** One of the exchange's shadows: its copy's index in the mirror, its answer to come on this thread, or neither (dropped). */
interface Planned {
  shadow: CompiledShadow;
  copy?: number;
  here?: Promise<ShadowAnswer>;
}

/** A route's shadow as this thread counts it: copies in flight (what maxInFlight bounds), its series, and the tag its copies carry. */
interface ShadowSlot {
  inFlight: number;
  series: ShadowSeries;
  tag: string;
}

export class ShadowService {
  readonly #holder: RuntimeHolder;
  readonly #logger: Logger;
  readonly #models: () => LocalModelClient | undefined;
  readonly #shard: { slot: number; count: number } | undefined;
  /** By route and shadow name: a reload keeps what is in flight. */
  readonly #slots = new Map<string, ShadowSlot>();
  /** The same slots by compiled shadow, so that a request finds its shadow's without building a key. */
  readonly #slotOf = new WeakMap<CompiledShadow, ShadowSlot>();
  /** Pools for copies sent from this thread. */
  readonly #pools: PoolSet;
  /** A core beyond this process's share, for the shadow worker to send copies on. Counted again on every config swap: a container's CPU limit can change while it runs. */
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
      startShadows: (exchange, req, sentHeaders) => this.start(exchange, req, sentHeaders),
    };
  }

  /** Copies in flight for one route's shadow (what maxInFlight bounds). */
  inFlight(route: string, shadow: string): number {
    return this.#slots.get(slotId(route, shadow))?.inFlight ?? 0;
  }

  /** The shadow worker (it sends the copies and writes the log). */
  get log(): ShadowThread | undefined {
    return this.#thread;
  }

  /**
   * Mirrors one exchange; the returned callback takes the primary's result. Undefined when nothing was sent.
   * `sentHeaders`: the primary's upstream header list, which the copies carry (built here when there is none).
   */
  start(exchange: Exchange, req: MirroredRequest, sentHeaders?: readonly string[]): ((primary: ExchangeResult) => void) | undefined {
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
      const { percent, maxInFlight } = shadow.config;
      if (percent < 100 && Math.random() * 100 >= percent) continue;
      const slot = this.#slot(route.name, shadow);
      if (slot.inFlight >= perWorkerLimit(maxInFlight, this.#shard)) {
        slot.series.outcomes.dropped.inc();
        planned.push({ shadow });
        continue;
      }
      const target = grpc ? shadow.grpcTarget : shadow.target;
      if (target.kind === 'model') {
        slot.inFlight++;
        here++;
        planned.push({ shadow, here: this.#sendLocal(slot, shadow, exchange, req, target.model, grpc) });
        continue;
      }
      headers ??= sentHeaders ? withoutCopyDropped(sentHeaders) : shadowHeaders(req, exchange.runtime, exchange.requestId);
      const copyHeaders = headers.slice();
      copyHeaders.push('x-abproxy-shadow', slot.tag);
      if (grpc) copyHeaders.push('te', 'trailers');
      const copy: ShadowCopy = {
        shadow: shadow.config.name,
        origin: target.origin,
        path: target.basePath + exchange.target.path + (exchange.target.query ? `?${exchange.target.query}` : ''),
        http2: grpc,
        headers: copyHeaders,
        timeoutMs: shadow.config.timeoutMs,
        maxBytes: exchange.runtime.config.limits.maxBodyBytes,
      };
      if (fromWorker) {
        planned.push({ shadow, copy: copies.length });
        copies.push(copy);
      } else {
        slot.inFlight++;
        here++;
        planned.push({ shadow, here: this.#sendHttp(slot, copy, head.method, exchange.body) });
      }
    }
    const id = copies.length > 0 ? thread.mirror(route.name, head, copies) : undefined;
    if (copies.length > 0) {
      for (const entry of planned) {
        if (entry.copy === undefined) continue;
        const slot = this.#slot(route.name, entry.shadow);
        if (id === undefined) {
          slot.series.outcomes.dropped.inc();
          delete entry.copy;
        } else slot.inFlight++;
      }
    }
    if (id === undefined && here === 0) return undefined;
    return (primary) => this.#complete(thread, id, head, planned, primary);
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

  #sendHttp(slot: ShadowSlot, copy: ShadowCopy, method: string, body: Buffer | undefined): Promise<ShadowAnswer> {
    return sendShadowCopy(this.#pools, copy, method, body).then((answer) => {
      this.#settled(slot, answer.outcome, answer.latencyMs);
      return answer;
    });
  }

  /** A gRPC call reaches the model with its messages uncompressed, as local models read them (one that cannot be read goes as it came, and is refused). */
  #sendLocal(slot: ShadowSlot, shadow: CompiledShadow, exchange: Exchange, req: MirroredRequest, model: string, grpc: boolean): Promise<ShadowAnswer> {
    const { timeoutMs } = shadow.config;
    const maxBytes = exchange.runtime.config.limits.maxBodyBytes;
    const body = !exchange.body ? undefined
      : grpc ? (uncompressedBody(exchange.body, grpcEncodingOf(req.headers['grpc-encoding']), maxBytes) ?? exchange.body)
      : (decodedBody(exchange.body, req.headers['content-encoding'], maxBytes) ?? exchange.body);
    const jsonLength = body && inferenceHeaderLength(req.headers[INFERENCE_HEADER], body.length);
    return sendModelShadow({ client: this.#models(), model, body, jsonLength, timeoutMs, maxBytes, grpcMethod: grpc ? exchange.target.path : undefined }).then((answer) => {
      this.#settled(slot, answer.outcome, answer.latencyMs);
      return answer;
    });
  }

  /** Hands the primary's answer to the worker: as the mirror's primary part, or as a whole exchange once the copies sent from here are in. */
  #complete(thread: ShadowThread, id: number | undefined, head: ExchangeHead, planned: Planned[], primary: ExchangeResult): void {
    const time = Date.now();
    const ended: PrimaryPart['primary'] = {
      status: primary.status,
      answer: primary.error ? undefined : { status: primary.status, body: primary.body, truncated: primary.bodyTruncated ?? false, contentType: undefined, ...primary.fields },
      latencyMs: primary.latencyMs,
    };
    if (primary.error) ended.failure = (primary.error as { code?: string }).code ?? primary.error.message;
    const results: (ShadowAnswer | undefined)[] = planned.map(() => undefined);
    const hand = () => {
      try {
        const shadows = planned.map(({ shadow: { config }, copy }, i) => {
          const shadow: PrimaryShadow = { name: config.name, target: config.target, tolerance: config.tolerance, ignore: config.ignore, result: results[i] };
          if (copy !== undefined) shadow.copy = copy;
          return shadow;
        });
        if (id === undefined) thread.append(mirroredExchange(head, ended, shadows));
        else thread.complete(id, { time, primary: ended, shadows });
      } catch (error) {
        this.#logger.warn({ err: error }, 'shadow record failed');
      }
    };
    // Counted down rather than Promise.all: this runs for every mirrored request.
    let waiting = 0;
    planned.forEach(({ here }, i) => {
      if (!here) return;
      waiting++;
      void here.then((result) => {
        results[i] = result;
        if (--waiting === 0) hand();
      });
    });
    if (waiting === 0) hand();
  }

  /** The slot of a route's compiled shadow (the one of its names, made on first use). */
  #slot(route: string, shadow: CompiledShadow): ShadowSlot {
    let slot = this.#slotOf.get(shadow);
    if (!slot) {
      slot = this.#named(route, shadow.config.name);
      this.#slotOf.set(shadow, slot);
    }
    return slot;
  }

  #named(route: string, shadow: string): ShadowSlot {
    const id = slotId(route, shadow);
    let slot = this.#slots.get(id);
    if (!slot) this.#slots.set(id, (slot = { inFlight: 0, series: shadowSeries(route, shadow), tag: `${route}/${shadow}` }));
    return slot;
  }

  /** A copy ended (latencyMs undefined: lost with the worker): counted, and its in-flight place freed. */
  #settled(slot: ShadowSlot, outcome: Exclude<ShadowOutcome, 'dropped'>, latencyMs: number | undefined): void {
    slot.inFlight = Math.max(0, slot.inFlight - 1);
    slot.series.outcomes[outcome].inc();
    if (latencyMs !== undefined) slot.series.duration.observe(latencyMs / 1000);
  }

  /** Counts the cores again, creates series at zero, keeps pools (here and the worker's) for live shadow origins, and (re)starts the worker when the log's settings or its priority change (a thread cannot raise its own priority back). */
  #apply(runtime: Runtime): void {
    this.#coreToSpare = coreToSpare(this.#shard?.count ?? 1);
    const routes = runtime.routes.routes.filter((r) => r.shadows.length > 0);
    for (const route of routes) for (const shadow of route.shadows) this.#slot(route.name, shadow);
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
      onCopySettled: (route, shadow, outcome, latencyMs) => this.#settled(this.#named(route, shadow), outcome, latencyMs),
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

/** The headers the primary's upstream request carries (x-forwarded-* rebuilt, x-request-id set), less SHADOW_DROPPED_HEADERS. */
function shadowHeaders(req: MirroredRequest, runtime: Runtime, requestId: string): string[] {
  return upstreamHeaders(req, runtime, requestId, SHADOW_DROPPED_HEADERS);
}

/** The primary's upstream header list less COPY_DROPPED_HEADERS: what shadowHeaders builds, without building it again. */
function withoutCopyDropped(sent: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < sent.length; i += 2) {
    const name = sent[i] ?? '';
    if (COPY_DROPPED_HEADERS.has(name.toLowerCase())) continue;
    out.push(name, sent[i + 1] ?? '');
  }
  return out;
}
