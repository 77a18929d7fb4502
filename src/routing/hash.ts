// Sticky-key hashing: slot = murmur3_x86_32(key, seed = murmur3_x86_32(route name, 0)) mod SLOT_COUNT.
// Pure and process-independent, so every replica started from the same file agrees on every key.
import murmur from 'murmurhash3js-revisited';

export const SLOT_COUNT = 10_000;

const encoder = new TextEncoder();

export function murmur3(text: string, seed = 0): number {
  return murmur.x86.hash32(encoder.encode(text), seed) >>> 0;
}

export function routeSeed(routeName: string): number {
  return murmur3(routeName, 0);
}

export function keySlot(key: string, seed: number): number {
  return murmur3(key, seed) % SLOT_COUNT;
}
