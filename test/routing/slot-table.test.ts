// Assignment properties: realised split, stickiness, and minimal movement on re-weighting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSlotTable, movedShare, routeSteps, slotCounts } from '../../src/routing/slot-table.js';
import { keySlot, routeSeed, SLOT_COUNT } from '../../src/routing/hash.js';

test('slotCounts sums to SLOT_COUNT and follows the weights', () => {
  assert.deepEqual(slotCounts([90, 10]), [9000, 1000]);
  assert.deepEqual(slotCounts([1, 1, 1]), [3334, 3333, 3333]);
  assert.equal(slotCounts([0.3, 0.3, 0.4]).reduce((a, b) => a + b), SLOT_COUNT);
});

test('80/10/10 -> 70/10/20 moves exactly 10% of slots and none of the middle variant', () => {
  const names = ['a', 'b', 'c'];
  const before = buildSlotTable(names, routeSteps([{ name: 'a', weight: 80 }, { name: 'b', weight: 10 }, { name: 'c', weight: 10 }], []));
  const after = buildSlotTable(names, [{ a: 80, b: 10, c: 10 }, { a: 70, b: 10, c: 20 }]);
  assert.equal(movedShare(before, names, after, names), 0.1);
  for (let slot = 0; slot < SLOT_COUNT; slot++) {
    if (before[slot] === 1) assert.equal(after[slot], 1, `slot ${slot} of b moved`);
  }
});

test('100 000 distinct keys split within 0.5 pp of 90/10', () => {
  const names = ['champion', 'challenger'];
  const table = buildSlotTable(names, [{ champion: 90, challenger: 10 }]);
  const seed = routeSeed('fraud');
  let challenger = 0;
  for (let i = 0; i < 100_000; i++) if (table[keySlot(`user-${i}`, seed)] === 1) challenger++;
  assert.ok(Math.abs(challenger / 100_000 - 0.1) < 0.005, `challenger share ${challenger / 100_000}`);
});
