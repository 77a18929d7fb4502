// WebSocket upgrades (RFC 6455 §4) on routes with `websocket: true`: the handshake gets a variant like
// any request (header, cookie or query key; it has no body), goes to that variant's upstream, and on
// its 101 the two connections are joined byte for byte until either side closes. Any other answer is
// relayed as is, then the connection closes. Any other upgrade request (another protocol such as h2c,
// or a route without websocket) is served as a plain request on a connection that then closes. An
// upgrade request pipelined behind others is handled once their answers are written (RFC 9112 §9.3.2).
// Never reads WebSocket frames, never lets an exception out of node's 'upgrade' event; open tunnels are
// counted, and closed keepAliveTimeoutMs after one side has ended if the other has not (a drain closes
// the sockets node handed over here: handed-over-sockets.ts).
import { request as httpRequest, ServerResponse, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { adoptAbsoluteForm } from '../http/absolute-form.js';
import { classifyTransportError, ProxyError, upstreamError } from '../http/errors.js';
import { stripHopByHop } from '../http/hop-by-hop.js';
import { normalizeTarget } from '../http/path.js';
import { requestHeadProblem } from '../http/request-head.js';
import { recordRequest, recordUpstreamError } from '../metrics/request-metrics.js';
import { upgradeFailuresTotal, websocketConnections } from '../metrics/registry.js';
import { hasBody } from './body.js';
import { afterEarlierAnswers, relayDrain } from './handed-over.js';
import { assignRequest, requestIdOf, upstreamHeaders } from './request-context.js';
import { sendError } from './respond.js';
import type { DataPlaneState } from './request-handler.js';
import type { RuntimeHolder } from './runtime.js';

export interface UpgradeDeps {
  holder: RuntimeHolder;
  state: DataPlaneState;
  /** The plain request pipeline, for upgrade requests that are not tunnelled. */
  handler: (req: IncomingMessage, res: ServerResponse) => void;
  /** Told of an exception thrown while handling an upgrade request (a bug), after its connection was destroyed. */
  onError: (error: unknown) => void;
}

const OWN_HEADERS: ReadonlySet<string> = new Set(['x-abproxy-variant', 'x-request-id']);

/** The server's 'upgrade' listener, for sockets a HandedOverSockets tracks (which listens for their 'error'). */
export function createUpgradeHandler(deps: UpgradeDeps): (req: IncomingMessage, socket: Socket, head: Buffer) => void {
  function onUpgrade(req: IncomingMessage, socket: Socket, clientHead: Buffer): void {
    relayDrain(socket); // for node's answers to earlier requests, then closingResponse's
    /** Runs a step of this request's handling; an exception costs the connection, never the process. */
    const guard = (step: () => void) => {
      try {
        step();
      } catch (error) {
        socket.destroy();
        upgradeFailuresTotal.inc();
        deps.onError(error);
      }
    };
    // node hands the socket over while it may still be writing the answers to requests pipelined ahead
    // of this one (its socket._httpMessage): this one is read, forwarded and answered after them.
    afterEarlierAnswers(socket, () =>
      guard(() => {
        if (socket.writable) upgrade(req, socket, clientHead, guard); // else an earlier answer ended the connection: nothing more is said on it
      }),
    );
  }

  function upgrade(req: IncomingMessage, socket: Socket, clientHead: Buffer, guard: (step: () => void) => void): void {
    const runtime = deps.holder.current;
    adoptAbsoluteForm(req); // a target it refuses stays absolute-form, and the plain handler answers it 400
    const target = normalizeTarget(req.url ?? '');
    const route = target && runtime.routes.match(target.path);
    const tunnelled = route && target && route.config.websocket && isWebSocketHandshake(req) && !deps.state.draining && requestHeadProblem(req.httpVersion, req.rawHeaders) === undefined;
    if (!tunnelled) return servePlain(req, socket, deps.handler);
    const startedAt = performance.now();
    const { variant } = assignRequest(route, req, target.query, undefined);
    const requestId = requestIdOf(req);
    const extraHeaders = ['x-abproxy-variant', variant.name, 'x-request-id', requestId];
    const finish = (status: number) => recordRequest(route.name, variant.name, status, (performance.now() - startedAt) / 1000);
    if (variant.target.kind !== 'http') {
      sendError(closingResponse(req, socket), new ProxyError('ABPROXY_BAD_REQUEST', `variant ${variant.name} is a local model; a WebSocket needs an http(s) target`), extraHeaders, true);
      return finish(400);
    }
    const { origin, basePath } = variant.target;
    const url = new URL(origin);
    const headers = upstreamHeaders(req, runtime, requestId);
    headers.push('connection', 'upgrade', 'upgrade', req.headers.upgrade ?? 'websocket');
    const upstream = (url.protocol === 'https:' ? httpsRequest : httpRequest)({
      hostname: url.hostname,
      port: url.port,
      path: basePath + target.path + (target.query ? `?${target.query}` : ''),
      method: 'GET',
      headers,
      setHost: false,
      agent: false,
      timeout: runtime.config.limits.upstreamTimeoutMs,
    });
    /** Answered: the upstream answered or failed, and the client connection belongs to that answer; abandoned: the client left first. */
    let state: 'waiting' | 'answered' | 'abandoned' = 'waiting';
    socket.once('close', () => {
      upstream.destroy();
      if (state !== 'waiting') return;
      state = 'abandoned';
      finish(499); // client closed request (nginx's convention)
    });
    const fail = (error: Error) => {
      if (state === 'abandoned') return;
      recordUpstreamError(route.name, variant.name, classifyTransportError(error));
      if (state === 'answered') return socket.destroy(); // failed while relaying a declined upgrade: cut off, never complete-looking
      state = 'answered';
      const failure = upstreamError(error);
      sendError(closingResponse(req, socket), failure, extraHeaders, true);
      finish(failure.status);
    };
    upstream.on('timeout', () => upstream.destroy(Object.assign(new Error('no handshake answer in time'), { code: 'UND_ERR_HEADERS_TIMEOUT' })));
    upstream.on('error', (error) => guard(() => fail(error)));
    upstream.on('response', (answer) =>
      guard(() => {
        answer.on('error', () => socket.destroy());
        const status = answer.statusCode ?? 0;
        // node's client passes on a status under 100, which no answer may carry (RFC 9110 §15): an invalid response.
        if (status < 100) return fail(Object.assign(new Error(`upstream answered the handshake with status ${status}`), { code: 'HPE_INVALID_STATUS' }));
        // The upstream declined the upgrade: relay its answer, then close.
        state = 'answered';
        const res = closingResponse(req, socket);
        res.writeHead(status, [...stripHopByHop(answer.rawHeaders, OWN_HEADERS), ...extraHeaders]);
        answer.pipe(res);
        finish(status);
      }),
    );
    upstream.on('upgrade', (answer, upstreamSocket: Socket, upstreamHead: Buffer) =>
      guard(() => {
        upstreamSocket.setTimeout(0);
        if (state === 'abandoned') return upstreamSocket.destroy();
        state = 'answered';
        const fields = [...stripHopByHop(answer.rawHeaders, OWN_HEADERS), 'connection', 'Upgrade', 'upgrade', answer.headers.upgrade ?? 'websocket', ...extraHeaders];
        let response = 'HTTP/1.1 101 Switching Protocols\r\n';
        for (let i = 0; i < fields.length; i += 2) response += `${fields[i] ?? ''}: ${fields[i + 1] ?? ''}\r\n`;
        socket.write(`${response}\r\n`);
        if (upstreamHead.length > 0) socket.write(upstreamHead);
        if (clientHead.length > 0) upstreamSocket.write(clientHead);
        join(socket, upstreamSocket, runtime.config.limits.keepAliveTimeoutMs);
        finish(101);
        const gauge = websocketConnections.labels({ route: route.name, variant: variant.name });
        gauge.inc();
        socket.once('close', () => gauge.dec());
      }),
    );
    upstream.end();
  }

  return onUpgrade;
}

/** A GET that asks to switch to the websocket protocol (Upgrade lists it; node saw Connection: upgrade). */
function isWebSocketHandshake(req: IncomingMessage): boolean {
  return req.method === 'GET' && (req.headers.upgrade ?? '').split(',').some((token) => token.trim().toLowerCase() === 'websocket');
}

/** An upgrade request that is not tunnelled, answered by the plain pipeline on a connection that then closes. */
function servePlain(req: IncomingMessage, socket: Socket, handler: UpgradeDeps['handler']): void {
  const res = closingResponse(req, socket);
  // The parser has let go of the connection: a body after the head could not be read.
  if (hasBody(req)) {
    sendError(res, new ProxyError('ABPROXY_BAD_REQUEST', 'an Upgrade request with a body is not supported here'), [], true);
    return recordRequest('none', 'none', 400, 0);
  }
  handler(req, res);
}

/** A response written straight to the detached client socket (no answer of node's holds it any more: onUpgrade waited), closing it once sent. */
function closingResponse(req: IncomingMessage, socket: Socket): ServerResponse {
  const res = new ServerResponse(req);
  res.shouldKeepAlive = false;
  res.assignSocket(socket);
  res.once('finish', () => socket.end());
  return res;
}

/**
 * Joins the two sockets both ways. An end (or close) on one side is passed on to the other once what it
 * sent is flushed; a tunnel still half-closed `lingerMs` later, or an error on either side, destroys both.
 */
function join(client: Socket, upstream: Socket, lingerMs: number): void {
  let lingering: NodeJS.Timeout | undefined;
  const destroyBoth = () => {
    clearTimeout(lingering);
    client.destroy();
    upstream.destroy();
  };
  const passOn = (to: Socket) => () => {
    to.end();
    lingering ??= setTimeout(destroyBoth, lingerMs).unref();
  };
  for (const [from, to] of [
    [client, upstream],
    [upstream, client],
  ] as const) {
    from.pipe(to, { end: false });
    from.once('end', passOn(to));
    from.once('close', () => (client.destroyed && upstream.destroyed ? clearTimeout(lingering) : passOn(to)()));
    from.on('error', destroyBoth);
  }
}
