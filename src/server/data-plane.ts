// The data-plane HTTP server: hardened options (its timeouts follow each config swap), the request
// pipeline, client-error answers, WebSocket upgrades while a route enables them, CONNECT refused with an
// answer, and a drain that stops accepting, lets in-flight requests and open tunnels finish, closes idle
// sockets (node's keep-alive ones and those it handed to 'upgrade' or 'connect') and, once it ends, every
// socket left.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo, Socket } from 'node:net';
import type { Limits } from '../config/schema.js';
import { recordRequest } from '../metrics/request-metrics.js';
import { CONNECT_REFUSED, ProxyError, STATUS_OF } from '../http/errors.js';
import { declaredLengthTooLarge } from './body.js';
import { sendError } from './respond.js';
import { HandedOverSockets } from './handed-over-sockets.js';
import { answerClientError, answerOnSocket, applyTimeouts, serverOptions } from './http-options.js';
import { createRequestHandler, type DataPlaneDeps } from './request-handler.js';
import type { Runtime } from './runtime.js';
import { createUpgradeHandler } from './websocket.js';

export interface DataPlane {
  server: Server;
  address: AddressInfo;
  /** Stops accepting, finishes in-flight requests (up to graceMs), then closes every socket. */
  drain(graceMs: number): Promise<void>;
}

/** `onUpgradeError` is told of an exception thrown while handling an upgrade request; its connection was destroyed, the process keeps serving. */
export async function startDataPlane(deps: DataPlaneDeps, limits: Limits, host: string, port: number, onUpgradeError: (error: unknown) => void): Promise<DataPlane> {
  const handler = createRequestHandler(deps);
  const server = createServer(serverOptions(limits), handler);
  // Expect: 100-continue (RFC 9110 §10.1.1): a body the proxy will refuse is refused before the client sends it.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    if (!deps.state.draining && !declaredLengthTooLarge(req, deps.holder.current.config.limits.maxBodyBytes)) res.writeContinue();
    handler(req, res);
  });
  server.on('checkExpectation', (_req: IncomingMessage, res: ServerResponse) => {
    sendError(res, new ProxyError('ABPROXY_EXPECTATION_FAILED', 'only "Expect: 100-continue" is supported'), [], true);
    recordRequest('none', 'none', STATUS_OF.ABPROXY_EXPECTATION_FAILED, 0);
  });
  server.on('clientError', (error: Error & { code?: string }, socket: Socket) =>
    answerClientError(error, socket, (code) => recordRequest('none', 'none', STATUS_OF[code], 0)),
  );
  const handedOver = new HandedOverSockets(() => deps.holder.current.config.limits.keepAliveTimeoutMs);
  // CONNECT asks for a tunnel, a forward proxy's job; without a 'connect' listener node closes the socket unanswered.
  server.on('connect', (_req: IncomingMessage, socket: Socket) => {
    handedOver.track(socket);
    answerOnSocket(socket, 'ABPROXY_BAD_REQUEST', CONNECT_REFUSED);
    recordRequest('none', 'none', STATUS_OF.ABPROXY_BAD_REQUEST, 0);
  });
  // With an 'upgrade' listener node hands every upgrade request to it, so there is one only while a route tunnels WebSockets.
  const upgrade = createUpgradeHandler({ holder: deps.holder, state: deps.state, handler, onError: onUpgradeError });
  const onUpgrade = (req: IncomingMessage, socket: Socket, head: Buffer) => {
    handedOver.track(socket);
    upgrade(req, socket, head);
  };
  const syncUpgrades = (runtime: Runtime) => {
    const wanted = runtime.routes.routes.some((route) => route.config.websocket);
    if (wanted && server.listenerCount('upgrade') === 0) server.on('upgrade', onUpgrade);
    else if (!wanted) server.off('upgrade', onUpgrade);
  };
  syncUpgrades(deps.holder.current);
  deps.holder.onSwap(syncUpgrades);
  deps.holder.onSwap((next) => applyTimeouts(server, next.config.limits));
  server.listen({ host, port });
  await once(server, 'listening');
  const address = server.address() as AddressInfo;

  async function drain(graceMs: number): Promise<void> {
    deps.state.draining = true;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    const closeIdle = () => {
      server.closeIdleConnections();
      handedOver.closeIdle();
    };
    closeIdle();
    // Sockets that finish a response while draining are closed once idle.
    const timer = setInterval(closeIdle, 100);
    const deadline = new Promise<void>((resolve) => setTimeout(resolve, graceMs).unref());
    await Promise.race([closed, deadline]);
    clearInterval(timer);
    server.closeAllConnections();
    handedOver.closeAll();
  }

  return { server, address, drain };
}
