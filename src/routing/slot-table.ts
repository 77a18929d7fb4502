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
 * Each step costs the slots it moves (times a log), not a pass over every slot, so a long weightHistory
 * replays quickly on every reload.
 */
export function buildSlotTable(variantNames: readonly string[], steps: readonly WeightStep[]): Int16Array {
  const universe = [...variantNames];
  for (const step of steps) for (const name of Object.keys(step)) if (!universe.includes(name)) universe.push(name);
  const owners = new Int16Array(SLOT_COUNT).fill(FREE);
  const held = universe.map(() => new SlotHeap());
  let free = Array.from({ length: SLOT_COUNT }, (_v, slot) => slot);
  for (const step of steps) free = applyStep(owners, held, universe, step, free);
  // Only current variants can own slots now (the final step gives removed names weight 0).
  return owners;
}

/** One step: each loser releases its surplus, highest slots first; gainers, in order, take the lowest free slots. Returns the slots left free. */
function applyStep(owners: Int16Array, held: readonly SlotHeap[], universe: readonly string[], step: WeightStep, free: readonly number[]): number[] {
  const targets = slotCounts(universe.map((name) => step[name] ?? 0));
  const released: number[] = [];
  held.forEach((slots, v) => {
    for (let surplus = slots.size - (targets[v] ?? 0); surplus > 0; surplus--) {
      const slot = slots.popHighest();
      owners[slot] = FREE;
      released.push(slot);
    }
  });
  const available = mergeAscending(free, released.sort((a, b) => a - b));
  let next = 0;
  held.forEach((slots, v) => {
    for (let need = (targets[v] ?? 0) - slots.size; need > 0 && next < available.length; need--) {
      const slot = available[next++] ?? FREE;
      owners[slot] = v;
      slots.push(slot);
    }
  });
  return available.slice(next);
}

function mergeAscending(a: readonly number[], b: readonly number[]): number[] {
  if (a.length === 0) return [...b];
  if (b.length === 0) return [...a];
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) out.push((a[i] ?? 0) < (b[j] ?? 0) ? (a[i++] ?? 0) : (b[j++] ?? 0));
  while (i < a.length) out.push(a[i++] ?? 0);
  while (j < b.length) out.push(b[j++] ?? 0);
  return out;
}

/** The slots one variant owns, as a binary max-heap: the highest is released first. */
class SlotHeap {
  readonly #slots: number[] = [];

  get size(): number {
    return this.#slots.length;
  }

  push(slot: number): void {
    const heap = this.#slots;
    let at = heap.push(slot) - 1;
    while (at > 0) {
      const parent = (at - 1) >> 1;
      if ((heap[parent] ?? 0) >= slot) break;
      heap[at] = heap[parent] ?? 0;
      at = parent;
    }
    heap[at] = slot;
  }

  popHighest(): number {
    const heap = this.#slots;
    const top = heap[0] ?? FREE;
    const last = heap.pop() ?? FREE;
    if (heap.length === 0) return top;
    let at = 0;
    for (;;) {
      const left = 2 * at + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && (heap[right] ?? 0) > (heap[left] ?? 0) ? right : left;
      if ((heap[child] ?? 0) <= last) break;
      heap[at] = heap[child] ?? 0;
      at = child;
    }
    heap[at] = last;
    return top;
  }
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
