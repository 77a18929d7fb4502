// `abproxy serve`: runs the proxy until SIGTERM/SIGINT, then drains in-flight requests and exits 0.
import type { Command } from 'commander';
import { ConfigError } from '../config/load.js';
import { startAbproxy } from '../server/lifecycle.js';
import { CONFIG_FLAG, CONFIG_HELP, DEFAULT_CONFIG } from './defaults.js';

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the proxy (data plane and admin server)')
    .option(CONFIG_FLAG, CONFIG_HELP, DEFAULT_CONFIG)
    .option('--drain-ms <ms>', 'longest wait for in-flight requests on shutdown', '30000')
    .action(async (options: { config: string; drainMs: string }) => {
      let proxy;
      try {
        proxy = await startAbproxy({ configPath: options.config });
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
        running.close(Number(options.drainMs)).then(
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
    });
}
