// Liveness, readiness and the Prometheus scrape endpoint.
import type { AdminRoute } from './admin-server.js';
import { registry } from '../metrics/registry.js';
import { sendJson } from '../server/respond.js';

export interface Readiness {
  /** Why the process is not ready, or undefined when it is. */
  notReadyReason(): string | undefined;
}

export function healthRoutes(readiness: Readiness): AdminRoute[] {
  return [
    { method: 'GET', path: '/healthz', handler: (_req, res) => sendJson(res, 200, { status: 'ok' }) },
    {
      method: 'GET',
      path: '/readyz',
      handler: (_req, res) => {
        const reason = readiness.notReadyReason();
        sendJson(res, reason ? 503 : 200, reason ? { status: 'not ready', reason } : { status: 'ready' });
      },
    },
    {
      method: 'GET',
      path: '/metrics',
      handler: async (_req, res) => {
        const text = await registry.metrics();
        res.writeHead(200, { 'content-type': registry.contentType });
        res.end(text);
      },
    },
  ];
}
