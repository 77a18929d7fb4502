// Assignment: override header (QA) > sticky key hashed to a slot > random slot when there is no key.
// Pure apart from Math.random for unkeyed requests.
import { keySlot, SLOT_COUNT } from './hash.js';
import type { CompiledRoute, CompiledVariant } from './route-table.js';

export type AssignmentReason = 'override' | 'key' | 'random';

export interface Assignment {
  variant: CompiledVariant;
  reason: AssignmentReason;
}

export function variantForKey(route: CompiledRoute, key: string): CompiledVariant {
  return variantForSlot(route, keySlot(key, route.seed));
}

export function variantForSlot(route: CompiledRoute, slot: number): CompiledVariant {
  const variant = route.variants[route.slots[slot] ?? 0];
  if (!variant) throw new Error(`slot ${slot} of route ${route.name} has no owner`);
  return variant;
}

export function assign(route: CompiledRoute, key: string | undefined, overrideName: string | undefined): Assignment {
  if (overrideName !== undefined) {
    const forced = route.variantByName.get(overrideName);
    if (forced) return { variant: forced, reason: 'override' };
  }
  if (key !== undefined) return { variant: variantForKey(route, key), reason: 'key' };
  return { variant: variantForSlot(route, Math.floor(Math.random() * SLOT_COUNT)), reason: 'random' };
}
