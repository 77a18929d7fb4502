// The per-request record shared by the data plane and its extensions (local models, shadows,
// feedback): which generation, route and variant a request runs on, and its key and body.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GrpcAnswer } from '../grpc/model-service.js';
import type { RequestTarget } from '../http/path.js';
import type { AssignmentReason } from '../routing/assign.js';
import type { CompiledRoute, CompiledVariant } from '../routing/route-table.js';
import type { AnswerFields } from '../shadow/answer.js';
import type { RelayResult } from '../upstream/relay.js';
import type { RestAnswer } from './http2-model-rest.js';
import type { RequestHead } from './request-context.js';
import type { StreamReply } from './http2-model-stream.js';
import type { Runtime } from './runtime.js';

export interface Exchange {
  readonly runtime: Runtime;
  readonly route: CompiledRoute;
  readonly variant: CompiledVariant;
  readonly reason: AssignmentReason;
  readonly key: string | undefined;
  readonly requestId: string;
  readonly method: string;
  /** The peer's address (the client, or the last proxy before abproxy). */
  readonly client: string | undefined;
  readonly target: RequestTarget;
  /** The whole request body, when a body sticky source or a shadow needed it. */
  readonly body: Buffer | undefined;
  /** performance.now() at request start */
  readonly startedAt: number;
}

/** What the primary answer was, handed to shadows and access logs when the exchange ends. */
export interface ExchangeResult extends RelayResult {
  latencyMs: number;
}

/** A request answered before it reached a variant: no route, a malformed head or target, a body over the limit, a drain. */
export interface RefusedRequest {
  readonly runtime: Runtime;
  readonly method: string;
  /** The normalised path, or the target as sent (without its query) when it did not normalise. */
  readonly path: string;
  readonly client: string | undefined;
  /** The route's name, or "none". */
  readonly route: string;
  readonly status: number;
  readonly error: string;
  readonly latencyMs: number;
}

/** Answers a request the proxy serves itself; returns true when it took the request. */
export type LocalHandler = (req: IncomingMessage, res: ServerResponse, target: RequestTarget, runtime: Runtime) => boolean;

/** In-process access to local models, for shadows (and anything else) whose target is model:NAME. */
export interface LocalModelClient {
  /**
   * Runs an Open Inference Protocol infer request body on a model (`jsonLength`: its Inference-Header-Content-Length
   * under the binary tensor extension). Resolves with the HTTP-equivalent answer; never rejects.
   */
  infer(model: string, body: Buffer, signal: AbortSignal, jsonLength?: number): Promise<{ status: number; body: Buffer; fields: AnswerFields }>;
  /** Answers a gRPC call of an OIP method (`method`: its path; `body`: the framed request) the same way, its gRPC status in the fields. */
  callGrpc(model: string, method: string, body: Buffer, signal: AbortSignal): Promise<{ status: number; body: Buffer; fields: AnswerFields }>;
}

/** What a shadow copy takes from the request besides the exchange (an IncomingMessage is one): its head and method. */
export interface MirroredRequest extends RequestHead {
  readonly method?: string | undefined;
}

/** Extension points of the data plane; each is optional and must never throw into the request path. */
export interface DataPlaneHooks {
  /** Answer requests the proxy serves itself (local models' OIP endpoints, feedback), in order. */
  localHandlers: LocalHandler[];
  /** Serves an exchange whose variant is `model:NAME`; must call `finish` exactly once. */
  serveModel?(exchange: Exchange, req: IncomingMessage, res: ServerResponse, extraHeaders: readonly string[], finish: (result: RelayResult) => void): void;
  /** Answers a gRPC call (its method path and whole request body) whose variant is `model:NAME`. Never rejects. */
  callGrpcModel?: (model: string, method: string, body: Buffer, requestId: string) => Promise<GrpcAnswer>;
  /** Answers a REST request (its path, method, whole body and Inference-Header-Content-Length) routed over HTTP/2 to a `model:NAME` variant. Never rejects. */
  answerModelRest?: RestAnswer;
  /** Answers one ModelStreamInfer request message (uncompressed) on a `model:NAME` variant: the unframed ModelStreamInferResponse. Never rejects. */
  streamGrpcModel?: StreamReply;
  /** True when this exchange should be mirrored, so its body must be buffered. */
  wantsShadows?(route: CompiledRoute): boolean;
  /**
   * Mirrors the exchange; the returned callback receives the primary result. Never awaited. `sentHeaders`:
   * the header list the primary's upstream request carries (upstreamHeaders), when it goes to an HTTP upstream.
   */
  startShadows?(exchange: Exchange, req: MirroredRequest, sentHeaders?: readonly string[]): ((primary: ExchangeResult) => void) | undefined;
  /** Bytes of the primary answer to keep for comparison (0: none). */
  captureBytes?(route: CompiledRoute): number;
  /** Called once per routed request when it ends. */
  onExchangeEnd?(exchange: Exchange, result: ExchangeResult): void;
  /** Called once per request answered before it reached a variant. */
  onRefused?(refused: RefusedRequest): void;
}
