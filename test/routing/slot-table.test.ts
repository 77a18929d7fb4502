// Assignment properties: realised split, stickiness, minimal movement on re-weighting, and tables that stay
// the same from version to version.
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSlotTable, movedShare, routeSteps, slotCounts } from '../../src/routing/slot-table.js';
import { keySlot, routeSeed, SLOT_COUNT } from '../../src/routing/hash.js';
import type { WeightStep } from '../../src/config/schema.js';
import { seededRandom } from '../helpers/prng.js';

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

test('replayed tables are those of earlier versions, so replicas mid-upgrade agree: one digest over 40 seeded step sequences', () => {
  // Sequences of up to 31 steps over five names, with zero weights, empty steps, and names that come and go.
  const random = seededRandom(20261202);
  const hash = createHash('sha256');
  for (let sequence = 0; sequence < 40; sequence++) {
    const pool = ['a', 'b', 'c', 'd', 'e'];
    const steps: WeightStep[] = [];
    const length = 1 + Math.floor(random() * 30);
    for (let s = 0; s < length; s++) {
      const step: WeightStep = {};
      for (const name of pool) if (random() < 0.7) step[name] = random() < 0.15 ? 0 : Math.floor(random() * 100);
      steps.push(step);
    }
    const names = pool.filter(() => random() < 0.7);
    if (names.length === 0) names.push('a');
    steps.push(Object.fromEntries(names.map((n) => [n, 1 + Math.floor(random() * 99)])));
    hash.update(Buffer.from(buildSlotTable(names, steps).buffer));
  }
  // Computed with the table builder of 148a356 (three passes over every slot per step).
  assert.equal(hash.digest('hex'), '35de1fb32936b057f922146ae4442997dfbb7f101ca4fbbf5d0e962ad965508e');
});
