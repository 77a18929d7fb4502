// A worker thread that keeps dying is restarted at once the first time, then after delays that double
// up to a cap, and a worker that ran long enough before dying starts the count again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RestartBackoff } from '../../src/threads/restart-backoff.js';

test('exits that follow each other wait 0, 1, 2, 4 ... s, capped at 30 s', () => {
  const backoff = new RestartBackoff();
  let now = 1_000_000;
  const waits: number[] = [];
  for (let i = 0; i < 8; i++) {
    const startedAt = now;
    now += 50; // the worker dies while loading
    const notBefore = backoff.exited(startedAt, now);
    waits.push(notBefore - now);
    assert.equal(backoff.mayStart(now), i === 0, 'only a first exit restarts at once');
    assert.equal(backoff.mayStart(notBefore - 1), false);
    assert.ok(backoff.mayStart(notBefore));
    now = notBefore;
  }
  assert.deepEqual(waits, [0, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
});

test('a worker that ran for stableMs before exiting restarts at once, and the doubling starts over', () => {
  const backoff = new RestartBackoff({ firstDelayMs: 100, maxDelayMs: 1_000, stableMs: 5_000 });
  assert.equal(backoff.exited(0, 10), 10);
  assert.equal(backoff.exited(10, 20), 120);
  assert.equal(backoff.exited(120, 130), 330);
  assert.equal(backoff.exited(330, 330 + 5_000), 5_330, 'ran 5 s: a first exit again');
  assert.equal(backoff.exited(5_330, 5_340), 5_440);
});
