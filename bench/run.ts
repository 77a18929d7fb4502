// `npm run bench [-- FILTER... --rounds N --duration S ...]`: builds the CLI, starts the fast upstream,
// then measures every selected scenario (plus the baselines it is compared with) in interleaved rounds
// and prints the median table, per-round throughput and goal verdicts. Bounded: every load has a duration.
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildCli } from './lib/abproxy.js';
import { measure, type LoadSettings } from './lib/measure.js';
import { nginxVersion } from './lib/nginx.js';
import { findCommand } from './lib/processes.js';
import { checkGoals, DEFAULT_REFERENCE, DIRECT, formatVerdict, perRoundLine, summarize, table, type ScenarioRuns } from './lib/report.js';
import { splitRequest } from './lib/requests.js';
import type { Scenario } from './lib/types.js';
import { startUpstreams } from './lib/upstream.js';
import { scenarios } from './scenarios/index.js';

const USAGE = `usage: npm run bench -- [FILTER...] [--rounds N] [--duration S] [--warmup S] [--latency S] [--connections C] [--threads T] [--list]
  FILTER selects the scenario of that exact name, else every scenario whose name contains it
  (the baselines they compare with are added).`;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '8' },
    warmup: { type: 'string', default: '2' },
    latency: { type: 'string', default: '4' },
    connections: { type: 'string', default: '64' },
    threads: { type: 'string', default: '2' },
    list: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});

function positiveInt(name: string, value: string, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > max) throw new Error(`--${name} must be an integer from 0 to ${max}, got "${value}"`);
  return n;
}

function select(all: readonly Scenario[], filters: readonly string[]): Scenario[] {
  if (filters.length === 0) return [...all];
  // A filter equal to a scenario's name selects just that one; otherwise every name containing it.
  const matches = (f: string) => (all.some((s) => s.name === f) ? all.filter((s) => s.name === f) : all.filter((s) => s.name.includes(f)));
  const chosen = new Set(filters.flatMap(matches).map((s) => s.name));
  if (chosen.size === 0) throw new Error(`no scenario matches ${filters.join(', ')}; try --list`);
  for (const s of all) if (chosen.has(s.name)) chosen.add(s.reference ?? DEFAULT_REFERENCE);
  chosen.add(DIRECT);
  return all.filter((s) => chosen.has(s.name));
}

async function main(): Promise<void> {
  if (values.help) return void console.log(USAGE);
  if (values.list) return void console.log(scenarios.map((s) => `${s.name.padEnd(24)} ${s.title}`).join('\n'));
  const wrkPath = findCommand('wrk');
  if (!wrkPath) throw new Error('wrk is not installed (apt-get install wrk); the benchmark drives its load with wrk');
  const rounds = Math.max(1, positiveInt('rounds', values.rounds, 50));
  const settings: LoadSettings = {
    wrkPath,
    connections: Math.max(1, positiveInt('connections', values.connections, 10_000)),
    threads: Math.max(1, positiveInt('threads', values.threads, 64)),
    warmupSec: positiveInt('warmup', values.warmup, 600),
    durationSec: Math.max(1, positiveInt('duration', values.duration, 600)),
    latencySec: Math.max(1, positiveInt('latency', values.latency, 600)),
  };
  const selected = select(scenarios, positionals);
  const results: ScenarioRuns[] = selected.map((scenario) => ({ scenario, runs: [], skipped: scenario.unavailable?.() }));

  console.log(`building the CLI (npm run build) ...`);
  const cliPath = buildCli();
  const runDir = mkdtempSync(join(tmpdir(), 'abproxy-bench-'));
  const upstreams = await startUpstreams(['champion', 'challenger', 'shadow']);
  try {
    for (let round = 1; round <= rounds; round++) {
      for (const entry of results) {
        if (entry.skipped) continue;
        process.stdout.write(`round ${round}/${rounds} ${entry.scenario.name} ... `);
        try {
          const m = await measure(entry.scenario, { upstreams, cliPath, splitRequest }, settings, runDir);
          entry.runs.push(m);
          console.log(`${Math.round(m.reqPerSec)} req/s, p50 ${m.p50Ms.toFixed(2)} ms, ${m.cpuUsPerReq.toFixed(0)} µs CPU/req (upstream ${m.upstreamCpuUsPerReq.toFixed(0)})${m.errors ? `, ${m.errors} errors` : ''}`);
        } catch (error) {
          entry.skipped = `failed: ${(error as Error).message.split('\n')[0] ?? ''}`;
          console.log(entry.skipped);
        }
      }
    }
  } finally {
    await upstreams.close();
    rmSync(runDir, { recursive: true, force: true });
  }

  const summaries = summarize(results);
  const cpu = cpus();
  console.log(`\n## abproxy benchmark (medians of ${rounds} round${rounds > 1 ? 's' : ''})\n`);
  console.log(`Machine: ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${cpu.length} cores, Node ${process.version}, ${nginxVersion() ?? 'no nginx'}.`);
  console.log(`Load: wrk -t${settings.threads} -c${settings.connections} -d${settings.durationSec}s after ${settings.warmupSec}s warm-up; latency at 1 connection for ${settings.latencySec}s.`);
  console.log(`Request: ${splitRequest.method} ${splitRequest.path}, ${splitRequest.body?.length ?? 0}-byte JSON body, distinct ${splitRequest.keyHeader ?? ''} per request.\n`);
  console.log(table(summaries));
  console.log('');
  for (const s of summaries) console.log(perRoundLine(s));
  for (const entry of results) if (entry.skipped) console.log(`${entry.scenario.name}: not measured (${entry.skipped})`);
  const verdicts = checkGoals(selected, summaries);
  if (verdicts.length > 0) console.log(`\n${verdicts.map(formatVerdict).join('\n')}`);
}

main().catch((error: unknown) => {
  console.error(`bench: ${(error as Error).message}`);
  process.exitCode = 1;
});
