// `abproxy promote ROUTE VARIANT`: sends 100% of ROUTE's traffic to VARIANT (the others keep weight 0,
// reachable by override), through the file or, with --admin, a running proxy.
import type { Command } from 'commander';
import { applyWeights, runCommand, withTargetOptions, type WeightsOptions } from './weights.js';

export function registerPromote(program: Command): void {
  withTargetOptions(
    program
      .command('promote')
      .description('send 100% of ROUTE to VARIANT and print which share of keys moves')
      .argument('<route>', 'route name')
      .argument('<variant>', 'the variant that gets all traffic'),
  ).action(async (routeName: string, variant: string, options: WeightsOptions) => {
    await runCommand(() => applyWeights(routeName, { promote: variant }, options));
  });
}
