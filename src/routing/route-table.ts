// The compiled routing state of one config generation: routes by longest path prefix, each with its
// parsed targets, hash seed and slot table. Built once per config load, then read-only.
import type { Config, RouteConfig, ShadowConfig, StickySource } from '../config/schema.js';
import { parseTarget, type Target } from '../config/target.js';
import { routeSeed } from './hash.js';
import { buildSlotTable, routeSteps } from './slot-table.js';
import { needsBody } from './sticky.js';

export interface CompiledVariant {
  name: string;
  index: number;
  weight: number;
  share: number;
  target: Target;
  /** Where gRPC calls go: `grpcTarget` when configured, else `target`. */
  grpcTarget: Target;
}

export interface CompiledShadow {
  config: ShadowConfig;
  target: Target;
  grpcTarget: Target;
}

export interface CompiledRoute {
  name: string;
  pathPrefix: string;
  sticky: readonly StickySource[];
  needsBody: boolean;
  overrideHeader: string | undefined;
  seed: number;
  variants: CompiledVariant[];
  variantByName: Map<string, CompiledVariant>;
  slots: Int16Array;
  shadows: CompiledShadow[];
  config: RouteConfig;
}

export class RouteTable {
  /** Longest prefix first. */
  readonly routes: CompiledRoute[];
  readonly byName: Map<string, CompiledRoute>;

  constructor(config: Config) {
    this.routes = config.routes.map(compileRoute).sort((a, b) => b.pathPrefix.length - a.pathPrefix.length);
    this.byName = new Map(this.routes.map((route) => [route.name, route]));
  }

  /**
   * Longest pathPrefix that matches on a segment boundary: "/v2/models/fraud" matches
   * "/v2/models/fraud", "/v2/models/fraud/infer" and "/v2/models/fraud?x", not "/v2/models/fraudster".
   */
  match(path: string): CompiledRoute | undefined {
    for (const route of this.routes) {
      const prefix = route.pathPrefix;
      if (path.startsWith(prefix)) {
        const next = path.charCodeAt(prefix.length);
        if (Number.isNaN(next) || prefix.endsWith('/') || next === 0x2f /* / */ || next === 0x3f /* ? */) return route;
      }
    }
    return undefined;
  }
}

function compileRoute(route: RouteConfig): CompiledRoute {
  const total = route.variants.reduce((sum, v) => sum + v.weight, 0);
  const variants = route.variants.map((v, index) => ({
    name: v.name,
    index,
    weight: v.weight,
    share: v.weight / total,
    target: mustParse(v.target),
    grpcTarget: mustParse(v.grpcTarget ?? v.target),
  }));
  return {
    name: route.name,
    pathPrefix: route.match.pathPrefix,
    sticky: route.sticky,
    needsBody: needsBody(route.sticky),
    overrideHeader: route.override.enabled ? route.override.header : undefined,
    seed: routeSeed(route.name),
    variants,
    variantByName: new Map(variants.map((v) => [v.name, v])),
    slots: buildSlotTable(route.variants.map((v) => v.name), routeSteps(route.variants, route.weightHistory)),
    shadows: route.shadows.map((config) => ({ config, target: mustParse(config.target), grpcTarget: mustParse(config.grpcTarget ?? config.target) })),
    config: route,
  };
}

function mustParse(value: string): Target {
  const { target, problem } = parseTarget(value);
  if (!target) throw new Error(`invalid target survived validation: ${problem}`);
  return target;
}
