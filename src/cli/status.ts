// `abproxy status [--admin URL]`: one screen with every route's live weights, request rate, error rate,
// p99 per variant and shadow agreement. Rates come from two GET /admin/status samples. Read-only.
import type { Command } from 'commander';
import type { Report } from '../admin/report-model.js';
import { ADMIN_FLAG, ADMIN_HELP, AdminRequestError, DEFAULT_ADMIN, fixed, getJson, percent, table } from './admin-client.js';

export interface StatusDocument {
  generation: number;
  uptimeSeconds: number;
  routes: Report[];
}

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description("show every route's live weights, request and error rates, p99 latency and shadow agreement")
    .option(ADMIN_FLAG, ADMIN_HELP, DEFAULT_ADMIN)
    .option('--interval-ms <ms>', 'time between the two samples the rates come from', '1000')
    .action(async (options: { admin: string; intervalMs: string }) => {
      try {
        const intervalMs = Math.min(Math.max(Number(options.intervalMs) || 1000, 100), 60_000);
        const first = await getJson<StatusDocument>(options.admin, 'admin/status');
        const startedAt = performance.now();
        await new Promise((resolve) => setTimeout(resolve, intervalMs));
        const second = await getJson<StatusDocument>(options.admin, 'admin/status');
        process.stdout.write(`${formatStatus(first, second, (performance.now() - startedAt) / 1000)}\n`);
      } catch (error) {
        if (!(error instanceof AdminRequestError)) throw error;
        process.stderr.write(`abproxy: ${error.message}\n`);
        process.exitCode = 1;
      }
    });
}

/** Rates over the window between two samples; latency and agreement are cumulative since start. */
export function formatStatus(first: StatusDocument, second: StatusDocument, seconds: number): string {
  const lines = [`config generation ${second.generation}, up ${Math.round(second.uptimeSeconds)} s, rates over ${seconds.toFixed(1)} s`];
  for (const route of second.routes) {
    const before = first.routes.find((r) => r.route === route.route);
    const rows = route.variants.map((v) => {
      const old = before?.variants.find((o) => o.name === v.name);
      const requests = v.requests - (old?.requests ?? 0);
      const errors = errorsOf(v) - (old ? errorsOf(old) : 0);
      return [v.name, String(v.weight), percent(v.configuredShare), (requests / seconds).toFixed(1), requests > 0 ? percent(errors / requests, 2) : '-', fixed(v.p99Ms, 1)];
    });
    lines.push('', `${route.route}${route.srm.mismatch ? '  (SAMPLE-RATIO MISMATCH)' : ''}`, table(['variant', 'weight', 'share', 'req/s', 'errors', 'p99 ms'], rows));
    for (const s of route.shadows) lines.push(`shadow ${s.name}: agreement ${percent(s.agreementRate)} of ${s.match + s.mismatch} compared`);
  }
  return lines.join('\n');
}

function errorsOf(v: { requests: number; errorRate: number | null }): number {
  return Math.round((v.errorRate ?? 0) * v.requests);
}
