// Child processes of a benchmark run: spawn with captured output, wait until a TCP port accepts,
// pick a free port for tools that cannot report one, and stop (SIGTERM, then SIGKILL after a grace).
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Managed {
  child: ChildProcess;
  pid: number;
  /** The last few KB of stdout+stderr, for error messages. */
  output(): string;
  stop(graceMs?: number): Promise<void>;
}

const KEEP_OUTPUT_BYTES = 8_192;

export function startProcess(command: string, args: readonly string[], cwd?: string): Managed {
  const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-KEEP_OUTPUT_BYTES);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  child.on('error', (error) => keep(Buffer.from(`\nspawn failed: ${error.message}\n`)));
  if (child.pid === undefined) throw new Error(`could not start ${command}`);
  return {
    child,
    pid: child.pid,
    output: () => output,
    async stop(graceMs = 5_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** startProcess, then waits until every one of `ports` accepts a connection; stops the process if one never does. */
export async function startListening(command: string, args: readonly string[], cwd: string, ports: readonly number[]): Promise<Managed> {
  const proc = startProcess(command, args, cwd);
  try {
    for (const port of ports) await waitForPort(port, proc);
  } catch (error) {
    await proc.stop();
    throw error;
  }
  return proc;
}

/** Resolves once 127.0.0.1:port accepts a connection; rejects after timeoutMs or when `proc` exits. */
async function waitForPort(port: number, proc: Managed, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.child.exitCode !== null) throw new Error(`process exited with ${proc.child.exitCode}:\n${proc.output()}`);
    if (await canConnect(port)) return;
    await sleep(50);
  }
  throw new Error(`port ${port} did not open within ${timeoutMs} ms:\n${proc.output()}`);
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * A port that was free a moment ago, for tools (nginx) that cannot listen on port 0 and report back.
 * Benchmark-only: the tool's own bind fails loudly if another process took it meanwhile.
 */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The full path of `command` on PATH (or in /usr/sbin, where nginx lives), or undefined. */
export function findCommand(command: string): string | undefined {
  const dirs = (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin']);
  for (const dir of dirs) {
    if (!dir) continue;
    try {
      accessSync(`${dir}/${command}`, constants.X_OK);
      return `${dir}/${command}`;
    } catch {
      // not here
    }
  }
  return undefined;
}
