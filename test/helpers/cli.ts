// Runs the real `abproxy` CLI (src/cli/main.ts through tsx) as a child process: one-shot commands with
// a bounded wait, and `serve` processes whose listening ports are read back from their JSON log lines
// (optionally with a fault-injecting preload in every thread).
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = ['--import', 'tsx', 'src/cli/main.ts'];

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `abproxy ...args` to completion (killed after timeoutMs). */
export function runCli(args: readonly string[], timeoutMs = 30_000): Promise<CliResult> {
  return runCliWithEnv(args, process.env, timeoutMs);
}

/** Runs `abproxy ...args` with the given environment (e.g. ABPROXY_ADMIN_TOKEN) to completion. */
export async function runCliWithEnv(args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs = 30_000): Promise<CliResult> {
  const child = spawn(process.execPath, [...CLI, ...args], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}

export interface ServeProcess {
  child: ChildProcess;
  port: number;
  adminPort: number;
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>;
  output(): string;
  /** SIGKILLs the process if it is still running (cleanup only). */
  kill(): void;
}

/** This process's environment with a CommonJS module preloaded (node -r) into every thread of a spawned process. */
export function envWithPreload(modulePath: string): NodeJS.ProcessEnv {
  return { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} -r ${JSON.stringify(modulePath)}` };
}

/** Spawns `abproxy serve -c configPath` (with the given environment) and waits (bounded) until both servers are listening. */
export async function spawnServe(configPath: string, extraArgs: readonly string[] = [], timeoutMs = 30_000, env: NodeJS.ProcessEnv = process.env): Promise<ServeProcess> {
  const child = spawn(process.execPath, [...CLI, 'serve', '-c', configPath, ...extraArgs], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const ports = await new Promise<{ port: number; adminPort: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start within ${timeoutMs} ms:\n${output}`)), timeoutMs);
    let port = 0;
    let adminPort = 0;
    const onLine = (chunk: Buffer) => {
      output += chunk.toString();
      for (const line of output.split('\n')) {
        const address = /"address":"[^"]*:(\d+)"/.exec(line)?.[1];
        if (address && line.includes('data plane listening')) port = Number(address);
        if (address && line.includes('admin listening')) adminPort = Number(address);
      }
      if (port && adminPort) {
        clearTimeout(timer);
        resolve({ port, adminPort });
      }
    };
    child.stdout?.on('data', onLine);
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code} before listening:\n${output}`));
    });
  });
  return {
    child,
    ...ports,
    exited,
    output: () => output,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
