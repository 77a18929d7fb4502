// shadowPriority: with `yield` the shadow worker thread runs below normal CPU priority (its nice value,
// read from /proc, is the only one in the process raised), so the data plane's threads run first when
// the cores are contended; with `equal` no thread of the process changes priority. Linux only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfigText } from '../../src/config/load.js';
import { ShadowThread } from '../../src/shadow/shadow-thread.js';
import { YIELDING_NICE } from '../../src/threads/thread-priority.js';

const onLinux = process.platform === 'linux';

/** The nice value of every thread of this process (field 19 of /proc/self/task/TID/stat). */
function threadNiceValues(): number[] {
  return readdirSync('/proc/self/task').flatMap((tid) => {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      return [Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16])];
    } catch {
      return []; // the thread ended between listing and reading
    }
  });
}

const { limits } = parseConfigText('routes: [{ name: r, match: { pathPrefix: /r }, variants: [{ name: c, target: "http://127.0.0.1:1", weight: 1 }] }]', 'inline.yaml');

for (const yieldCpu of [true, false]) {
  test(`shadowPriority ${yieldCpu ? 'yield' : 'equal'}: ${yieldCpu ? 'one thread, the shadow worker, runs below normal priority' : 'every thread keeps normal priority'}`, { skip: !onLinux && 'nice values are per thread on Linux only' }, async (t) => {
    assert.deepEqual(new Set(threadNiceValues()), new Set([0]), 'the test process starts at normal priority');
    const errors: Error[] = [];
    const thread = new ShadowThread({ path: join(mkdtempSync(join(tmpdir(), 'abproxy-priority-')), 'shadow.jsonl'), maxBytes: 1_048_576, limits, yieldCpu, onError: (e) => errors.push(e) });
    t.after(() => thread.close());
    await thread.ready();
    const values = threadNiceValues();
    assert.equal(values.filter((nice) => nice === YIELDING_NICE).length, yieldCpu ? 1 : 0, `nice values ${values.join(',')}`);
    assert.equal(values.filter((nice) => nice !== YIELDING_NICE && nice !== 0).length, 0);
    assert.deepEqual(errors, []);
    await thread.close();
    assert.deepEqual(new Set(threadNiceValues()), new Set([0]), 'the worker thread is gone with its priority');
  });
}
