// The config watcher catches every way a file gets replaced: in-place writes, a temp file renamed
// over it, a Kubernetes ConfigMap `..data` symlink swap, and in-place writes behind a symlink; bursts
// are debounced; the stat poll alone catches a change too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { watchConfig, type ConfigWatcher } from '../../src/config/watch.js';
import { waitFor } from '../helpers/wait-for.js';

async function watched(path: string, pollMs: number, run: (calls: () => number) => Promise<void>): Promise<void> {
  let calls = 0;
  const errors: Error[] = [];
  const watcher: ConfigWatcher = watchConfig(path, () => calls++, { pollMs, debounceMs: 50, onError: (error) => errors.push(error) });
  try {
    await sleep(50); // let inotify settle before the first change
    await run(() => calls);
  } finally {
    watcher.close();
  }
}

test('an in-place write is caught', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'abproxy-watch-'));
  const file = join(dir, 'abproxy.yaml');
  writeFileSync(file, 'a: 1\n');
  await watched(file, 0, async (calls) => {
    writeFileSync(file, 'a: 2\n');
    await waitFor(() => calls() >= 1, 'the in-place write', 5_000);
  });
});

test('a temp file renamed over the config is caught, and again after that (the new inode)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'abproxy-watch-'));
  const file = join(dir, 'abproxy.yaml');
  writeFileSync(file, 'a: 1\n');
  await watched(file, 0, async (calls) => {
    for (let round = 1; round <= 2; round++) {
      writeFileSync(join(dir, '.abproxy.yaml.swp'), `a: ${round + 1}\n`);
      renameSync(join(dir, '.abproxy.yaml.swp'), file);
      await waitFor(() => calls() >= round, `rename-over ${round}`, 5_000);
    }
  });
});

test('a ConfigMap-style ..data symlink swap is caught, twice', async () => {
  // The kubelet's layout: abproxy.yaml -> ..data/abproxy.yaml, ..data -> ..<timestamp>/ ; an update writes
  // a new timestamp dir, points ..data_tmp at it, renames ..data_tmp over ..data, then deletes the old dir.
  const dir = mkdtempSync(join(tmpdir(), 'abproxy-watch-'));
  mkdirSync(join(dir, '..2026_01_01_v1'));
  writeFileSync(join(dir, '..2026_01_01_v1', 'abproxy.yaml'), 'a: 1\n');
  symlinkSync('..2026_01_01_v1', join(dir, '..data'));
  symlinkSync('..data/abproxy.yaml', join(dir, 'abproxy.yaml'));
  await watched(join(dir, 'abproxy.yaml'), 0, async (calls) => {
    for (const [round, version] of [[1, 'v2'], [2, 'v3']] as const) {
      const previous = round === 1 ? '..2026_01_01_v1' : '..2026_01_01_v2';
      const fresh = `..2026_01_01_${version}`;
      mkdirSync(join(dir, fresh));
      writeFileSync(join(dir, fresh, 'abproxy.yaml'), `a: ${version}\n`);
      symlinkSync(fresh, join(dir, '..data_tmp'));
      renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
      rmSync(join(dir, previous), { recursive: true });
      await waitFor(() => calls() >= round, `..data swap ${round}`, 5_000);
    }
  });
});

test('an in-place write to the target of a symlink in another directory is caught', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'abproxy-watch-'));
  mkdirSync(join(dir, 'real'));
  writeFileSync(join(dir, 'real', 'config.yaml'), 'a: 1\n');
  symlinkSync(join(dir, 'real', 'config.yaml'), join(dir, 'abproxy.yaml'));
  await watched(join(dir, 'abproxy.yaml'), 0, async (calls) => {
    writeFileSync(join(dir, 'real', 'config.yaml'), 'a: 2\n');
    await waitFor(() => calls() >= 1, 'the write behind the symlink', 5_000);
  });
});

test('a burst of 20 writes is debounced into one or two reloads; other files in the directory are ignored', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'abproxy-watch-'));
  const file = join(dir, 'abproxy.yaml');
  writeFileSync(file, 'a: 0\n');
  await watched(file, 0, async (calls) => {
    writeFileSync(join(dir, 'unrelated.txt'), 'x');
    for (let i = 1; i <= 20; i++) writeFileSync(file, `a: ${i}\n`);
    await waitFor(() => calls() >= 1, 'the burst', 5_000);
    await sleep(300);
    assert.ok(calls() <= 2, `${calls()} reloads for one burst`);
  });
});

test('the stat poll alone catches a change (filesystems without inotify)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'abproxy-watch-'));
  const file = join(dir, 'abproxy.yaml');
  writeFileSync(file, 'a: 1\n');
  let calls = 0;
  const watcher = watchConfig(file, () => calls++, { pollMs: 50, debounceMs: 10, watchDirectories: false });
  try {
    await sleep(120);
    writeFileSync(file, 'a: 22\n');
    await waitFor(() => calls >= 1, 'the poll', 5_000);
  } finally {
    watcher.close();
  }
});
