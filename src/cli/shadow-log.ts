// `abproxy shadow-log [ROUTE] [--limit N] [--mismatches] [--json]`: the newest shadow log records, each
// input's primary and shadow outputs side by side. Reads the log file named by the config; never writes.
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { ConfigError, loadConfigFile } from '../config/load.js';
import { LogReadError, readLatestRecords } from '../shadow/log-reader.js';
import { renderTable } from '../shadow/log-table.js';
import { CONFIG_FLAG, CONFIG_HELP, DEFAULT_CONFIG } from './defaults.js';

interface Options {
  config: string;
  file?: string;
  limit: string;
  mismatches?: boolean;
  json?: boolean;
}

export function registerShadowLog(program: Command): void {
  program
    .command('shadow-log')
    .description('show the newest shadow comparisons: input, primary output, each shadow output, match, latency')
    .argument('[route]', 'only records of this route')
    .option(CONFIG_FLAG, CONFIG_HELP, DEFAULT_CONFIG)
    .option('--file <path>', 'read this shadow log instead of the one the config names')
    .option('-n, --limit <n>', 'how many records', '20')
    .option('--mismatches', 'only records in which a shadow disagreed with the primary')
    .option('--json', 'print the records as JSON lines')
    .action((route: string | undefined, options: Options) => {
      const limit = Number(options.limit);
      if (!Number.isInteger(limit) || limit < 1) {
        process.stderr.write(`abproxy: --limit must be a positive integer\n`);
        process.exitCode = 1;
        return;
      }
      let path = options.file;
      if (!path) {
        try {
          path = resolve(loadConfigFile(options.config).config.shadowLog.path);
        } catch (error) {
          if (!(error instanceof ConfigError)) throw error;
          process.stderr.write(`${error.message}\n`);
          process.exitCode = 1;
          return;
        }
      }
      let records;
      try {
        records = readLatestRecords(path, { limit, ...(route ? { route } : {}), mismatchesOnly: options.mismatches === true });
      } catch (error) {
        if (!(error instanceof LogReadError)) throw error;
        process.stderr.write(`abproxy: ${error.message}\n`);
        process.exitCode = 1;
        return;
      }
      process.stdout.write(options.json ? records.map((r) => `${JSON.stringify(r)}\n`).join('') : renderTable(records));
    });
}
