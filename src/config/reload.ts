// Reload = read -> parse -> validate -> swap the runtime generation atomically. A rejected file changes
// nothing: every problem is logged with its path and counted in abproxy_config_reloads_total{result}.
// Fields bound at start (addresses, the HTTP/2 listener, limits.maxHeaderBytes) are logged as applying
// after a restart. Synchronous on purpose: two reloads can never interleave. Never throws; never applies
// a partial file.
import type { Logger } from '../log/logger.js';
import { configReloadsTotal } from '../metrics/registry.js';
import { isLoopback, parseAddress } from './address.js';
import { readFileSync } from 'node:fs';
import { ConfigError, parseConfigText, type LoadedConfig } from './load.js';
import type { Config } from './schema.js';
import type { RuntimeHolder } from '../server/runtime.js';

export interface ReloadResult {
  /** `unchanged`: the text is live, or (for file events) was just rejected; not counted again. */
  result: 'success' | 'rejected' | 'unchanged';
  generation: number;
  problems: string[];
}

export interface ReloaderOptions {
  path: string;
  holder: RuntimeHolder;
  logger: Logger;
  /** The config the process started with: its listen and admin addresses and its maxHeaderBytes stay bound until a restart. */
  started: LoadedConfig;
  env?: NodeJS.ProcessEnv;
}

export class ConfigReloader {
  readonly #options: ReloaderOptions;
  #liveText: string;
  #rejectedText: string | undefined;

  constructor(options: ReloaderOptions) {
    this.#options = options;
    this.#liveText = options.started.text;
    configReloadsTotal.inc({ result: 'success' }, 0);
    configReloadsTotal.inc({ result: 'rejected' }, 0);
  }

  /** Reloads the file now. `source` says why (watch, SIGHUP, admin) for the log. */
  reload(source: string): ReloadResult {
    const { path, holder, logger, env } = this.#options;
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      return this.#reject(source, [`(file): cannot read: ${(error as Error).message}`]);
    }
    // A file event for text already judged (the poll seeing a write the watcher caught) is no news.
    if (text === this.#liveText || (source === 'watch' && text === this.#rejectedText)) {
      return { result: 'unchanged', generation: holder.current.generation, problems: [] };
    }
    this.#rejectedText = text;
    let config: Config;
    try {
      config = parseConfigText(text, path, env);
      const problems = this.#bindingProblems(config);
      if (problems.length > 0) throw new ConfigError(path, problems);
    } catch (error) {
      return this.#reject(source, error instanceof ConfigError ? error.problems : [`(file): ${(error as Error).message}`]);
    }
    this.#warnRestartOnly(config);
    let generation: number;
    try {
      generation = holder.swap(this.#runnable(config)).generation;
    } catch (error) {
      return this.#reject(source, [`(runtime): ${(error as Error).message}`]);
    }
    this.#liveText = text;
    this.#rejectedText = undefined;
    configReloadsTotal.inc({ result: 'success' });
    logger.info({ file: path, source, generation }, 'config reloaded');
    return { result: 'success', generation, problems: [] };
  }

  #reject(source: string, problems: string[]): ReloadResult {
    const { path, holder, logger } = this.#options;
    const generation = holder.current.generation;
    configReloadsTotal.inc({ result: 'rejected' });
    for (const problem of problems) logger.error({ file: path, source, problem }, `config reload rejected: ${problem}`);
    logger.error({ file: path, source, generation, problems: problems.length }, `config reload rejected; generation ${generation} stays live`);
    return { result: 'rejected', generation, problems };
  }

  /** The admin address that is bound now must keep a token when it is not loopback. */
  #bindingProblems(next: Config): string[] {
    const bound = parseAddress(this.#options.started.config.admin).address;
    if (bound && !isLoopback(bound.host) && !next.adminToken) {
      return [`adminToken: required while the admin address ${this.#options.started.config.admin} is not loopback`];
    }
    return [];
  }

  #warnRestartOnly(next: Config): void {
    const started = this.#options.started.config;
    for (const field of ['listen', 'admin'] as const) {
      if (next[field] !== started[field]) {
        this.#options.logger.warn({ field, bound: started[field], configured: next[field] }, `${field} changed: the new address applies after a restart`);
      }
    }
    if (JSON.stringify(next.http2) !== JSON.stringify(started.http2)) {
      this.#options.logger.warn({ field: 'http2', bound: started.http2, configured: next.http2 }, 'http2 changed: the HTTP/2 listener changes after a restart');
    }
    if (next.limits.maxHeaderBytes !== started.limits.maxHeaderBytes) {
      const field = 'limits.maxHeaderBytes';
      this.#options.logger.warn({ field, bound: started.limits.maxHeaderBytes, configured: next.limits.maxHeaderBytes }, `${field} changed: the new bound applies after a restart`);
    }
  }

  /**
   * `next` as this process can run it: limits.maxHeaderBytes stays the bound its listeners were created with
   * (node takes it at creation only), so what else reads it (upstream and shadow pools) keeps the same bound.
   */
  #runnable(next: Config): Config {
    const { maxHeaderBytes } = this.#options.started.config.limits;
    if (next.limits.maxHeaderBytes === maxHeaderBytes) return next;
    return Object.freeze({ ...next, limits: Object.freeze({ ...next.limits, maxHeaderBytes }) });
  }
}
