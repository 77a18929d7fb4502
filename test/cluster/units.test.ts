// Pure parts of the cluster: the worker count (with a cgroup CPU quota), how worker snapshots merge, each
// worker's share of a bound, and replies matched to requests by id.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Counter, Gauge, Registry } from 'prom-client';
import { cgroupCpuLimit, coreToSpare, resolveWorkerCount } from '../../src/cluster/worker-count.js';
import { aggregate } from '../../src/cluster/aggregate.js';
import { currentShare, perWorkerLimit } from '../../src/cluster/share.js';
import { PendingReplies } from '../../src/cluster/pending-replies.js';
import { NO_PARALLEL_SCAVENGE, workerExecArgv } from '../../src/cluster/worker-flags.js';

const dir = mkdtempSync(join(tmpdir(), 'abproxy-cgroup-'));
function cpuMax(text: string): string {
  const path = join(dir, `cpu.max-${Math.random()}`);
  writeFileSync(path, text);
  return path;
}

test('--workers: numbers, auto, and rejected values', () => {
  assert.equal(resolveWorkerCount('3'), 3);
  assert.equal(resolveWorkerCount('auto', join(dir, 'missing')), availableParallelism());
  assert.equal(resolveWorkerCount('auto', cpuMax('100000 100000\n')), 1);
  for (const bad of ['0', '-1', 'two', '1.5', '257', '']) assert.throws(() => resolveWorkerCount(bad), /--workers must be/);
});

test('workers that take every core are forked without parallel scavenge, unless the command line chose', () => {
  assert.deepEqual([coreToSpare(1, 2), coreToSpare(2, 2), coreToSpare(3, 2)], [true, false, false]);
  assert.deepEqual(workerExecArgv(['--import', 'tsx'], 2, 2), ['--import', 'tsx', NO_PARALLEL_SCAVENGE]);
  assert.deepEqual(workerExecArgv([], 4, 2), [NO_PARALLEL_SCAVENGE]);
  assert.deepEqual(workerExecArgv(['--import', 'tsx'], 2, 8), ['--import', 'tsx'], 'a core to spare: V8 decides');
  for (const chosen of ['--parallel-scavenge', '--no-parallel-scavenge', '--parallel_scavenge']) assert.deepEqual(workerExecArgv([chosen], 2, 2), [chosen]);
});

test('cgroup cpu.max: quota/period rounded up, "max" is unlimited', () => {
  assert.equal(cgroupCpuLimit(cpuMax('max 100000\n')), undefined);
  assert.equal(cgroupCpuLimit(cpuMax('150000 100000\n')), 2);
  assert.equal(cgroupCpuLimit(cpuMax('200000 100000\n')), 2);
  assert.equal(cgroupCpuLimit(join(dir, 'missing')), undefined);
});

test('counters add up across workers; configuration gauges are taken once', async () => {
  const snapshots = await Promise.all(
    [3, 4].map((served) => {
      const registry = new Registry();
      new Counter({ name: 'abproxy_requests_total', help: 'h', labelNames: ['variant'], registers: [registry] }).labels({ variant: 'a' }).inc(served);
      new Gauge({ name: 'abproxy_config_generation', help: 'h', registers: [registry] }).set(2);
      new Gauge({ name: 'abproxy_variant_weight', help: 'h', labelNames: ['variant'], registers: [registry] }).labels({ variant: 'a' }).set(90);
      return registry.getMetricsAsJSON();
    }),
  );
  const text = await aggregate(snapshots).metrics();
  assert.match(text, /^abproxy_requests_total\{variant="a"\} 7$/m);
  assert.match(text, /^abproxy_config_generation 2$/m);
  assert.match(text, /^abproxy_variant_weight\{variant="a"\} 90$/m);
});

test('per-worker shares of a concurrency bound', () => {
  const two = (slot: number) => ({ slot, count: 2 });
  assert.deepEqual(currentShare({ ABPROXY_WORKER_SLOT: '1', ABPROXY_WORKER_COUNT: '3' }, true), { slot: 1, count: 3 });
  assert.deepEqual(currentShare({ ABPROXY_WORKER_SLOT: '1', ABPROXY_WORKER_COUNT: '3' }, false), { slot: 0, count: 1 });
  assert.equal(perWorkerLimit(64, { slot: 0, count: 1 }), 64);
  assert.equal(perWorkerLimit(64, two(1)), 32);
  assert.equal(perWorkerLimit(3, two(0)), 1);
  assert.equal(perWorkerLimit(1, two(1)), 1, 'never below one');
});

test('pending replies: each resolves with the reply carrying its id, or with the stand-in at its timeout; a late reply is let go', async () => {
  const replies = new PendingReplies<string>();
  const sent: number[] = [];
  const first = replies.ask((id) => sent.push(id), 5_000, 'timed out');
  const second = replies.ask((id) => sent.push(id), 20, 'timed out');
  assert.equal(sent.length, 2);
  assert.notEqual(sent[0], sent[1]);
  replies.settle(sent[0] ?? -1, 'first reply');
  assert.equal(await first, 'first reply');
  assert.equal(await second, 'timed out');
  replies.settle(sent[1] ?? -1, 'too late');
  replies.settle(sent[0] ?? -1, 'again');
  assert.equal(await first, 'first reply');
});
