// `abproxy weights ROUTE [NAME=W ...]`: shows the live shares, or plans a weight change, prints which
// share of keys moves (from -> to) and writes the file (or asks a running proxy with --admin).
// --dry-run prints the plan and writes nothing.
import type { Command } from 'commander';
import { changeWeights, WeightsError, type WeightsRequest } from '../config/change-weights.js';
import { ConfigError, loadConfigFile } from '../config/load.js';
import { formatPlan, shares, type VariantShare, type WeightPlan } from '../routing/weight-plan.js';
import { adminRequest, AdminRequestError, type AdminTarget } from './admin-client.js';
import { CONFIG_FLAG, CONFIG_HELP, DEFAULT_CONFIG } from './defaults.js';

export interface WeightsOptions {
  config: string;
  admin?: string;
  token?: string;
  dryRun?: boolean;
  json?: boolean;
}

interface LiveRoutes {
  generation: number;
  routes: { name: string; variants: VariantShare[] }[];
}

export function registerWeights(program: Command): void {
  withTargetOptions(
    program
      .command('weights')
      .description('show the live shares of ROUTE, or set weights (NAME=W ...) and print which share of keys moves')
      .argument('<route>', 'route name')
      .argument('[weights...]', 'new weights as NAME=W (variants left out keep their weight)'),
  ).action(async (routeName: string, assignments: string[], options: WeightsOptions) => {
    await runCommand(async () => {
      if (assignments.length === 0) return showWeights(routeName, options);
      await applyWeights(routeName, { weights: parseAssignments(assignments) }, options);
    });
  });
}

/** The options shared by `weights` and `promote`. */
export function withTargetOptions(command: Command): Command {
  return command
    .option(CONFIG_FLAG, CONFIG_HELP, DEFAULT_CONFIG)
    .option('--dry-run', 'print the plan; change nothing')
    .option('--admin <url>', "change a running proxy through its admin API (e.g. http://127.0.0.1:9901) instead of the file")
    .option('--token <token>', 'admin bearer token (default: $ABPROXY_ADMIN_TOKEN)')
    .option('--json', 'print JSON');
}

/** Runs a command body; a known failure prints its message and sets exit code 1. */
export async function runCommand(body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (error) {
    if (!(error instanceof WeightsError || error instanceof ConfigError || error instanceof AdminRequestError || error instanceof UsageError)) throw error;
    process.stderr.write(`abproxy: ${error.message}\n`);
    process.exitCode = 1;
  }
}

class UsageError extends Error {}

export function parseAssignments(assignments: readonly string[]): Record<string, number> {
  const weights: Record<string, number> = {};
  for (const item of assignments) {
    const match = /^([^=\s]+)=((?:\d+(?:\.\d*)?|\.\d+)(?:e\+?\d+)?)$/i.exec(item); // decimal only: no 0x10, no -1
    const weight = Number(match?.[2]);
    if (!match?.[1] || !Number.isFinite(weight)) throw new UsageError(`"${item}" is not NAME=WEIGHT with a decimal number >= 0`);
    if (match[1] in weights) throw new UsageError(`"${match[1]}" is given twice`);
    weights[match[1]] = weight;
  }
  return weights;
}

async function showWeights(routeName: string, options: WeightsOptions): Promise<void> {
  let variants: VariantShare[];
  let source: string;
  if (options.admin) {
    const live = await adminRequest<LiveRoutes>(adminTarget(options), 'GET', 'admin/routes');
    const route = live.routes.find((r) => r.name === routeName);
    if (!route) throw new UsageError(`no route named "${routeName}" on ${options.admin}`);
    variants = route.variants;
    source = `${options.admin}, generation ${live.generation}`;
  } else {
    const route = loadConfigFile(options.config).config.routes.find((r) => r.name === routeName);
    if (!route) throw new UsageError(`no route named "${routeName}" in ${options.config}`);
    variants = shares(route.variants);
    source = options.config;
  }
  if (options.json) return void process.stdout.write(`${JSON.stringify({ route: routeName, variants })}\n`);
  const width = Math.max(7, ...variants.map((v) => v.name.length));
  const lines = variants.map((v) => `  ${v.name.padEnd(width)}  ${String(v.weight).padStart(8)}  ${(v.share * 100).toFixed(2).padStart(6)}%`);
  process.stdout.write(`route ${routeName} (${source})\n  ${'variant'.padEnd(width)}  ${'weight'.padStart(8)}  ${'share'.padStart(7)}\n${lines.join('\n')}\n`);
}

/** Plans and applies a change through the file or the admin API, and prints the plan. */
export async function applyWeights(routeName: string, request: WeightsRequest, options: WeightsOptions): Promise<void> {
  let plan: WeightPlan;
  let outcome: string;
  if (options.admin) {
    const target = adminTarget(options);
    let weights = 'weights' in request ? request.weights : undefined;
    if (!weights && 'promote' in request) {
      const live = await adminRequest<LiveRoutes>(target, 'GET', 'admin/routes');
      const route = live.routes.find((r) => r.name === routeName);
      if (!route) throw new UsageError(`no route named "${routeName}" on ${options.admin}`);
      if (!route.variants.some((v) => v.name === request.promote)) throw new UsageError(`"${request.promote}" is not a variant of route "${routeName}"`);
      weights = Object.fromEntries(route.variants.map((v) => [v.name, v.name === request.promote ? 100 : 0]));
    }
    const answer = await adminRequest<WeightPlan & { written: boolean; generation: number; otherWorkers?: { asked: number; reloaded: unknown[] } }>(
      target,
      'PUT',
      `admin/routes/${encodeURIComponent(routeName)}/weights${options.dryRun ? '?dryRun=true' : ''}`,
      weights,
    );
    plan = answer;
    const workers = answer.otherWorkers ? `, and by ${answer.otherWorkers.reloaded.length} of its ${answer.otherWorkers.asked} other workers` : '';
    outcome = options.dryRun ? 'dry run: nothing changed' : answer.written ? `applied by ${options.admin} (generation ${answer.generation})${workers}` : 'nothing to change';
  } else {
    const change = changeWeights(options.config, routeName, request, { dryRun: options.dryRun });
    plan = change.plan;
    outcome = options.dryRun ? `dry run: ${options.config} unchanged` : change.written ? `wrote ${options.config}; a running proxy reloads it` : 'nothing to change';
  }
  if (options.json) return void process.stdout.write(`${JSON.stringify({ ...plan, dryRun: options.dryRun === true })}\n`);
  process.stdout.write(`${formatPlan(plan)}${outcome}\n`);
}

function adminTarget(options: WeightsOptions): AdminTarget {
  return { admin: options.admin ?? '', token: options.token };
}
