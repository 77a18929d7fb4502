// Starts the real abproxy in-process on 127.0.0.1 port 0 from a config object written to a temp file.
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import assert from 'node:assert/strict';
import { stringify } from 'yaml';
import { pino } from 'pino';
import type { ConfigInput } from '../../src/config/schema.js';
import { startAbproxy, type Abproxy } from '../../src/server/lifecycle.js';

export interface TestProxy {
  url: string;
  port: number;
  adminUrl: string;
  configPath: string;
  proxy: Abproxy;
  close(): Promise<void>;
}

/** Writes `config` to a temp YAML file. */
export function writeConfig(config: Partial<ConfigInput> & Pick<ConfigInput, 'routes'>, dir = mkdtempSync(join(tmpdir(), 'abproxy-test-'))): string {
  const path = join(dir, 'abproxy.yaml');
  writeFileSync(path, configText(config, dir));
  return path;
}

/** Replaces the config file at `path` with `config` in one rename, as an editor or `abproxy weights` does: a watching proxy reloads it whole. */
export function replaceConfig(path: string, config: Partial<ConfigInput> & Pick<ConfigInput, 'routes'>): void {
  writeFileSync(`${path}.new`, configText(config, dirname(path)));
  renameSync(`${path}.new`, path);
}

/** The config as YAML: listen and admin default to port 0, and the shadow log to a file beside it (not the working directory's data/). */
function configText(config: Partial<ConfigInput> & Pick<ConfigInput, 'routes'>, dir: string): string {
  return stringify({ listen: '127.0.0.1:0', admin: '127.0.0.1:0', ...config, shadowLog: { path: join(dir, 'shadow.jsonl'), ...config.shadowLog } });
}

export async function startProxy(config: Partial<ConfigInput> & Pick<ConfigInput, 'routes'>): Promise<TestProxy> {
  const configPath = writeConfig(config);
  const proxy = await startAbproxy({ configPath, logger: pino({ level: 'silent' }) });
  const port = proxy.dataPlane.address.port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    adminUrl: `http://127.0.0.1:${proxy.admin.address.port}`,
    configPath,
    proxy,
    close: () => proxy.close(2_000),
  };
}

/** The port of a started proxy's HTTP/2 listener (the config has `http2`); fails the test when it is not up. */
export function http2PortOf(proxy: Abproxy): number {
  const port = proxy.http2Plane?.address.port;
  assert.ok(port, 'the HTTP/2 listener is up');
  return port;
}
