// The plan of a weight change on one route: old and new shares, and which share of the slots (so of
// the keys) changes variant, from where to where. Pure; never reads or writes files.
import { SLOT_COUNT } from './hash.js';
import { buildSlotTable, routeSteps } from './slot-table.js';
import type { WeightStep } from '../config/schema.js';

export interface VariantShare {
  name: string;
  weight: number;
  share: number;
}

export interface Move {
  from: string;
  to: string;
  /** Share of all keys (0..1) that move from `from` to `to`. */
  share: number;
}

export interface WeightPlan {
  route: string;
  before: VariantShare[];
  after: VariantShare[];
  /** Share of all keys (0..1) whose variant changes. */
  movedShare: number;
  moves: Move[];
  /** True when the new weights equal the live ones: nothing to write. */
  unchanged: boolean;
}

export interface RouteWeights {
  name: string;
  variants: readonly { name: string; weight: number }[];
  weightHistory: readonly WeightStep[];
}

/**
 * Plans `next` (weights by variant name, every variant present) against the route's live table.
 * The new table is the old history plus the old live weights as one more step, then `next`.
 */
export function planWeights(route: RouteWeights, next: Readonly<Record<string, number>>): WeightPlan {
  const names = route.variants.map((v) => v.name);
  const afterVariants = route.variants.map((v) => ({ name: v.name, weight: next[v.name] ?? v.weight }));
  const unchanged = afterVariants.every((v, i) => v.weight === route.variants[i]?.weight);
  const before = buildSlotTable(names, routeSteps(route.variants, route.weightHistory));
  const after = unchanged ? before : buildSlotTable(names, routeSteps(afterVariants, [...route.weightHistory, weightsOf(route.variants)]));
  const counts = new Map<string, number>();
  let moved = 0;
  for (let slot = 0; slot < SLOT_COUNT; slot++) {
    const from = before[slot] ?? 0;
    const to = after[slot] ?? 0;
    if (from === to) continue;
    moved++;
    const pair = `${from}>${to}`;
    counts.set(pair, (counts.get(pair) ?? 0) + 1);
  }
  const moves = [...counts].map(([pair, count]) => {
    const [from = 0, to = 0] = pair.split('>').map(Number);
    return { from: names[from] ?? '?', to: names[to] ?? '?', share: count / SLOT_COUNT };
  });
  return { route: route.name, before: shares(route.variants), after: shares(afterVariants), movedShare: moved / SLOT_COUNT, moves, unchanged };
}

export function weightsOf(variants: readonly { name: string; weight: number }[]): WeightStep {
  return Object.fromEntries(variants.map((v) => [v.name, v.weight]));
}

export function shares(variants: readonly { name: string; weight: number }[]): VariantShare[] {
  const total = variants.reduce((sum, v) => sum + v.weight, 0);
  return variants.map((v) => ({ name: v.name, weight: v.weight, share: total > 0 ? v.weight / total : 0 }));
}

const percent = (share: number): string => `${(share * 100).toFixed(2)}%`;

/** Human-readable plan: one line per variant (old -> new), then the moved share and its moves. */
export function formatPlan(plan: WeightPlan): string {
  const width = Math.max(...plan.before.map((v) => v.name.length), 7);
  const lines = [`route ${plan.route}`, `  ${'variant'.padEnd(width)}  ${'weight'.padStart(15)}  ${'share'.padStart(19)}`];
  plan.before.forEach((old, i) => {
    const next = plan.after[i] ?? old;
    lines.push(`  ${old.name.padEnd(width)}  ${`${old.weight} -> ${next.weight}`.padStart(15)}  ${`${percent(old.share)} -> ${percent(next.share)}`.padStart(19)}`);
  });
  if (plan.unchanged) lines.push('no change: these are the live weights');
  else lines.push(`keys that change variant: ${percent(plan.movedShare)}`, ...plan.moves.map((m) => `  ${m.from} -> ${m.to}: ${percent(m.share)}`));
  return `${lines.join('\n')}\n`;
}
