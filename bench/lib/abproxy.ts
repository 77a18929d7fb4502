// Runs abproxy as its own process from the built CLI (dist/cli/main.js) with a config written to the
// scenario's temp dir, on free loopback ports; also builds the CLI once per run. Never edits src/.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import type { ConfigInput } from '../../src/config/schema.js';
import { freePort, startListening, type Managed } from './processes.js';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Runs `npm run build` (src/ to dist/, plus the dashboard's static files) and returns the CLI entry. */
export function buildCli(): string {
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: REPO_ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  return join(REPO_ROOT, 'dist/cli/main.js');
}

export interface RunningAbproxy {
  proc: Managed;
  url: string;
  adminUrl: string;
  close(): Promise<void>;
}

/** Starts `abproxy serve` with `config` (listen/admin are filled in) plus any extra CLI arguments. */
export async function startAbproxyProcess(cliPath: string, dir: string, config: Omit<ConfigInput, 'listen' | 'admin'>, extraArgs: readonly string[] = []): Promise<RunningAbproxy> {
  const port = await freePort();
  const adminPort = await freePort();
  const configPath = join(dir, 'abproxy.yaml');
  writeFileSync(configPath, stringify({ listen: `127.0.0.1:${port}`, admin: `127.0.0.1:${adminPort}`, log: { level: 'warn' }, ...config }));
  const proc = await startListening(process.execPath, [cliPath, 'serve', '-c', configPath, ...extraArgs], REPO_ROOT, [port, adminPort]);
  return { proc, url: `http://127.0.0.1:${port}`, adminUrl: `http://127.0.0.1:${adminPort}`, close: () => proc.stop() };
}
