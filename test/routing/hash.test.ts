// The ASCII fast path of murmur3 must equal murmur3_x86_32 over UTF-8 bytes (the reference library),
// or keys would move between variants and between versions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import murmur from 'murmurhash3js-revisited';
import { murmur3 } from '../../src/routing/hash.js';

const reference = (text: string, seed: number) => murmur.x86.hash32(new TextEncoder().encode(text), seed) >>> 0;

test('murmur3 equals the reference on 100 000 ASCII keys of every length mod 4 and varied seeds', () => {
  let state = 12345;
  const next = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0);
  for (let i = 0; i < 100_000; i++) {
    const length = next() % 40;
    let key = '';
    for (let j = 0; j < length; j++) key += String.fromCharCode(next() % 128);
    const seed = i % 7 === 0 ? 0 : next();
    assert.equal(murmur3(key, seed), reference(key, seed), `key ${JSON.stringify(key)} seed ${seed}`);
  }
});

test('murmur3 equals the reference on non-ASCII keys (UTF-8 bytes, surrogate pairs)', () => {
  for (const key of ['é', 'user-ü-42', '会话-1', '😀', 'a😀b', '\u0080', '\u07ff\u0800', 'x'.repeat(3) + 'ß']) {
    for (const seed of [0, 1, 0xffffffff, 2_654_435_761]) assert.equal(murmur3(key, seed), reference(key, seed), key);
  }
});

test('murmur3 of the empty string and a known vector', () => {
  assert.equal(murmur3('', 0), 0);
  assert.equal(murmur3('', 1), 0x514e28b7);
  assert.equal(murmur3('Hello, world!', 1234), 0xfaf6cdb3);
});
