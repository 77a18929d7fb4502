// The admin API for routes: GET /admin/routes, PUT /admin/routes/{route}/weights (bearer token when
// adminToken is set; rewrites the config file atomically, then reloads it, in every cluster worker before
// answering, also when the file already held the weights, and says so with an error status and a logged
// warning when a worker did not confirm),
// GET /admin/assign. Never changes the live state except through the config file and the reloader.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { AdminRoute } from './admin-server.js';
import { changeWeights, WeightsError } from '../config/change-weights.js';
import type { OtherReloads, ReloadOthersFn } from '../cluster/reload-everywhere.js';
import type { ConfigReloader } from '../config/reload.js';
import { ProxyError } from '../http/errors.js';
import type { Logger } from '../log/logger.js';
import { variantForKey } from '../routing/assign.js';
import { EMPTY_KEY } from '../routing/sticky.js';
import { keySlot } from '../routing/hash.js';
import type { CompiledRoute } from '../routing/route-table.js';
import type { WeightPlan } from '../routing/weight-plan.js';
import { readBody } from '../server/body.js';
import { sendJson } from '../server/respond.js';
import type { RuntimeHolder } from '../server/runtime.js';

export interface RoutesApiDeps {
  configPath: string;
  holder: RuntimeHolder;
  reloader: ConfigReloader;
  /** In a cluster worker: has the other workers reload the rewritten file before the answer. */
  reloadOthers?: ReloadOthersFn | undefined;
  /** Whether this process watches the config file: a cluster's workers share the primary's command line, so the others do too. */
  fileWatched: boolean;
  /** The process log, which hears of every weight change a cluster worker did not confirm. */
  logger: Logger;
  env?: NodeJS.ProcessEnv;
}

const MAX_WEIGHTS_BODY_BYTES = 65_536;
const WEIGHTS_PATH = /^\/admin\/routes\/([^/]+)\/weights$/;

export function routesApi(deps: RoutesApiDeps): AdminRoute[] {
  const { holder } = deps;
  return [
    {
      method: 'GET',
      path: '/admin/routes',
      handler: (_req, res) => {
        const { generation, routes } = holder.current;
        sendJson(res, 200, { generation, routes: [...routes.byName.values()].map(describeRoute) });
      },
    },
    {
      method: 'GET',
      path: '/admin/assign',
      handler: (_req, res, url) => {
        const routeName = url.searchParams.get('route');
        const key = url.searchParams.get('key');
        if (!routeName || key === null) return sendJson(res, 400, { error: 'route and key query parameters are required', code: 'ABPROXY_BAD_REQUEST' });
        if (key === '') return sendJson(res, 400, { error: EMPTY_KEY, code: 'ABPROXY_BAD_REQUEST' });
        const { generation, routes } = holder.current;
        const route = routes.byName.get(routeName);
        if (!route) return sendJson(res, 404, { error: `no route named "${routeName}"`, code: 'ABPROXY_UNKNOWN_ROUTE' });
        sendJson(res, 200, { route: route.name, key, slot: keySlot(key, route.seed), variant: variantForKey(route, key).name, generation });
      },
    },
    {
      method: 'PUT',
      path: '/admin/routes/*',
      handler: async (req, res, url) => {
        const match = WEIGHTS_PATH.exec(url.pathname);
        if (!match) return sendJson(res, 404, { error: `no admin endpoint ${url.pathname}`, code: 'ABPROXY_NOT_FOUND' });
        if (!authorized(req, holder.current.config.adminToken)) {
          return sendJson(res, 401, { error: 'a valid "Authorization: Bearer <adminToken>" header is required', code: 'ABPROXY_UNAUTHORIZED' }, ['www-authenticate', 'Bearer realm="abproxy"']);
        }
        let weights: Record<string, number>;
        try {
          weights = parseWeights(await readBody(req, MAX_WEIGHTS_BODY_BYTES));
        } catch (error) {
          const status = error instanceof ProxyError ? error.status : 400;
          return sendJson(res, status, { error: (error as Error).message, code: error instanceof ProxyError ? error.code : 'ABPROXY_BAD_WEIGHTS' });
        }
        const dryRunParam = url.searchParams.get('dryRun');
        const dryRun = dryRunParam === null ? false : DRY_RUN_VALUES[dryRunParam.toLowerCase()];
        // A dry run asked for in a form not understood must not write the file.
        if (dryRun === undefined) return sendJson(res, 400, { error: `dryRun must be true or false (or 1 or 0), got ${JSON.stringify(dryRunParam)}`, code: 'ABPROXY_BAD_REQUEST' });
        try {
          const { plan, written } = changeWeights(deps.configPath, match[1] ?? '', { weights }, { dryRun, env: deps.env });
          // Weights the file already holds are still reloaded everywhere in a cluster (a no-op where the file is
          // live): a PUT repeated after a 504 must confirm that the workers that missed the change now have it.
          const confirmEverywhere = !dryRun && deps.reloadOthers !== undefined;
          const reload = written || confirmEverywhere ? deps.reloader.reload('admin') : undefined;
          const fileState = written ? 'the file was written' : 'the file already held these weights';
          if (reload?.result === 'rejected') {
            return sendJson(res, 500, { error: `${fileState} but its reload was rejected`, code: 'ABPROXY_RELOAD_REJECTED', problems: reload.problems });
          }
          const others = reload && deps.reloadOthers ? await deps.reloadOthers() : undefined;
          const rejected = others?.reloads.find((other) => other.result === 'rejected');
          if (rejected) {
            return sendJson(res, 500, { error: `${fileState} but worker ${rejected.slot} rejected its reload`, code: 'ABPROXY_RELOAD_REJECTED', problems: rejected.problems });
          }
          const appliedGeneration = reload?.generation ?? holder.current.generation;
          const workers = others && { asked: others.asked, reloaded: others.reloads.map(({ slot, result, generation }) => ({ slot, result, generation })) };
          if (others && others.unconfirmed.length > 0) {
            // 504, as a gateway answers when a server it needed did not answer in time (RFC 9110 §15.6.5), and as
            // Kubernetes answers a write it could not finish in time (reason Timeout): the outcome in those workers
            // is unknown, not failed (500 stays for a worker that rejected the file), and the change may still
            // arrive there. Not 200: a script or `abproxy weights` would take the split for applied while part of
            // the traffic may still run on the old weights.
            deps.logger.warn(
              { route: plan.route, unconfirmedSlots: others.unconfirmed, timeoutMs: others.timeoutMs, generation: appliedGeneration, primaryPid: others.primaryPid },
              'worker slots did not confirm a weight change in time and may still serve the old weights',
            );
            return sendJson(res, 504, {
              error: unconfirmedMessage(plan, written, appliedGeneration, others, deps.fileWatched),
              code: 'ABPROXY_RELOAD_INCOMPLETE',
              ...plan,
              written,
              dryRun,
              generation: appliedGeneration,
              otherWorkers: { ...workers, unconfirmed: others.unconfirmed },
            });
          }
          sendJson(res, 200, { ...plan, written, dryRun, generation: appliedGeneration, ...(workers ? { otherWorkers: workers } : {}) });
        } catch (error) {
          if (!(error instanceof WeightsError)) throw error;
          sendJson(res, error.status, { error: error.message.split('\n')[0], code: error.code, problems: error.problems });
        }
      },
    },
  ];
}

/** What was written and applied here, which worker slots did not confirm, and how they catch up. */
function unconfirmedMessage(plan: WeightPlan, written: boolean, generation: number, others: OtherReloads, fileWatched: boolean): string {
  const slots = others.unconfirmed.join(', ');
  const weights = plan.after.map((v) => `${v.name}=${v.weight}`).join(' ');
  const catchUp = fileWatched
    ? 'each reloads the file through its own file watch once it gets to it'
    : 'the workers run with --no-watch, so each reloads only if it takes up the reload question late, or on SIGHUP';
  return (
    `route "${plan.route}" ${written ? 'was written to' : 'already stood in'} the config file as ${weights} and applied here (generation ${generation}), ` +
    `but worker slot${others.unconfirmed.length > 1 ? 's' : ''} ${slots} did not confirm the reload within ${others.timeoutMs} ms ` +
    `and may still serve the old weights: ${catchUp} (kill -HUP ${others.primaryPid}, the cluster primary, reloads every worker)`
  );
}

const DRY_RUN_VALUES: Readonly<Record<string, boolean>> = { true: true, '1': true, '': true, false: false, '0': false };

function describeRoute(route: CompiledRoute) {
  return {
    name: route.name,
    pathPrefix: route.pathPrefix,
    variants: route.variants.map((v) => ({ name: v.name, target: route.config.variants[v.index]?.target, weight: v.weight, share: v.share })),
    shadows: route.shadows.map((s) => ({ name: s.config.name, target: s.config.target, percent: s.config.percent })),
    weightHistorySteps: route.config.weightHistory.length,
  };
}

/** Constant-time comparison of `Authorization: Bearer <token>`; no token configured means open (loopback only). */
function authorized(req: IncomingMessage, token: string): boolean {
  if (!token) return true;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  if (!match?.[1]) return false;
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(match[1]), digest(token));
}

function parseWeights(body: Buffer): Record<string, number> {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    throw new Error('body must be JSON: {"variant": weight, ...}');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value) || Object.keys(value).length === 0) {
    throw new Error('body must be a non-empty JSON object: {"variant": weight, ...}');
  }
  for (const [name, weight] of Object.entries(value)) {
    if (typeof weight !== 'number') throw new Error(`${name}: weight must be a number`);
  }
  return value as Record<string, number>;
}
