// Starts the fast upstream process (bench/servers/upstream.ts) and talks to it over IPC: its ports,
// and the requests each named server received since the last call. Never drives load itself.
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

export interface UpstreamStats {
  counts: Record<string, number>;
  connections: Record<string, number>;
}

export interface Upstreams {
  pid: number;
  /** Base URL per server name, e.g. { champion: 'http://127.0.0.1:41234' } */
  urls: Record<string, string>;
  ports: Record<string, number>;
  /** Requests per server since the previous call (resets the counters). */
  takeCounts(): Promise<Record<string, number>>;
  /** Requests and new TCP connections per server since the previous call (resets both). */
  takeStats(): Promise<UpstreamStats>;
  close(): Promise<void>;
}

const SCRIPT = fileURLToPath(new URL('../servers/upstream.ts', import.meta.url));
const START_TIMEOUT_MS = 20_000;

export async function startUpstreams(names: readonly string[]): Promise<Upstreams> {
  const child = fork(SCRIPT, [...names], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  child.on('error', (error) => process.stderr.write(`bench: upstream process: ${error.message}\n`));
  const ports = await firstMessage<{ ports: Record<string, number> }>(child, (m) => 'ports' in m, START_TIMEOUT_MS);
  const urls = Object.fromEntries(Object.entries(ports.ports).map(([name, port]) => [name, `http://127.0.0.1:${port}`]));
  const takeStats = (): Promise<UpstreamStats> => {
    const reply = firstMessage<UpstreamStats>(child, (m) => 'counts' in m, 5_000);
    child.send('counts');
    return reply;
  };
  return {
    pid: child.pid ?? 0,
    urls,
    ports: ports.ports,
    takeStats,
    async takeCounts() {
      return (await takeStats()).counts;
    },
    async close() {
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}

function firstMessage<T extends object>(child: ChildProcess, match: (message: object) => boolean, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`upstream process did not answer within ${timeoutMs} ms`)), timeoutMs);
    const onMessage = (message: unknown) => {
      if (message !== null && typeof message === 'object' && match(message)) done(undefined, message as T);
    };
    const onExit = () => done(new Error('upstream process exited'));
    function done(error: Error | undefined, value?: T) {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (error) reject(error);
      else resolve(value as T);
    }
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}
