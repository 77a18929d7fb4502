// The admin HTTP server: a tiny method+path router over the endpoints registered by admin modules
// (/metrics, /healthz, /readyz, and the admin API); HEAD is answered as GET without the body, CONNECT
// is refused with an answer. Binds to loopback unless a token is configured.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo, Socket } from 'node:net';
import { CONNECT_REFUSED } from '../http/errors.js';
import { HandedOverSockets } from '../server/handed-over-sockets.js';
import { answerOnSocket } from '../server/http-options.js';
import { sendJson } from '../server/respond.js';

export type AdminHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => void | Promise<void>;

export interface AdminRoute {
  method: 'GET' | 'POST' | 'PUT';
  /** Exact path, or a prefix ending in "/*" */
  path: string;
  handler: AdminHandler;
}

export interface AdminServer {
  server: Server;
  address: AddressInfo;
  close(): Promise<void>;
}

/** `exclusive`: in a cluster worker, bind a port of its own instead of sharing the primary's listener. */
export async function startAdminServer(routes: readonly AdminRoute[], host: string, port: number, onError: (error: unknown) => void, exclusive = false): Promise<AdminServer> {
  const server = createServer({ requestTimeout: 30_000, headersTimeout: 10_000 }, (req, res) => {
    const url = new URL(req.url ?? '/', 'http://admin.invalid');
    const matching = routes.filter((route) => (route.path.endsWith('/*') ? url.pathname.startsWith(route.path.slice(0, -1)) : url.pathname === route.path));
    const method = req.method === 'HEAD' ? 'GET' : req.method; // RFC 9110 §9.3.2: GET's head, no body (node drops it)
    const route = matching.find((r) => r.method === method);
    if (!route) {
      const allowed = matching.flatMap((r) => (r.method === 'GET' ? ['GET', 'HEAD'] : [r.method]));
      if (matching.length > 0) return sendJson(res, 405, { error: `method ${req.method} not allowed on ${url.pathname}`, code: 'ABPROXY_METHOD_NOT_ALLOWED' }, ['allow', allowed.join(', ')]);
      return sendJson(res, 404, { error: `no admin endpoint ${url.pathname}`, code: 'ABPROXY_NOT_FOUND' });
    }
    Promise.resolve()
      .then(() => route.handler(req, res, url))
      .catch((error: unknown) => {
        onError(error);
        if (!res.headersSent) sendJson(res, 500, { error: (error as Error).message, code: 'ABPROXY_ADMIN_ERROR' });
        else res.destroy();
      });
  });
  const handedOver = new HandedOverSockets(() => server.keepAliveTimeout);
  server.on('connect', (_req: IncomingMessage, socket: Socket) => {
    handedOver.track(socket);
    answerOnSocket(socket, 'ABPROXY_BAD_REQUEST', CONNECT_REFUSED);
  });
  server.listen({ host, port, exclusive });
  await once(server, 'listening');
  return {
    server,
    address: server.address() as AddressInfo,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        handedOver.closeAll();
      }),
  };
}
