// abproxy with `serve --workers 2` (issue 8): the same sticky 90/10 split, judged against nginx with two
// workers (>= 0.5x); and split + 100% shadow, judged against nginx + mirror with as many workers
// (1 worker >= 1.0x, issue 4; 2 workers >= 1.3x, issue 8) with every copy sent and compared
// (shadowPriority: equal). A last row runs the default, shadowPriority: yield, under the same load: what
// the champion keeps when the shadow worker yields the CPU, and how many copies that sheds.
import { join } from 'node:path';
import { startAbproxyProcess } from '../lib/abproxy.js';
import { mirrorCheck, shareNote } from '../lib/requests.js';
import type { BenchEnv, Scenario } from '../lib/types.js';
import { splitRoute } from './abproxy-split.js';

export const abproxySplit2w: Scenario = {
  name: 'abproxy-split-2w',
  title: 'abproxy --workers 2, sticky 90/10 split on x-session-id',
  reference: 'nginx-split-2w',
  goals: [{ metric: 'vsReference', min: 0.5 }],
  async start(env) {
    const proxy = await startAbproxyProcess(env.cliPath, env.tmpDir, { routes: [splitRoute(env)] }, ['--workers', '2']);
    return {
      url: proxy.url,
      request: env.splitRequest,
      pid: proxy.proc.pid,
      check: async () => shareNote(await env.upstreams.takeCounts(), ['champion', 'challenger'], 'challenger'),
      close: () => proxy.close(),
    };
  },
};

/** Shadow outcomes and log records from the admin /metrics (aggregated over workers), e.g. "shadow ok 51234, dropped 0; log written 51234, dropped 0". */
async function shadowOutcomes(adminUrl: string): Promise<string> {
  const text = await (await fetch(`${adminUrl}/metrics`)).text();
  const counts = (series: string, label: string) => [...text.matchAll(new RegExp(`^${series}\\{[^}]*${label}="(\\w+)"[^}]*\\} (\\d+)`, 'gm'))].map(([, value, count]) => `${value} ${count}`);
  const outcomes = counts('abproxy_shadow_requests_total', 'outcome');
  const records = counts('abproxy_shadow_log_records_total', 'result');
  return outcomes.length > 0 ? `shadow ${outcomes.join(', ')}; log ${records.join(', ')}` : 'no shadow metrics';
}

/**
 * Copies in flight a shadow may have: above any load the bench drives, so that with shadowPriority: equal no
 * copy is dropped. nginx's mirror sends every request, so abproxy's judged rows must too (the default 64,
 * shared across workers, dropped some).
 */
const SHADOW_MAX_IN_FLIGHT = 4096;

function shadowRoute(env: BenchEnv) {
  const shadow = { name: 'candidate', target: env.upstreams.urls.shadow ?? '', percent: 100, maxInFlight: SHADOW_MAX_IN_FLIGHT };
  return { ...splitRoute(env), shadows: [shadow] };
}

function abproxyShadow(workers: number, priority: 'equal' | 'yield'): Scenario {
  const workersSuffix = workers === 1 ? '' : `-${workers}w`;
  const suffix = `${workersSuffix}${priority === 'yield' ? '-yield' : ''}`;
  return {
    name: `abproxy-shadow${suffix}`,
    title: `abproxy ${workers === 1 ? '1 process' : `--workers ${workers}`}, 90/10 split + 100% shadow (compared, logged), shadowPriority: ${priority}`,
    reference: `nginx-mirror${workersSuffix}`,
    goals: priority === 'equal' ? [{ metric: 'vsReference', min: workers === 2 ? 1.3 : 1.0 }] : [],
    async start(env) {
      const config = { shadowPriority: priority, shadowLog: { path: join(env.tmpDir, 'shadow.jsonl') }, routes: [shadowRoute(env)] };
      const proxy = await startAbproxyProcess(env.cliPath, env.tmpDir, config, workers === 1 ? [] : ['--workers', String(workers)]);
      return {
        url: proxy.url,
        request: env.splitRequest,
        pid: proxy.proc.pid,
        check: async () => `${await mirrorCheck(env.upstreams)}; ${await shadowOutcomes(proxy.adminUrl)}`,
        close: () => proxy.close(),
      };
    },
  };
}

export const abproxyShadow1w = abproxyShadow(1, 'equal');
export const abproxyShadow2w = abproxyShadow(2, 'equal');
export const abproxyShadowYield = abproxyShadow(1, 'yield');
