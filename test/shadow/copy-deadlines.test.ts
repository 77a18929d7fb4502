// CopyDeadlines: one timer for every copy in flight; a copy expires once, at its own deadline, unless it
// settled first; a shorter timeout added after a longer one is not held up by it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import { CopyDeadlines, type Expiring } from '../../src/shadow/copy-deadlines.js';

function copy(name: string, expired: { name: string; atMs: number }[], started: number): Expiring {
  return {
    expire() {
      expired.push({ name, atMs: performance.now() - started });
    },
  };
}

test('copies expire at their own deadlines, in order, once; a copy whose place was cleared does not', async () => {
  const deadlines = new CopyDeadlines();
  const expired: { name: string; atMs: number }[] = [];
  const started = performance.now();
  const long = copy('long', expired, started);
  const answered = copy('answered', expired, started);
  deadlines.add(long, 300);
  const answeredPlace = deadlines.add(answered, 300);
  deadlines.add(copy('short', expired, started), 40); // armed earlier than the long ones
  deadlines.add(copy('short-2', expired, started), 40);
  answeredPlace.copy = undefined; // it settled
  await sleep(500);
  assert.deepEqual(expired.map((e) => e.name), ['short', 'short-2', 'long']);
  assert.ok((expired[0]?.atMs ?? 0) >= 39 && (expired[0]?.atMs ?? 0) < 250, `the short timeout waited for the long one: ${expired[0]?.atMs} ms`);
  assert.ok((expired[2]?.atMs ?? 0) >= 299, `the long copy expired early: ${expired[2]?.atMs} ms`);
});

test('thousands of settled copies pass without a call, and a copy queued behind them still expires (the queue compacts)', async () => {
  const deadlines = new CopyDeadlines();
  const expired: { name: string; atMs: number }[] = [];
  const started = performance.now();
  for (let i = 0; i < 3_000; i++) deadlines.add({ expire: () => expired.push({ name: `settled-${i}`, atMs: 0 }) }, 20).copy = undefined;
  await sleep(5);
  deadlines.add(copy('after', expired, started), 20); // due after the settled ones: it stays queued as they pass
  await sleep(120);
  assert.deepEqual(expired.map((e) => e.name), ['after']);
});
