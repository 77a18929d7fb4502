// GET /admin/timeseries[?route=R][&limit=N]: the live series as JSON, with each route's configured
// variants and shadows. Read-only; never samples on demand (the timer does).
import type { AdminRoute } from './admin-server.js';
import type { SeriesSource, TimeSeries } from './timeseries.js';
import { sendJson } from '../server/respond.js';

export function timeseriesRoutes(series: TimeSeries, source: () => SeriesSource): AdminRoute[] {
  return [
    {
      method: 'GET',
      path: '/admin/timeseries',
      handler: (_req, res, url) => {
        const { generation, routes } = source();
        const only = url.searchParams.get('route');
        const limitParam = url.searchParams.get('limit');
        const limit = limitParam === null ? series.capacity : Number(limitParam);
        if (!Number.isInteger(limit) || limit < 1) {
          return sendJson(res, 400, { error: `limit must be a positive integer, got "${limitParam}"`, code: 'ABPROXY_BAD_REQUEST' });
        }
        const selected = only === null ? routes : routes.filter((r) => r.name === only);
        if (only !== null && selected.length === 0) return sendJson(res, 404, { error: `no route named "${only}"`, code: 'ABPROXY_NO_ROUTE' });
        sendJson(res, 200, {
          intervalMs: series.intervalMs,
          capacity: series.capacity,
          generation,
          counters: series.counters,
          routes: selected.map((route) => {
            const total = route.variants.reduce((sum, v) => sum + v.weight, 0);
            return {
              name: route.name,
              variants: route.variants.map((v) => ({ name: v.name, weight: v.weight, configuredShare: total > 0 ? v.weight / total : 0 })),
              shadows: route.shadows,
              points: series.points(route.name, limit),
            };
          }),
        }, ['cache-control', 'no-store']);
      },
    },
  ];
}
