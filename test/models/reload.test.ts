// Model reload: a replaced model file is loaded beside the live one and swapped with zero failed
// requests under load; a broken file at reload leaves the old model serving; a config reload adds and
// removes models; a model that cannot load at start (a missing, broken or not regular file) fails the
// start with its path and reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { parseConfigText } from '../../src/config/load.js';
import { startAbproxy } from '../../src/server/lifecycle.js';
import { startProxy, writeConfig } from '../helpers/proxy.js';
import { modelDir } from '../helpers/onnx-models.js';

const demo = fileURLToPath(new URL('../../models/', import.meta.url));
const body = JSON.stringify({ inputs: [{ name: 'transaction', shape: [1, 29], datatype: 'FP32', data: new Array(29).fill(0.25) }] });

async function score(url: string, model: string): Promise<{ status: number; value: number | undefined }> {
  const res = await fetch(`${url}/v2/models/${model}/infer`, { method: 'POST', body });
  const json = (await res.json()) as { outputs?: { data: number[] }[] };
  return { status: res.status, value: json.outputs?.[0]?.data[0] };
}

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.fail(`timed out waiting for ${what}`);
}

test('a model file replaced under load swaps in with zero failed requests; a broken file keeps the old model', async () => {
  const dir = modelDir();
  const path = join(dir, 'fraud.onnx');
  copyFileSync(join(demo, 'fraud-a.onnx'), path);
  const proxy = await startProxy({ models: { fraud: { path } }, routes: [{ name: 'x', match: { pathPrefix: '/x' }, variants: [{ name: 'a', target: 'model:fraud', weight: 1 }] }] });
  try {
    const before = await score(proxy.url, 'fraud');
    assert.equal(before.status, 200);
    const statuses = new Map<number, number>();
    const values = new Set<number>();
    let stop = false;
    const load = Array.from({ length: 4 }, async () => {
      for (let i = 0; i < 5_000 && !stop; i++) {
        const { status, value } = await score(proxy.url, 'fraud');
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        if (value !== undefined) values.add(value);
      }
    });
    const served = () => [...statuses.values()].reduce((a, b) => a + b, 0);
    await until(() => Promise.resolve(served() >= 20), '20 requests before the swap');
    copyFileSync(join(demo, 'fraud-b.onnx'), join(dir, 'fraud.onnx.tmp'));
    renameSync(join(dir, 'fraud.onnx.tmp'), path);
    let after: number | undefined;
    await until(async () => {
      after = (await score(proxy.url, 'fraud')).value;
      return after !== before.value;
    }, 'the new model to answer');
    const atSwap = served();
    await until(() => Promise.resolve(served() >= atSwap + 20), '20 requests after the swap');
    stop = true;
    await Promise.all(load);
    assert.deepEqual([...statuses.keys()], [200], `every request under reload succeeded: ${JSON.stringify([...statuses])}`);
    assert.deepEqual([...values].sort(), [before.value, after].sort(), 'answers came from the old or the new model only');

    writeFileSync(join(dir, 'fraud.onnx.tmp'), 'not an onnx model');
    renameSync(join(dir, 'fraud.onnx.tmp'), path);
    await until(async () => /abproxy_model_reloads_total\{model="fraud",result="failed"\} [1-9]/.test(await (await fetch(`${proxy.adminUrl}/metrics`)).text()), 'the failed reload to be counted');
    const still = await score(proxy.url, 'fraud');
    assert.deepEqual(still, { status: 200, value: after });
  } finally {
    await proxy.close();
  }
});

test('a config reload loads added models and disposes removed ones', async () => {
  const a = join(demo, 'fraud-a.onnx');
  const b = join(demo, 'fraud-b.onnx');
  const proxy = await startProxy({ models: { a: { path: a } }, routes: [{ name: 'x', match: { pathPrefix: '/x' }, variants: [{ name: 'a', target: 'model:a', weight: 1 }] }] });
  try {
    const next = parseConfigText(
      JSON.stringify({ listen: '127.0.0.1:0', admin: '127.0.0.1:0', models: { b: { path: b } }, routes: [{ name: 'x', match: { pathPrefix: '/x' }, variants: [{ name: 'b', target: 'model:b', weight: 1 }] }] }),
      'next.json',
    );
    proxy.proxy.holder.swap(next);
    await until(async () => (await fetch(`${proxy.url}/v2/models/b/ready`)).status === 200, 'model b to load');
    assert.equal((await score(proxy.url, 'b')).status, 200);
    const gone = await fetch(`${proxy.url}/v2/models/a/infer`, { method: 'POST', body });
    assert.equal(gone.status, 404);
    await gone.arrayBuffer();
    assert.deepEqual(proxy.proxy.models.names(), ['b']);
  } finally {
    await proxy.close();
  }
});

test('a model that cannot load at start fails the start with its path and reason', async () => {
  const dir = modelDir();
  const broken = join(dir, 'broken.onnx');
  writeFileSync(broken, 'garbage');
  const routes = [{ name: 'x', match: { pathPrefix: '/x' }, variants: [{ name: 'a', target: 'model:m', weight: 1 }] }];
  const logger = pino({ level: 'silent' });
  await assert.rejects(startAbproxy({ configPath: writeConfig({ models: { m: { path: join(dir, 'missing.onnx') } }, routes }, modelDir()), logger }), /model "m": cannot read .*missing\.onnx: ENOENT/);
  await assert.rejects(startAbproxy({ configPath: writeConfig({ models: { m: { path: broken } }, routes }, modelDir()), logger }), /model "m": cannot load .*broken\.onnx: .+/);
  // A FIFO (or a directory) is refused at once: reading a FIFO without a writer would wait forever.
  const fifo = join(dir, 'fifo.onnx');
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0, 'mkfifo');
  await assert.rejects(startAbproxy({ configPath: writeConfig({ models: { m: { path: fifo } }, routes }, modelDir()), logger }), /model "m": cannot read .*fifo\.onnx: not a regular file/);
  await assert.rejects(startAbproxy({ configPath: writeConfig({ models: { m: { path: dir } }, routes }, modelDir()), logger }), /model "m": cannot read .*: not a regular file/);

  const cli = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', '-c', writeConfig({ models: { m: { path: broken } }, routes }, modelDir())], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(cli.status, 1);
  assert.match(cli.stderr, /abproxy: model "m": cannot load .*broken\.onnx/);
});
