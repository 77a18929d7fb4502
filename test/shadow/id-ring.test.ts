// IdRing: open exchanges by id, in ring slots or, when an older id still holds the slot, beside them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IdRing } from '../../src/shadow/id-ring.js';

test('ids that share a slot with an open older id are kept beside the ring, and each is found and deleted by its own id', () => {
  const ring = new IdRing<string>(4);
  ring.set(1, 'one');
  ring.set(5, 'five'); // slot 1 is still held by id 1
  ring.set(9, 'nine');
  assert.equal(ring.size, 3);
  assert.deepEqual([ring.get(1), ring.get(5), ring.get(9), ring.get(13)], ['one', 'five', 'nine', undefined]);
  ring.delete(1);
  assert.deepEqual([ring.get(1), ring.get(5), ring.get(9)], [undefined, 'five', 'nine']);
  ring.set(13, 'thirteen'); // the freed slot
  ring.delete(5);
  ring.delete(5); // a second delete changes nothing
  assert.equal(ring.size, 2);
  assert.deepEqual([ring.get(5), ring.get(9), ring.get(13)], [undefined, 'nine', 'thirteen']);
  ring.clear();
  assert.equal(ring.size, 0);
  assert.deepEqual([ring.get(9), ring.get(13)], [undefined, undefined]);
});

test('ids past 2^32 (days of traffic) keep their own slots', () => {
  const ring = new IdRing<number>(8);
  const base = 2 ** 40;
  for (let i = 0; i < 8; i++) ring.set(base + i, i);
  assert.deepEqual(Array.from({ length: 8 }, (_, i) => ring.get(base + i)), [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.equal(ring.get(base + 8), undefined, 'the id one lap later is not the id in its slot');
});

test('a capacity that is not a power of two is refused', () => {
  assert.throws(() => new IdRing(1000), /power of two/);
});
