// `abproxy serve`: runs the proxy until SIGTERM/SIGINT, then drains in-flight requests and exits 0.
// SIGHUP reloads the config file (as does any change to it, unless --no-watch).
import cluster from 'node:cluster';
import { InvalidArgumentError, type Command } from 'commander';
import { serveCluster } from '../cluster/serve-cluster.js';
import { announceReady, workerIdentity, workerStartOptions } from '../cluster/worker.js';
import { ConfigError } from '../config/load.js';
import { startAbproxy } from '../server/lifecycle.js';
import { CONFIG_FLAG, CONFIG_HELP, DEFAULT_CONFIG } from './defaults.js';

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the proxy (data plane and admin server)')
    .option(CONFIG_FLAG, CONFIG_HELP, DEFAULT_CONFIG)
    .option('--drain-ms <ms>', 'longest wait for in-flight requests on shutdown', parseDrainMs, 30_000)
    .option('--workers <n>', 'worker processes sharing the listen sockets: a number, or "auto" for one per core')
    .option('--no-watch', 'do not watch the config file; reload only on SIGHUP')
    .action(async (options: { config: string; drainMs: number; workers?: string; watch: boolean }) => {
      if (options.workers !== undefined && cluster.isPrimary) {
        process.exit(await serveCluster(options.config, options.workers, options.drainMs));
      }
      const identity = workerIdentity();
      let proxy;
      try {
        proxy = await startAbproxy({ configPath: options.config, watch: options.watch, ...(identity ? workerStartOptions(identity) : {}) });
      } catch (error) {
        process.stderr.write(`abproxy: ${error instanceof ConfigError ? error.message : (error as Error).message}\n`);
        process.exit(1);
      }
      const running = proxy;
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        running.logger.info({ signal }, 'draining');
        running.close(options.drainMs).then(
          () => {
            running.logger.info('stopped');
            process.exit(0);
          },
          (error: unknown) => {
            running.logger.error({ err: error }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
      process.on('SIGHUP', () => {
        if (!stopping) running.reloader.reload('SIGHUP');
      });
      // Announced last: the primary forwards SIGHUP only to workers whose handlers are installed.
      if (identity) announceReady(identity, running);
    });
}

/** --drain-ms: a whole number of milliseconds (NaN would end the drain at once, cutting requests off). */
function parseDrainMs(value: string): number {
  if (!/^\d{1,9}$/.test(value)) throw new InvalidArgumentError('must be a whole number of milliseconds');
  return Number(value);
}
