// `abproxy validate`: the `nginx -t` of abproxy. Exit 0 when the file is valid, else 1 with every problem.
import type { Command } from 'commander';
import { ConfigError, loadConfigFile } from '../config/load.js';
import { CONFIG_FLAG, CONFIG_HELP, DEFAULT_CONFIG } from './defaults.js';

export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description('check a config file and list every problem with its path')
    .option(CONFIG_FLAG, CONFIG_HELP, DEFAULT_CONFIG)
    .action((options: { config: string }) => {
      try {
        const { config } = loadConfigFile(options.config);
        process.stdout.write(`${options.config}: ok (${config.routes.length} route${config.routes.length === 1 ? '' : 's'}, ${Object.keys(config.models).length} model${Object.keys(config.models).length === 1 ? '' : 's'})\n`);
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        process.stderr.write(`${error.message}\n`);
        process.exitCode = 1;
      }
    });
}
