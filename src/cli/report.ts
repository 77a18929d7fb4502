// `abproxy report ROUTE [--admin URL] [--json]`: the experiment report of a route as a table,
// from GET /admin/report on a running proxy. Read-only.
import type { Command } from 'commander';
import type { Report } from '../admin/report-model.js';
import { pText } from '../stats/verdict.js';
import { ADMIN_FLAG, ADMIN_HELP, AdminRequestError, DEFAULT_ADMIN, fixed, getJson, percent, table } from './admin-client.js';

export function registerReport(program: Command): void {
  program
    .command('report')
    .description('show the experiment report of ROUTE: split, errors, latency, rewards, significance, sample-ratio check')
    .argument('<route>', 'route name')
    .option(ADMIN_FLAG, ADMIN_HELP, DEFAULT_ADMIN)
    .option('--json', 'print the report as JSON')
    .action(async (route: string, options: { admin: string; json?: boolean }) => {
      try {
        const report = await getJson<Report>(options.admin, `admin/report?route=${encodeURIComponent(route)}`);
        process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`);
      } catch (error) {
        if (!(error instanceof AdminRequestError)) throw error;
        process.stderr.write(`abproxy: ${error.message}\n`);
        process.exitCode = 1;
      }
    });
}

export function formatReport(report: Report): string {
  const rows = report.variants.map((v, index) => [
    index === 0 ? `${v.name} (control)` : v.name,
    String(v.requests),
    percent(v.share),
    percent(v.configuredShare),
    percent(v.errorRate, 2),
    fixed(v.p50Ms, 1),
    fixed(v.p95Ms, 1),
    fixed(v.p99Ms, 1),
    String(v.feedback),
    v.rewardMean === null ? '-' : `${v.rewardMean.toFixed(4)}${v.rewardCi95 ? ` [${v.rewardCi95[0].toFixed(4)}, ${v.rewardCi95[1].toFixed(4)}]` : ''}`,
    v.lift === null ? '-' : `${v.lift >= 0 ? '+' : ''}${(v.lift * 100).toFixed(1)}%`,
    v.pValue === null ? '-' : pText(v.pValue).replace('p = ', '').replace('p ', ''),
    v.zPValue === null ? '-' : pText(v.zPValue).replace('p = ', '').replace('p ', ''),
  ]);
  const lines = [
    `route ${report.route}: ${report.requests} requests`,
    '',
    table(['variant', 'requests', 'share', 'configured', 'errors', 'p50 ms', 'p95 ms', 'p99 ms', 'feedback', 'reward mean [95% CI]', 'lift', 'p (Welch)', 'p (z)'], rows),
    '',
  ];
  for (const s of report.shadows) {
    lines.push(`shadow ${s.name}: agreement ${percent(s.agreementRate)} (${s.match} match, ${s.mismatch} mismatch, ${s.incomparable} incomparable, ${s.dropped} dropped)`);
  }
  const { srm } = report;
  lines.push(
    `sample ratio: chi-square ${srm.chiSquare === null ? '-' : srm.chiSquare.toFixed(2)}, df ${srm.df}, ${srm.pValue === null ? 'p -' : pText(srm.pValue)} (mismatch below ${srm.threshold}): ${srm.mismatch ? 'MISMATCH' : 'ok'}`,
    `verdict: ${report.verdict}`,
  );
  return lines.join('\n');
}
