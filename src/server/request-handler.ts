// The data-plane request pipeline: normalise target (absolute-form to origin-form) -> local endpoints ->
// route -> (bounded body) -> sticky key (a body key from the JSON part of a binary-extension body) ->
// assignment -> forward (undici pool, sent again after a reset where the retry policy allows; or local
// model) -> metrics and hooks.
// Reads the runtime generation once per request; never awaits a shadow.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { adoptAbsoluteForm } from '../http/absolute-form.js';
import { classifyTransportError, ProxyError, quotedInput } from '../http/errors.js';
import { INFERENCE_HEADER } from '../http/inference-header.js';
import { normalizeTarget, type RequestTarget } from '../http/path.js';
import { requestHeadProblem } from '../http/request-head.js';
import { recordRequest, recordRetry, recordUpstreamError } from '../metrics/request-metrics.js';
import type { CompiledRoute } from '../routing/route-table.js';
import type { PoolSet } from '../upstream/pools.js';
import { ResponseRelay, type RelayResult } from '../upstream/relay.js';
import { isRetryableFailure, mayRetry } from '../upstream/retry-policy.js';
import { bodyJson, declaredLengthTooLarge, hasBody, limitedBody, readBody, tooLargeError } from './body.js';
import type { DataPlaneHooks, Exchange, ExchangeResult } from './exchange.js';
import { recordRefusal } from './refusal.js';
import { assignRequest, requestIdOf, upstreamHeaders } from './request-context.js';
import { settledStatus } from './settle.js';
import { sendError } from './respond.js';
import type { Runtime, RuntimeHolder } from './runtime.js';

export interface DataPlaneState {
  draining: boolean;
}

export interface DataPlaneDeps {
  holder: RuntimeHolder;
  pools: PoolSet;
  state: DataPlaneState;
  hooks: DataPlaneHooks;
}

export function createRequestHandler(deps: DataPlaneDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const { holder, state, hooks } = deps;

  return function handleRequest(req, res) {
    const startedAt = performance.now();
    req.on('error', ignore); // a client reset mid-body is handled by whoever reads the body
    if (state.draining) {
      res.shouldKeepAlive = false;
      return finishUnrouted(res, startedAt, new ProxyError('ABPROXY_DRAINING', 'proxy is shutting down'), true);
    }
    const headProblem = requestHeadProblem(req.httpVersion, req.rawHeaders) ?? adoptAbsoluteForm(req);
    if (headProblem !== undefined) return finishUnrouted(res, startedAt, new ProxyError('ABPROXY_BAD_REQUEST', headProblem), true);
    const runtime = holder.current;
    const { maxBodyBytes } = runtime.config.limits;
    if (declaredLengthTooLarge(req, maxBodyBytes)) return finishUnrouted(res, startedAt, tooLargeError(maxBodyBytes), true);
    const target = normalizeTarget(req.url ?? '');
    if (!target) {
      return finishUnrouted(res, startedAt, new ProxyError('ABPROXY_BAD_REQUEST', 'request target must be an absolute path or an http(s) URL'), true);
    }
    for (const local of hooks.localHandlers) if (local(req, res, target, runtime)) return;
    const route = runtime.routes.match(target.path);
    if (!route) return finishUnrouted(res, startedAt, new ProxyError('ABPROXY_NO_ROUTE', `no route matches ${quotedInput(target.path)}`), hasBody(req));

    const needsBody = hasBody(req) && (route.needsBody || hooks.wantsShadows?.(route) === true || isSmallFixedLength(req));
    if (!needsBody) return dispatch(req, res, runtime, route, target, undefined, startedAt);
    readBody(req, maxBodyBytes).then(
      (body) => dispatch(req, res, runtime, route, target, body, startedAt),
      (error: ProxyError) => {
        finishUnrouted(res, startedAt, error, true, route.name);
      },
    );
  };

  function dispatch(req: IncomingMessage, res: ServerResponse, runtime: Runtime, route: CompiledRoute, target: RequestTarget, body: Buffer | undefined, startedAt: number): void {
    const json = route.needsBody && body ? bodyJson(body, req.headers[INFERENCE_HEADER], req.headers['content-encoding'], runtime.config.limits.maxBodyBytes) : undefined;
    const { variant, reason, key } = assignRequest(route, req, target.query, json);
    const requestId = requestIdOf(req);
    const method = req.method ?? 'GET';
    const exchange: Exchange = { runtime, route, variant, reason, key, requestId, method, client: req.socket.remoteAddress, target, body, startedAt };
    const extraHeaders = ['x-abproxy-variant', variant.name, 'x-request-id', requestId];
    // An HTTP variant's header list, built once: its shadow copies carry it too.
    const upstream = variant.target.kind === 'http' ? { target: variant.target, headers: upstreamHeaders(req, runtime, requestId) } : undefined;
    const onShadowPrimary = hooks.startShadows?.(exchange, req, upstream?.headers);

    const finish = (result: RelayResult): void => {
      const status = settledStatus(result, route.name, variant.name, (failure) => sendError(res, failure, extraHeaders, failure.status === 413));
      const latencyMs = performance.now() - startedAt;
      recordRequest(route.name, variant.name, status, latencyMs / 1000);
      if (!onShadowPrimary && !hooks.onExchangeEnd) return;
      const ended: ExchangeResult = Object.assign(result, { status, latencyMs }); // result is this exchange's own object
      onShadowPrimary?.(ended);
      hooks.onExchangeEnd?.(exchange, ended);
    };

    if (!upstream) {
      if (!hooks.serveModel) {
        return finish({ status: 503, headersSent: false, error: new ProxyError('ABPROXY_MODEL_UNAVAILABLE', `local models are not available in this process`) });
      }
      return hooks.serveModel(exchange, req, res, extraHeaders, finish);
    }

    const streamedBody =
      body !== undefined || !hasBody(req) ? undefined
      : req.headers['content-length'] !== undefined ? req
      // The request outlives the limit so that its 413 can linger (linger.ts); dropped for any other reason, it is destroyed.
      : Readable.from(limitedBody(req.iterator({ destroyOnReturn: false }), runtime.config.limits.maxBodyBytes, { onAbandoned: () => req.destroy() }));
    const { target: { origin, basePath }, headers } = upstream;
    const request = { origin, path: basePath + target.path + (target.query ? `?${target.query}` : ''), method, headers, body: body ?? streamedBody ?? null };
    const pool = deps.pools.get(origin);
    const captureBytes = hooks.captureBytes?.(route) ?? 0;
    const { sendTimeoutMs } = runtime.config.limits;
    const { retry } = route.config;
    let retries = 0;
    const onFinish = (result: RelayResult): void => {
      const { error } = result;
      const again =
        error !== undefined && retries < retry.attempts && !res.destroyed && isRetryableFailure(error, result.headersSent) &&
        mayRetry({ method, idempotencyKey: req.headers['idempotency-key'] !== undefined, replayable: streamedBody === undefined }, retry);
      if (!again) return finish(result);
      retries++;
      recordUpstreamError(route.name, variant.name, classifyTransportError(error));
      recordRetry(route.name, variant.name);
      pool.dispatch(request, new ResponseRelay({ res, extraHeaders, onFinish, captureBytes, sendTimeoutMs, route: route.name }));
    };
    pool.dispatch(request, new ResponseRelay({ res, extraHeaders, onFinish, captureBytes, sendTimeoutMs, route: route.name }));
  }

  function finishUnrouted(res: ServerResponse, startedAt: number, error: ProxyError, close: boolean, route = 'none'): void {
    sendError(res, error, [], close);
    const { req } = res;
    recordRefusal(hooks, holder.current, { method: req.method ?? 'GET', target: req.url ?? '', client: req.socket.remoteAddress, route, error, startedAt });
  }
}

/**
 * A Content-Length body of at most INLINE_BODY_BYTES is read whole before forwarding (as nginx's request
 * buffering does): one upstream write instead of a stream per request. Larger and chunked bodies stream.
 */
const INLINE_BODY_BYTES = 16_384;

function isSmallFixedLength(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return length !== undefined && Number(length) <= INLINE_BODY_BYTES;
}

function ignore(): void {}
