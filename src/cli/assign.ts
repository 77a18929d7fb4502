// `abproxy assign ROUTE KEY`: the variant a sticky key gets under the config file (Iter8's Lookup()).
import type { Command } from 'commander';
import { ConfigError, loadConfigFile } from '../config/load.js';
import { keySlot } from '../routing/hash.js';
import { variantForKey } from '../routing/assign.js';
import { RouteTable } from '../routing/route-table.js';
import { EMPTY_KEY } from '../routing/sticky.js';
import { CONFIG_FLAG, CONFIG_HELP, DEFAULT_CONFIG } from './defaults.js';

export function registerAssign(program: Command): void {
  program
    .command('assign')
    .description('print the variant that KEY is assigned to on ROUTE')
    .argument('<route>', 'route name')
    .argument('<key>', 'sticky key value')
    .option(CONFIG_FLAG, CONFIG_HELP, DEFAULT_CONFIG)
    .option('--json', 'print {route, key, slot, variant} as JSON')
    .action((routeName: string, key: string, options: { config: string; json?: boolean }) => {
      try {
        const route = new RouteTable(loadConfigFile(options.config).config).byName.get(routeName);
        const refusal = !route ? `no route named "${routeName}"` : key === '' ? EMPTY_KEY : undefined;
        if (!route || refusal) {
          process.stderr.write(`abproxy: ${refusal}\n`);
          process.exitCode = 1;
          return;
        }
        const variant = variantForKey(route, key).name;
        const slot = keySlot(key, route.seed);
        process.stdout.write(options.json ? `${JSON.stringify({ route: routeName, key, slot, variant })}\n` : `${variant}\n`);
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        process.stderr.write(`${error.message}\n`);
        process.exitCode = 1;
      }
    });
}
