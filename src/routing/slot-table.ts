// The slot table: which variant owns each of SLOT_COUNT hash slots. Built by replaying a route's weight
// steps (weightHistory, then the live weights) with minimal transitions: a variant that loses share
// releases only its surplus slots (highest first), and gainers take only the freed slots (lowest first).
// So a key moves only when its variant lost share, with any number of variants. Pure and deterministic.
import { SLOT_COUNT } from './hash.js';
import type { WeightStep } from '../config/schema.js';

const FREE = -1;

/**
 * Slot counts per weight by the largest-remainder method; ties go to the earlier entry.
 * Counts sum to SLOT_COUNT exactly when any weight is positive.
 */
export function slotCounts(weights: readonly number[]): number[] {
  const total = weights.reduce((sum, w) => sum + w, 0);
  if (total <= 0) return weights.map(() => 0);
  const exact = weights.map((w) => (w / total) * SLOT_COUNT);
  const counts = exact.map(Math.floor);
  let left = SLOT_COUNT - counts.reduce((sum, c) => sum + c, 0);
  const byRemainder = exact.map((e, i) => ({ i, r: e - Math.floor(e) })).sort((a, b) => b.r - a.r || a.i - b.i);
  for (const { i } of byRemainder) {
    if (left-- <= 0) break;
    counts[i] = (counts[i] ?? 0) + 1;
  }
  return counts;
}

/**
 * Replays the steps and returns, for every slot, the index into `variantNames` of its owner.
 * Names in old steps that are no longer variants lose their slots at the final step.
 */
export function buildSlotTable(variantNames: readonly string[], steps: readonly WeightStep[]): Int16Array {
  const universe = [...variantNames];
  for (const step of steps) for (const name of Object.keys(step)) if (!universe.includes(name)) universe.push(name);
  const owners = new Int16Array(SLOT_COUNT).fill(FREE);
  for (const step of steps) applyStep(owners, universe, step);
  // Only current variants can own slots now (the final step gives removed names weight 0).
  return owners;
}

function applyStep(owners: Int16Array, universe: readonly string[], step: WeightStep): void {
  const targets = slotCounts(universe.map((name) => step[name] ?? 0));
  const held = new Array<number>(universe.length).fill(0);
  for (const owner of owners) if (owner !== FREE) held[owner] = (held[owner] ?? 0) + 1;
  // Release each loser's surplus, from its highest slots down.
  const surplus = held.map((count, v) => Math.max(0, count - (targets[v] ?? 0)));
  for (let slot = SLOT_COUNT - 1; slot >= 0; slot--) {
    const owner = owners[slot] ?? FREE;
    if (owner !== FREE && (surplus[owner] ?? 0) > 0) {
      surplus[owner] = (surplus[owner] ?? 0) - 1;
      owners[slot] = FREE;
    }
  }
  // Gainers, in order, take free slots from the lowest up.
  let slot = 0;
  universe.forEach((_name, v) => {
    let need = (targets[v] ?? 0) - Math.min(held[v] ?? 0, targets[v] ?? 0);
    while (need > 0 && slot < SLOT_COUNT) {
      if (owners[slot] === FREE) {
        owners[slot] = v;
        need--;
      }
      slot++;
    }
  });
}

/** The steps that define a route's table: its recorded history, then its live weights. */
export function routeSteps(variants: readonly { name: string; weight: number }[], history: readonly WeightStep[]): WeightStep[] {
  return [...history, Object.fromEntries(variants.map((v) => [v.name, v.weight]))];
}

/** Share of slots (0..1) whose owner differs between two tables over the same names. */
export function movedShare(before: Int16Array, beforeNames: readonly string[], after: Int16Array, afterNames: readonly string[]): number {
  let moved = 0;
  for (let slot = 0; slot < SLOT_COUNT; slot++) {
    if (beforeNames[before[slot] ?? FREE] !== afterNames[after[slot] ?? FREE]) moved++;
  }
  return moved / SLOT_COUNT;
}
