// Open Inference Protocol REST on the data plane: the local handler for /v2/health/*, /v2 and
// /v2/models/{model}[/versions/{v}][/ready|/infer] of local models by their own name, and serveModel
// for routed exchanges whose variant is model:NAME. Reads bodies within maxBodyBytes; an answer the client
// takes nothing of for sendTimeoutMs closes the connection (server/send-timeout.ts); never throws.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestTarget } from '../http/path.js';
import { ProxyError, quotedInput } from '../http/errors.js';
import { INFERENCE_HEADER, inferenceHeaderLength, inferenceHeaderProblem } from '../http/inference-header.js';
import { declaredLengthTooLarge, decodedRequestBody, readBody, tooLargeError } from '../server/body.js';
import type { Limits } from '../config/schema.js';
import type { Exchange, LocalHandler } from '../server/exchange.js';
import { closeAfterAnswer } from '../server/respond.js';
import type { Runtime } from '../server/runtime.js';
import type { RelayResult } from '../upstream/relay.js';
import { watchEndedResponse } from '../server/send-timeout.js';
import { errorAnswer, type OipAnswer, type OipService } from './oip-service.js';

export type OipPath =
  | { kind: 'live' | 'ready' | 'server'; anchor: string }
  /** A /v2/ path under a model route that names no OIP endpoint (/v2/models/fraud/foo). */
  | { kind: 'unknown'; anchor: string }
  | { kind: 'model'; model: string; version: string | undefined; op: 'metadata' | 'ready' | 'infer'; anchor: string };

const MODEL_PATH = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?(?:\/(ready|infer))?\/?$/;

export function parseOipPath(path: string): OipPath | undefined {
  if (path === '/v2' || path === '/v2/') return { kind: 'server', anchor: '/v2' };
  if (path === '/v2/health/live') return { kind: 'live', anchor: path };
  if (path === '/v2/health/ready') return { kind: 'ready', anchor: path };
  const match = MODEL_PATH.exec(path);
  if (!match) return undefined;
  const model = decodeURIComponent(match[1] ?? '');
  const op = (match[3] as 'ready' | 'infer' | undefined) ?? 'metadata';
  return { kind: 'model', model, version: match[2] === undefined ? undefined : decodeURIComponent(match[2]), op, anchor: `/v2/models/${match[1] ?? ''}` };
}

/**
 * Serves OIP endpoints of local models by their own name. A route whose pathPrefix is at least as
 * specific as the endpoint (e.g. a route at /v2/models/fraud-a) wins, so the request is routed instead.
 */
export function oipLocalHandler(service: OipService): LocalHandler {
  return (req: IncomingMessage, res: ServerResponse, target: RequestTarget, runtime: Runtime): boolean => {
    if (!target.path.startsWith('/v2') || Object.keys(runtime.config.models).length === 0) return false;
    const parsed = parseOipPath(target.path);
    if (!parsed) return false;
    if (parsed.kind === 'model' && !(parsed.model in runtime.config.models)) return false;
    const route = runtime.routes.match(target.path);
    if (route && route.pathPrefix.length >= parsed.anchor.length) return false;
    answerOip(service, parsed, req, res, undefined, runtime.config.limits, 'none', [], () => undefined);
    return true;
  };
}

/** serveModel hook: answers a routed exchange from the variant's local model; calls finish exactly once. */
export function oipServeModel(service: OipService) {
  return (exchange: Exchange, req: IncomingMessage, res: ServerResponse, extraHeaders: readonly string[], finish: (result: RelayResult) => void): void => {
    const { variant, target, runtime } = exchange;
    if (variant.target.kind !== 'model') {
      finish({ status: 500, headersSent: false, error: new ProxyError('ABPROXY_MODEL_UNAVAILABLE', `variant ${variant.name} is not a local model`) });
      return;
    }
    const op = variantOp(target.path, req.method ?? 'GET', variant.target.model);
    answerOip(service, op, req, res, exchange.body, runtime.config.limits, exchange.route.name, extraHeaders, finish, exchange.requestId);
  };
}

/**
 * The endpoint a request routed to a `model:NAME` variant stands for: the route names the model as the
 * client knows it; the variant's model answers whatever the path says. A path outside /v2/ (a route at
 * /score) is the model's infer (POST) or metadata; one under /v2/ must be an OIP endpoint.
 */
export function variantOp(path: string, method: string, model: string): OipPath {
  const parsed = parseOipPath(path);
  if (parsed?.kind === 'model') return { ...parsed, model };
  if (path.startsWith('/v2/')) return { kind: 'unknown', anchor: path };
  return { kind: 'model', model, version: undefined, op: method === 'POST' ? 'infer' : path.endsWith('/ready') ? 'ready' : 'metadata', anchor: path };
}

/**
 * What an OIP endpoint answers a request with `body` (read whole; only infer reads it) and its
 * Inference-Header-Content-Length; a method the endpoint does not take is 405 with the one to use (`allow`).
 */
export async function oipEndpointAnswer(service: OipService, path: OipPath, method: string, body: Buffer | undefined, inferenceHeader: string | string[] | undefined, requestId?: string): Promise<{ answer: OipAnswer; allow?: string }> {
  if (path.kind === 'unknown') return { answer: errorAnswer(new ProxyError('ABPROXY_NO_ROUTE', `${quotedInput(path.anchor)} is not an Open Inference Protocol endpoint`)) };
  const wanted = path.kind === 'model' && path.op === 'infer' ? 'POST' : 'GET';
  if (method !== wanted && !(wanted === 'GET' && method === 'HEAD')) {
    const error = new ProxyError('ABPROXY_BAD_REQUEST', `method ${method} is not allowed on ${path.kind === 'model' ? `the ${path.op} endpoint` : 'this endpoint'}; use ${wanted}`);
    return { answer: { ...errorAnswer(error), status: 405 }, allow: wanted };
  }
  if (path.kind !== 'model') return { answer: path.kind === 'server' ? service.serverMetadata() : path.kind === 'live' ? service.serverLive() : service.serverReady() };
  if (path.op === 'metadata') return { answer: service.modelMetadata(path.model, path.version) };
  if (path.op === 'ready') return { answer: service.modelReady(path.model, path.version) };
  const bytes = body ?? Buffer.alloc(0);
  const framing = inferenceHeaderProblem(inferenceHeader, bytes.length);
  if (framing !== undefined) return { answer: errorAnswer(new ProxyError('ABPROXY_MODEL_BAD_INPUT', framing)) };
  return { answer: await service.infer(path.model, path.version, bytes, { fallbackId: requestId, jsonLength: inferenceHeaderLength(inferenceHeader, bytes.length) }) };
}

function answerOip(
  service: OipService,
  path: OipPath,
  req: IncomingMessage,
  res: ServerResponse,
  body: Buffer | undefined,
  limits: Limits,
  /** The route a send timeout is counted on ("none": a model's own endpoint). */
  route: string,
  extraHeaders: readonly string[],
  finish: (result: RelayResult) => void,
  requestId?: string,
): void {
  const { maxBodyBytes } = limits;
  const method = req.method ?? 'GET';
  const reads = path.kind === 'model' && path.op === 'infer' && method === 'POST' && body === undefined;
  if (reads && declaredLengthTooLarge(req, maxBodyBytes)) {
    write(res, errorAnswer(tooLargeError(maxBodyBytes)), extraHeaders, finish, true, limits, route);
    return;
  }
  (reads ? readBody(req, maxBodyBytes) : Promise.resolve(body))
    .then((bytes) => oipEndpointAnswer(service, path, method, bytes && decodedRequestBody(bytes, req.headers['content-encoding'], maxBodyBytes), req.headers[INFERENCE_HEADER], requestId))
    .then(
      ({ answer, allow }) => write(res, answer, allow ? [...extraHeaders, 'allow', allow] : extraHeaders, finish, allow !== undefined, limits, route),
      (error: unknown) => write(res, errorAnswer(error instanceof ProxyError ? error : new ProxyError('ABPROXY_BAD_REQUEST', String(error))), extraHeaders, finish, true, limits, route),
    );
}

function write(res: ServerResponse, answer: OipAnswer, extraHeaders: readonly string[], finish: (result: RelayResult) => void, close: boolean, limits: Limits, route: string): void {
  const { status, body, fields } = answer;
  if (res.destroyed || res.headersSent) {
    finish({ status, headersSent: res.headersSent, body, fields });
    return;
  }
  const headers = ['content-type', fields.contentType ?? 'application/json', 'content-length', String(body.length), ...extraHeaders];
  if (fields.inferenceHeader !== undefined) headers.push(INFERENCE_HEADER, fields.inferenceHeader);
  if (close) closeAfterAnswer(res, status, headers);
  res.writeHead(status, headers);
  res.end(body);
  watchEndedResponse(res, limits.sendTimeoutMs, route);
  finish({ status, headersSent: true, body, fields });
}
