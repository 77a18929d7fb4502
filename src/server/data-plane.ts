// The data-plane HTTP server: hardened options, the request pipeline, client-error answers, and a
// drain that stops accepting, lets in-flight requests finish and closes idle keep-alive sockets.
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo, Socket } from 'node:net';
import type { Limits } from '../config/schema.js';
import { recordRequest } from '../metrics/request-metrics.js';
import { STATUS_OF } from '../http/errors.js';
import { answerClientError, serverOptions } from './http-options.js';
import { createRequestHandler, type DataPlaneDeps } from './request-handler.js';

export interface DataPlane {
  server: Server;
  address: AddressInfo;
  /** Stops accepting, finishes in-flight requests (up to graceMs), then closes every socket. */
  drain(graceMs: number): Promise<void>;
}

export async function startDataPlane(deps: DataPlaneDeps, limits: Limits, host: string, port: number): Promise<DataPlane> {
  const server = createServer(serverOptions(limits), createRequestHandler(deps));
  server.on('clientError', (error: Error & { code?: string }, socket: Socket) =>
    answerClientError(error, socket, (code) => recordRequest('none', 'none', STATUS_OF[code], 0)),
  );
  server.listen({ host, port });
  await once(server, 'listening');
  const address = server.address() as AddressInfo;

  async function drain(graceMs: number): Promise<void> {
    deps.state.draining = true;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    // Keep-alive sockets that finish a response while draining are closed by node once idle.
    const timer = setInterval(() => server.closeIdleConnections(), 100);
    const deadline = new Promise<void>((resolve) => setTimeout(resolve, graceMs).unref());
    await Promise.race([closed, deadline]);
    clearInterval(timer);
    server.closeAllConnections();
  }

  return { server, address, drain };
}
