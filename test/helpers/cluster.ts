// Spawns the real CLI as `abproxy serve --workers N` and follows the primary's JSON log lines to learn the
// worker pids and ports (everything listens on 127.0.0.1 port 0).
import { spawn, type ChildProcess } from 'node:child_process';
import type { TestContext } from 'node:test';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { writeConfig } from './proxy.js';
import { startUpstream, type TestUpstream } from './upstream.js';

export interface WorkerInfo {
  slot: number;
  pid: number;
  dataPort: number;
  adminPort: number;
}

export interface SpawnedCluster {
  child: ChildProcess;
  /** Every log line so far, parsed. */
  lines: Record<string, unknown>[];
  /** Latest listening worker in each slot. */
  workers: Map<number, WorkerInfo>;
  dataPort: number;
  /** The shared admin address (slot 0). */
  adminPort: number;
  /** Resolves with the first log line (past or future) that matches, or rejects after timeoutMs. */
  waitFor(match: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(): Promise<number | null>;
}

export async function spawnCluster(configPath: string, workers: number, extraArgs: string[] = [], startTimeoutMs = 45_000): Promise<SpawnedCluster> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', '-c', configPath, '--workers', String(workers), ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  const watchers: ((line: Record<string, unknown>) => void)[] = [];
  const workerMap = new Map<number, WorkerInfo>();
  const stderr: string[] = [];
  child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  createInterface({ input: child.stdout }).on('line', (text) => {
    let line: Record<string, unknown>;
    try {
      line = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return;
    }
    lines.push(line);
    if (line.msg === 'worker listening') {
      workerMap.set(Number(line.slot), { slot: Number(line.slot), pid: Number(line.pid), dataPort: Number(line.dataPort), adminPort: Number(line.adminPort) });
    }
    for (const watcher of [...watchers]) watcher(line);
  });
  const exited = once(child, 'exit') as Promise<[number | null, string | null]>;

  function waitFor(match: (line: Record<string, unknown>) => boolean, timeoutMs = 30_000): Promise<Record<string, unknown>> {
    const seen = lines.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        watchers.splice(watchers.indexOf(watcher), 1);
        reject(new Error(`no matching log line within ${timeoutMs} ms; stderr: ${stderr.join('')}`));
      }, timeoutMs);
      const watcher = (line: Record<string, unknown>) => {
        if (!match(line)) return;
        clearTimeout(timer);
        watchers.splice(watchers.indexOf(watcher), 1);
        resolve(line);
      };
      watchers.push(watcher);
    });
  }

  try {
    await waitFor((line) => line.msg === 'all workers listening', startTimeoutMs);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  const first = workerMap.get(0) as WorkerInfo;
  return {
    child,
    lines,
    workers: workerMap,
    dataPort: first.dataPort,
    adminPort: first.adminPort,
    waitFor,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const [code] = await exited;
      return code;
    },
  };
}

/** A config with one sticky 70/30 route `m` (champion, challenger) on `upstreamUrl`, for the cluster tests. */
export function splitConfig(upstreamUrl: string) {
  return {
    routes: [
      {
        name: 'm',
        match: { pathPrefix: '/m' },
        sticky: [{ header: 'x-session-id' }],
        variants: [
          { name: 'champion', target: upstreamUrl, weight: 70 },
          { name: 'challenger', target: upstreamUrl, weight: 30 },
        ],
      },
    ],
  };
}

/** A test upstream and a two-worker cluster in front of it on splitConfig, both stopped when the test ends. */
export async function startSplitCluster(t: TestContext, extraArgs: string[] = []): Promise<{ upstream: TestUpstream; configPath: string; cluster: SpawnedCluster }> {
  const upstream = await startUpstream();
  const configPath = writeConfig(splitConfig(upstream.url));
  const cluster = await spawnCluster(configPath, 2, extraArgs);
  t.after(async () => {
    await cluster.stop();
    await upstream.close();
  });
  return { upstream, configPath, cluster };
}
