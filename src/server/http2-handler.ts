// The HTTP/2 request pipeline, one call per stream: a header list within maxHeaderBytes -> target ->
// route (a gRPC OIP call without a route of its own: its model's REST route) -> (a REST `body:` key: the
// bounded body; gRPC: up to the first message, which a unary call is whole after) -> sticky key ->
// assignment -> forward over undici -> metrics and the exchange-end hook. gRPC goes to an HTTP/2 pool of
// the variant's grpcTarget, so trailers, streaming and cancellation hold end to end; other requests go to
// the HTTP/1.1 pool as Envoy does by default. Errors answer gRPC clients with a grpc-status and everyone
// else with JSON. Shadow copies leave once the request body has ended; a `model:` variant answers in-process.
import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { CONNECT_REFUSED, ProxyError, quotedInput } from '../http/errors.js';
import { readFirstMessage, type FirstMessage } from '../grpc/first-message.js';
import { grpcEncodingOf } from '../grpc/framing.js';
import { headerListProblem } from '../http/h2-header-list.js';
import { grpcModelName, grpcRequestJson } from '../grpc/oip-messages.js';
import { httpStatusOfGrpc, isGrpc } from '../grpc/status.js';
import { INFERENCE_HEADER } from '../http/inference-header.js';
import { normalizeTarget, type RequestTarget } from '../http/path.js';
import { recordRequest } from '../metrics/request-metrics.js';
import type { CompiledRoute } from '../routing/route-table.js';
import type { RelayResult } from '../upstream/relay.js';
import { StreamRelay } from '../upstream/stream-relay.js';
import { bodyJson, limitedBody, readStream, tooLargeError, type LimitedBodyOptions } from './body.js';
import type { Exchange, ExchangeResult } from './exchange.js';
import { callModel } from './http2-model.js';
import { assignRequest, requestIdOf, upstreamHeaders, type RequestHead } from './request-context.js';
import type { DataPlaneDeps } from './request-handler.js';
import type { Runtime } from './runtime.js';
import { settledStatus } from './settle.js';
import { recordRefusal } from './refusal.js';
import { ShadowStart } from './shadow-start.js';
import { sendStreamError } from './stream-respond.js';

export type StreamHandler = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number, rawHeaders: string[]) => void;

/** One HTTP/2 request as the pipeline carries it. */
interface StreamRequest {
  stream: ServerHttp2Stream;
  head: RequestHead;
  method: string;
  grpc: boolean;
  /** False when the client ended the stream with its headers. */
  hasBody: boolean;
  startedAt: number;
  /** Answers the request with `error` before it reaches a variant, and records the refusal. */
  fail: (error: ProxyError, route?: string) => void;
}

/** `maxHeaderBytes`: the listener's, fixed at start as node's own settings for it are (http2-plane.ts). */
export function createStreamHandler(deps: DataPlaneDeps, maxHeaderBytes: number): StreamHandler {
  const { holder, state, hooks } = deps;

  return function handleStream(stream, headers, _flags, rawHeaders) {
    const startedAt = performance.now();
    stream.on('error', ignore); // a reset stream is seen by whoever reads or writes it
    const grpc = isGrpc(headers['content-type']);
    const method = headers[':method'] ?? 'GET';
    const client = stream.session?.socket.remoteAddress;
    const fail = (error: ProxyError, route = 'none'): void => {
      sendStreamError(stream, error, grpc);
      recordRefusal(hooks, holder.current, { method, target: headers[':path'] ?? '', client, route, error, startedAt });
    };
    // Checked first, as HTTP/1.1's parser refuses an oversized head before anything reads it.
    const oversized = headerListProblem(rawHeaders, maxHeaderBytes);
    if (oversized) return fail(oversized);
    if (state.draining) return fail(new ProxyError('ABPROXY_DRAINING', 'proxy is shutting down'));
    if (method === 'CONNECT') return fail(new ProxyError('ABPROXY_BAD_REQUEST', CONNECT_REFUSED));
    const target = normalizeTarget(headers[':path'] ?? '');
    if (!target) return fail(new ProxyError('ABPROXY_BAD_REQUEST', 'request target must be an absolute path (origin-form)'));
    const runtime = holder.current;
    const { maxBodyBytes } = runtime.config.limits;
    const declared = headers['content-length'];
    if (declared !== undefined && Number(declared) > maxBodyBytes) return fail(tooLargeError(maxBodyBytes));
    const authority = headers[':authority'];
    if (authority !== undefined && headers.host !== undefined && headers.host.toLowerCase() !== authority.toLowerCase()) {
      return fail(new ProxyError('ABPROXY_BAD_REQUEST', 'Host header differs from :authority (RFC 9113 §8.3.1)'));
    }
    headers.host ??= authority;
    // The session's socket stands in for the connection; `encrypted` marks TLS, as on a TLSSocket.
    const socket = { remoteAddress: client, ...(stream.session?.encrypted ? { encrypted: true } : {}) };
    const head: RequestHead = { headers, rawHeaders: regularFields(rawHeaders, headers.host), socket };
    const request: StreamRequest = { stream, head, method, grpc, hasBody: !stream.endAfterHeaders, startedAt, fail };
    const route = runtime.routes.match(target.path);
    if (route) return routed(request, runtime, route, target, undefined);
    if (!grpc || !request.hasBody) return fail(new ProxyError('ABPROXY_NO_ROUTE', `no route matches ${quotedInput(target.path)}`));
    // An OIP call names its model in the message: it takes the route of its REST path, /v2/models/NAME.
    readFirstMessage(stream, maxBodyBytes, true, grpcEncodingOf(headers['grpc-encoding'])).then((first) => {
      const model = first.message && grpcModelName(target.path, first.message);
      const byModel = model === undefined ? undefined : runtime.routes.match(`/v2/models/${model}`);
      if (byModel) return routed(request, runtime, byModel, target, first);
      fail(new ProxyError('ABPROXY_NO_ROUTE', `no route matches ${quotedInput(target.path)}${model === undefined ? '' : ` or model "${quotedInput(model)}" (/v2/models/${quotedInput(model)})`}`));
    }, fail);
  };

  /** Reads what the route's sticky key needs (`first`: a gRPC call's first message when routing already read it), then dispatches. */
  function routed(request: StreamRequest, runtime: Runtime, route: CompiledRoute, target: RequestTarget, first: FirstMessage | undefined): void {
    const { stream, grpc } = request;
    const { maxBodyBytes } = runtime.config.limits;
    const failed = (error: ProxyError) => request.fail(error, route.name);
    if (!request.hasBody) return dispatch(request, runtime, route, target, {});
    if (grpc) {
      // Without a body key too: a unary call is whole by then, and goes upstream as one buffer.
      const read = first ? Promise.resolve(first) : readFirstMessage(stream, maxBodyBytes, route.needsBody, grpcEncodingOf(request.head.headers['grpc-encoding']));
      read.then((got) => dispatch(request, runtime, route, target, firstRead(got, route.needsBody ? target.path : undefined)), failed);
      return;
    }
    if (!route.needsBody) return dispatch(request, runtime, route, target, {});
    readStream(stream, maxBodyBytes).then((body) => dispatch(request, runtime, route, target, { body, json: bodyJson(body, request.head.headers[INFERENCE_HEADER], request.head.headers['content-encoding'], maxBodyBytes) }), failed);
  }

  function dispatch(request: StreamRequest, runtime: Runtime, route: CompiledRoute, target: RequestTarget, read: BodyRead): void {
    const { stream, head, grpc, startedAt } = request;
    const { body, json, chunks = [] } = read;
    const { variant, reason, key } = assignRequest(route, head, target.query, json);
    const requestId = requestIdOf(head);
    const exchange: Exchange = { runtime, route, variant, reason, key, requestId, method: request.method, client: head.socket.remoteAddress, target, body, startedAt };
    const extraHeaders = ['x-abproxy-variant', variant.name, 'x-request-id', requestId];
    const mirrored = { ...head, method: request.method };
    const shadows = hooks.wantsShadows?.(route) === true ? new ShadowStart(exchange, mirrored, hooks) : undefined;

    const finish = (result: RelayResult): void => {
      const status = settledStatus(result, route.name, variant.name, (failure) => sendStreamError(stream, failure, grpc, extraHeaders));
      const latencyMs = performance.now() - startedAt;
      // A gRPC answer is counted by the HTTP status its grpc-status stands for, so error rates see gRPC failures.
      recordRequest(route.name, variant.name, status === 200 && result.grpcStatus !== undefined ? httpStatusOfGrpc(result.grpcStatus) : status, latencyMs / 1000);
      const ended: ExchangeResult = Object.assign(result, { status, latencyMs }); // result is this exchange's own object
      shadows?.primaryEnded(ended);
      hooks.onExchangeEnd?.(exchange, ended);
    };

    const upstream = grpc ? variant.grpcTarget : variant.target;
    if (upstream.kind === 'model') {
      return callModel({
        stream,
        grpc,
        method: request.method,
        hasBody: request.hasBody,
        inferenceHeader: head.headers[INFERENCE_HEADER],
        contentEncoding: head.headers['content-encoding'],
        encoding: grpcEncodingOf(head.headers['grpc-encoding']),
        exchange,
        model: upstream.model,
        chunks,
        extraHeaders,
        shadows,
        finish,
        call: hooks.callGrpcModel,
        streamReply: hooks.streamGrpcModel,
        answerRest: hooks.answerModelRest,
      });
    }
    const headers = upstreamHeaders(head, runtime, requestId);
    if (grpc) headers.push('te', 'trailers'); // gRPC servers require it; it is the one TE value HTTP/2 allows
    const { maxBodyBytes, sendTimeoutMs } = runtime.config.limits;
    const relay = new StreamRelay({ stream, extraHeaders, onFinish: finish, captureBytes: hooks.captureBytes?.(route) ?? 0, sendTimeoutMs, route: route.name });
    // A body still arriving streams through (a gRPC call may be a stream both ways); shadows get their copy
    // once it has ended. Undici gets a view of the client's stream, which must outlive an upstream failure
    // (it carries the error answer). Over the limit the body just ends, and the exchange is aborted after
    // undici has ended its upstream stream: node's http2 spins forever (empty DATA frames) on a stream
    // reset while a piped body still writes to it.
    const onTooLarge = (error: ProxyError) => setImmediate(() => relay.abort(error));
    const limits: LimitedBodyOptions = { onTooLarge, ...(shadows ? { onComplete: (copy: Buffer) => shadows.bodyEnded(copy) } : {}) };
    const streamed = request.hasBody && !body ? Readable.from(limitedBody(prefixed(chunks, stream), maxBodyBytes, limits)) : null;
    if (!streamed) shadows?.bodyEnded(body);
    const { origin, basePath } = upstream;
    const path = basePath + target.path + (target.query ? `?${target.query}` : '');
    deps.pools.get(origin, grpc).dispatch({ origin, path, method: request.method, headers, body: body ?? streamed }, relay);
  }
}

/** What the pipeline read of a body before forwarding: all of it (a REST `body:` key, a unary gRPC call), or as far as a streaming call's first message. */
interface BodyRead {
  body?: Buffer;
  /** The JSON the sticky key is read from. */
  json?: unknown;
  /** Bytes read ahead of the rest of the stream, sent on first. */
  chunks?: readonly Buffer[];
}

/** A gRPC call read up to its first message; `keyMethod`: the method whose first message a `body:` key reads. */
function firstRead({ chunks, message, ended }: FirstMessage, keyMethod: string | undefined): BodyRead {
  const json = keyMethod !== undefined && message ? grpcRequestJson(keyMethod, message) : undefined;
  return ended ? { body: Buffer.concat(chunks), json } : { chunks, json };
}

/** The bytes read ahead, then the rest of the stream; the stream is not destroyed when undici drops the body. */
async function* prefixed(first: readonly Buffer[], stream: ServerHttp2Stream): AsyncGenerator<Buffer> {
  yield* first;
  yield* stream.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>;
}

/**
 * The request's own fields without HTTP/2 pseudo-headers, with Host from :authority (RFC 9113 §8.3.1), and
 * Cookie fields (which HTTP/2 clients send one crumb per field) joined into one with "; ", as they must be
 * before an HTTP/1.1 hop (RFC 9113 §8.2.3).
 */
function regularFields(rawHeaders: readonly string[], host: string | undefined): string[] {
  const fields: string[] = [];
  let hasHost = false;
  let cookieAt = -1;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] ?? '';
    const value = rawHeaders[i + 1] ?? '';
    if (name.startsWith(':')) continue;
    if (name === 'host') hasHost = true;
    if (name === 'cookie' && cookieAt !== -1) fields[cookieAt] += `; ${value}`;
    else {
      if (name === 'cookie') cookieAt = fields.length + 1;
      fields.push(name, value);
    }
  }
  if (!hasHost && host !== undefined) fields.push('host', host);
  return fields;
}

function ignore(): void {}
