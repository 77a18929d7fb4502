// One weight change on the config file, shared by the CLI and the admin API: check the request,
// plan it, edit the text, validate the result, then write it atomically (unless a dry run).
// Never writes a file that does not validate; never touches the running proxy (the reload does).
import { ConfigError, loadConfigFile, parseConfigText } from './load.js';
import { editWeights, SharedYamlError, writeFileAtomic } from './edit.js';
import { planWeights, weightsOf, type WeightPlan } from '../routing/weight-plan.js';

export type WeightsErrorCode = 'ABPROXY_UNKNOWN_ROUTE' | 'ABPROXY_BAD_WEIGHTS' | 'ABPROXY_CONFIG_INVALID' | 'ABPROXY_CONFIG_READ_ONLY' | 'ABPROXY_CONFIG_SHARED';

const STATUS: Record<WeightsErrorCode, number> = { ABPROXY_UNKNOWN_ROUTE: 404, ABPROXY_BAD_WEIGHTS: 400, ABPROXY_CONFIG_INVALID: 409, ABPROXY_CONFIG_READ_ONLY: 409, ABPROXY_CONFIG_SHARED: 409 };

/** Errors of a file that may not be written (a read-only mount such as a Kubernetes ConfigMap, or permissions). */
const READ_ONLY_CODES = new Set(['EROFS', 'EACCES', 'EPERM']);

export class WeightsError extends Error {
  readonly status: number;
  constructor(
    readonly code: WeightsErrorCode,
    message: string,
    readonly problems: readonly string[] = [],
  ) {
    super(problems.length > 0 ? `${message}:\n  ${problems.join('\n  ')}` : message);
    this.status = STATUS[code];
  }
}

/** New weights by variant name (variants left out keep theirs), or `promote`: 100 to one variant, 0 to the rest. */
export type WeightsRequest = { weights: Readonly<Record<string, number>> } | { promote: string };

export interface WeightsChange {
  plan: WeightPlan;
  written: boolean;
}

export function changeWeights(path: string, routeName: string, request: WeightsRequest, options: { dryRun?: boolean; env?: NodeJS.ProcessEnv } = {}): WeightsChange {
  const env = options.env ?? process.env;
  let loaded;
  try {
    loaded = loadConfigFile(path, env);
  } catch (error) {
    if (error instanceof ConfigError) throw new WeightsError('ABPROXY_CONFIG_INVALID', `${path} is invalid; fix it before changing weights`, error.problems);
    throw error;
  }
  const routeIndex = loaded.config.routes.findIndex((r) => r.name === routeName);
  const route = loaded.config.routes[routeIndex];
  if (!route) throw new WeightsError('ABPROXY_UNKNOWN_ROUTE', `no route named "${routeName}" in ${path}`);
  const names = route.variants.map((v) => v.name);
  const requested = 'promote' in request ? Object.fromEntries(names.map((n) => [n, n === request.promote ? 100 : 0])) : request.weights;
  const problems = [
    ...('promote' in request && !names.includes(request.promote) ? [request.promote] : Object.keys(requested).filter((n) => !names.includes(n))).map(
      (n) => `${n}: not a variant of route "${routeName}" (variants: ${names.join(', ')})`,
    ),
    ...Object.entries(requested).flatMap(([n, w]) => (typeof w === 'number' && Number.isFinite(w) && w >= 0 ? [] : [`${n}: weight must be a number >= 0`])),
  ];
  if (problems.length > 0) throw new WeightsError('ABPROXY_BAD_WEIGHTS', `bad weights for route "${routeName}"`, problems);

  const plan = planWeights(route, requested);
  if (plan.unchanged) return { plan, written: false };
  let text: string;
  try {
    text = editWeights(loaded.text, path, {
      routeIndex,
      weights: route.variants.map((v) => (requested[v.name] === v.weight ? undefined : requested[v.name])),
      previous: weightsOf(route.variants),
    });
  } catch (error) {
    if (!(error instanceof SharedYamlError)) throw error;
    throw new WeightsError('ABPROXY_CONFIG_SHARED', `route "${routeName}"'s weights are shared with another place in ${path} through a YAML anchor (${error.message}), so a change would change both; write this route's variants out in full`);
  }
  try {
    parseConfigText(text, path, env);
  } catch (error) {
    if (error instanceof ConfigError) throw new WeightsError('ABPROXY_BAD_WEIGHTS', `the new weights for route "${routeName}" do not validate`, error.problems);
    throw error;
  }
  if (options.dryRun) return { plan, written: false };
  try {
    writeFileAtomic(path, text);
  } catch (error) {
    throw writeFailure(path, error);
  }
  return { plan, written: true };
}

/** A write that the file's mount or permissions refuse, as a WeightsError saying where to change the weights instead; other errors as they are. */
export function writeFailure(path: string, error: unknown): unknown {
  const code = (error as { code?: string } | null)?.code;
  if (code === undefined || !READ_ONLY_CODES.has(code)) return error;
  return new WeightsError('ABPROXY_CONFIG_READ_ONLY', `${path} cannot be written (${code}): change the weights where the file comes from (in Kubernetes, the ConfigMap), or mount it writable`);
}
