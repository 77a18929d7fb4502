// Admin endpoints of the experiment report: GET /admin/report?route=R (one route) and
// GET /admin/status (every route, for `abproxy status`). Read-only: never changes a metric or the config.
import { localMetrics, readSnapshot, type MetricsSource } from '../metrics/snapshot.js';
import { sendJson } from '../server/respond.js';
import type { RuntimeHolder } from '../server/runtime.js';
import type { AdminRoute } from './admin-server.js';
import { buildReport } from './report-model.js';

/** `metrics` is where the figures come from: this process's registry unless a cluster merges several. */
export function reportRoutes(holder: RuntimeHolder, metrics: MetricsSource = localMetrics): AdminRoute[] {
  return [
    {
      method: 'GET',
      path: '/admin/report',
      handler: async (_req, res, url) => {
        const runtime = holder.current;
        const name = url.searchParams.get('route');
        if (!name) return sendJson(res, 400, { error: 'query parameter route is required: /admin/report?route=NAME', code: 'ABPROXY_BAD_REQUEST' });
        const route = runtime.routes.byName.get(name);
        if (!route) return sendJson(res, 404, { error: `no route named "${name}"`, code: 'ABPROXY_UNKNOWN_ROUTE' });
        const snapshot = await readSnapshot(metrics);
        sendJson(res, 200, buildReport(route, snapshot.get(route.name)));
      },
    },
    {
      method: 'GET',
      path: '/admin/status',
      handler: async (_req, res) => {
        const runtime = holder.current;
        const snapshot = await readSnapshot(metrics);
        const routes = runtime.config.routes.flatMap((r) => {
          const route = runtime.routes.byName.get(r.name);
          return route ? [buildReport(route, snapshot.get(route.name))] : [];
        });
        sendJson(res, 200, { generation: runtime.generation, uptimeSeconds: process.uptime(), routes });
      },
    },
  ];
}
