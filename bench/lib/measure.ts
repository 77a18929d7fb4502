// Measures one scenario once: start it, warm it up, drive the throughput load while sampling the
// target's CPU time and the upstream process's (what the target's requests cost the backends), read
// its RSS, drive a one-connection latency run, check it, close it.
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { cpuMicros, rssBytes } from './procstat.js';
import type { BenchEnv, Measurement, Scenario } from './types.js';
import { runWrk } from './wrk.js';

export interface LoadSettings {
  wrkPath: string;
  connections: number;
  threads: number;
  warmupSec: number;
  durationSec: number;
  latencySec: number;
}

export async function measure(scenario: Scenario, env: Omit<BenchEnv, 'tmpDir'>, settings: LoadSettings, runDir: string): Promise<Measurement> {
  const tmpDir = mkdtempSync(join(runDir, `${scenario.name}-`));
  await env.upstreams.takeCounts(); // start the scenario's counts from zero
  const target = await scenario.start({ ...env, tmpDir });
  try {
    const base = { url: target.url, request: target.request, dir: tmpDir };
    const load = { ...base, connections: settings.connections, threads: settings.threads };
    if (settings.warmupSec > 0) await runWrk(settings.wrkPath, { ...load, durationSec: settings.warmupSec });
    const cpuBefore = cpuMicros(target.pid);
    const upstreamCpuBefore = cpuMicros(env.upstreams.pid);
    const result = await runWrk(settings.wrkPath, { ...load, durationSec: settings.durationSec });
    const cpuUsed = cpuMicros(target.pid) - cpuBefore;
    const upstreamCpuUsed = cpuMicros(env.upstreams.pid) - upstreamCpuBefore;
    const rss = rssBytes(target.pid);
    const latency = await runWrk(settings.wrkPath, { ...base, connections: 1, threads: 1, durationSec: settings.latencySec });
    const note = target.check ? await target.check() : '';
    const errors = result.errors + latency.errors;
    return {
      reqPerSec: result.requests / result.durationSec,
      p50Ms: result.p50Ms,
      p99Ms: result.p99Ms,
      errors,
      cpuUsPerReq: perRequest(cpuUsed, result.requests),
      upstreamCpuUsPerReq: perRequest(upstreamCpuUsed, result.requests),
      rssMb: rss / 1024 / 1024,
      p50OneConnMs: latency.p50Ms,
      note,
    };
  } finally {
    await target.close();
  }
}

function perRequest(micros: number, requests: number): number {
  return requests > 0 ? micros / requests : 0;
}
