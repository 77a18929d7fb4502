// Runs nginx as a reference proxy: writes a self-contained config (temp paths, pid, logs all inside
// the scenario's dir) around the given http-block directives and starts it in the foreground.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findCommand, freePort, startListening, type Managed } from './processes.js';

export interface RunningNginx {
  proc: Managed;
  url: string;
  close(): Promise<void>;
}

export function nginxPath(): string | undefined {
  return findCommand('nginx');
}

/** "nginx/1.22.1", or undefined when nginx is not installed. */
export function nginxVersion(): string | undefined {
  const path = nginxPath();
  if (!path) return undefined;
  const result = spawnSync(path, ['-v'], { encoding: 'utf8' });
  return `${result.stderr}${result.stdout}`.trim().replace(/^nginx version: /, '') || undefined;
}

/**
 * Starts nginx with `workers` worker processes. `httpBlock` receives the listen port and returns the
 * directives inside `http { }` (upstreams, split_clients, server).
 */
export async function startNginx(dir: string, workers: number, httpBlock: (port: number) => string): Promise<RunningNginx> {
  const path = nginxPath();
  if (!path) throw new Error('nginx is not installed');
  const port = await freePort();
  for (const sub of ['logs', 'tmp']) mkdirSync(join(dir, sub), { recursive: true });
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((kind) => `  ${kind}_temp_path ${join(dir, 'tmp', kind)};`).join('\n');
  writeFileSync(
    join(dir, 'nginx.conf'),
    `worker_processes ${workers};
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'logs', 'error.log')} warn;
events { worker_connections 4096; }
http {
  access_log off;
${temp}
${httpBlock(port)}
}
`,
  );
  const proc = await startListening(path, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'], dir, [port]);
  return { proc, url: `http://127.0.0.1:${port}`, close: () => proc.stop() };
}
