// Sticky-key hashing: slot = murmur3_x86_32(UTF-8 bytes of key, seed = murmur3(route name)) mod SLOT_COUNT.
// Pure and process-independent, so every replica started from the same file agrees on every key.
// ASCII keys (the usual session ids) hash straight from char codes, with no byte array per request.
import murmur from 'murmurhash3js-revisited';

export const SLOT_COUNT = 10_000;

const encoder = new TextEncoder();
const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

export function murmur3(text: string, seed = 0): number {
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) > 0x7f) return murmur.x86.hash32(encoder.encode(text), seed) >>> 0;
  }
  return murmur3Ascii(text, seed);
}

/** murmur3_x86_32 of an ASCII string, whose char codes are its UTF-8 bytes. */
function murmur3Ascii(text: string, seed: number): number {
  const length = text.length;
  const blocksEnd = length & ~3;
  let h = seed | 0;
  for (let i = 0; i < blocksEnd; i += 4) {
    let k = text.charCodeAt(i) | (text.charCodeAt(i + 1) << 8) | (text.charCodeAt(i + 2) << 16) | (text.charCodeAt(i + 3) << 24);
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const tail = length & 3;
  if (tail > 0) {
    let k = text.charCodeAt(blocksEnd);
    if (tail >= 2) k ^= text.charCodeAt(blocksEnd + 1) << 8;
    if (tail === 3) k ^= text.charCodeAt(blocksEnd + 2) << 16;
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
  }
  h ^= length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export function routeSeed(routeName: string): number {
  return murmur3(routeName, 0);
}

export function keySlot(key: string, seed: number): number {
  return murmur3(key, seed) % SLOT_COUNT;
}
