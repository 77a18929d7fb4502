// Twenty weight changes under continuous load, through the file (in place and rename-over), the CLI
// (file and --admin) and the admin API: no non-2xx answer, the live table is exactly the one the file
// defines, the realized split follows the new shares, and the moved share of keys matches the plan.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { editWeights } from '../../src/config/edit.js';
import { loadConfigFile } from '../../src/config/load.js';
import { keySlot, routeSeed, SLOT_COUNT } from '../../src/routing/hash.js';
import { variantForKey } from '../../src/routing/assign.js';
import { RouteTable } from '../../src/routing/route-table.js';
import { planWeights, weightsOf } from '../../src/routing/weight-plan.js';
import { runCli } from '../helpers/cli.js';
import { startProxy } from '../helpers/proxy.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait-for.js';

const NAMES = ['a', 'b', 'c'] as const;
const ROUTE = 'exp';
const STRATA = 500;

/** One key per stratum of SLOT_COUNT / STRATA consecutive slots, at a fixed pseudo-random offset. */
function stratifiedKeys(): string[] {
  const width = SLOT_COUNT / STRATA;
  let state = 12345;
  const wanted = new Map<number, number>(); // slot -> stratum
  for (let s = 0; s < STRATA; s++) {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    wanted.set(s * width + (state % width), s);
  }
  const keys = new Array<string>(STRATA);
  const seed = routeSeed(ROUTE);
  let found = 0;
  for (let i = 0; found < STRATA && i < 5_000_000; i++) {
    const stratum = wanted.get(keySlot(`user-${i}`, seed));
    if (stratum !== undefined && keys[stratum] === undefined) {
      keys[stratum] = `user-${i}`;
      found++;
    }
  }
  assert.equal(found, STRATA);
  return keys;
}

const STEPS: [number, number, number][] = [
  [70, 10, 20], [60, 20, 20], [60, 30, 10], [50, 50, 0], [40, 30, 30],
  [90, 5, 5], [33, 33, 34], [0, 50, 50], [10, 80, 10], [25, 25, 50],
  [80, 10, 10], [100, 0, 0], [50, 25, 25], [45, 45, 10], [20, 60, 20],
  [30, 30, 40], [65, 15, 20], [5, 90, 5], [34, 33, 33], [50, 50, 0],
];
/** Mostly file and admin API changes; the CLI (a child process each, slow on a busy machine) twice. */
const methodFor = (step: number) => (step === 3 ? 'cli' : step === 14 ? 'cli-admin' : (['in-place', 'rename', 'admin'] as const)[step % 3] ?? 'admin');

test('20 weight changes under load: zero non-2xx, exact live tables, split and moved share as planned', { timeout: 300_000 }, async () => {
  const upstreams: TestUpstream[] = await Promise.all(
    NAMES.map((name) => startUpstream((_req, res) => res.writeHead(200, { 'x-served-by': name, 'content-type': 'text/plain' }).end(name))),
  );
  const proxy = await startProxy({
    routes: [
      {
        name: ROUTE,
        match: { pathPrefix: '/m' },
        sticky: [{ header: 'x-user' }],
        variants: NAMES.map((name, i) => ({ name, target: upstreams[i]?.url ?? '', weight: [80, 10, 10][i] ?? 0 })),
      },
    ],
  });
  const client = new Pool(proxy.url, { connections: 16 });
  const statuses = new Map<number, number>();
  let requests = 0;
  const send = async (key: string): Promise<string> => {
    const { statusCode, headers, body } = await client.request({ path: '/m/predict', method: 'GET', headers: { 'x-user': key } });
    const text = await body.text();
    requests++;
    statuses.set(statusCode, (statuses.get(statusCode) ?? 0) + 1);
    const variant = String(headers['x-abproxy-variant']);
    assert.equal(text, variant, 'the upstream that answered is the variant the proxy named');
    return variant;
  };

  // Background load: 2 paced workers of random keys until the changes are done (bounded by count too).
  let loading = true;
  const load = Promise.all(
    Array.from({ length: 2 }, async (_v, w) => {
      for (let i = 0; loading && i < 50_000; i++) {
        await send(`load-${w}-${i}-${Math.random()}`);
        await sleep(2); // steady, not saturating: the probes need the CPU too
      }
    }),
  );

  const keys = stratifiedKeys();
  const probe = async (): Promise<string[]> => {
    const out = new Array<string>(keys.length);
    let next = 0;
    await Promise.all(
      Array.from({ length: 12 }, async () => {
        for (let i = next++; i < keys.length; i = next++) out[i] = await send(keys[i] ?? '');
      }),
    );
    return out;
  };
  const generation = async () => ((await (await fetch(`${proxy.adminUrl}/admin/routes`)).json()) as { generation: number }).generation;

  try {
    let before = await probe();
    for (const [step, weights] of STEPS.entries()) {
      const method = methodFor(step);
      const loaded = loadConfigFile(proxy.configPath);
      const route = loaded.config.routes[0];
      assert.ok(route);
      const next = Object.fromEntries(NAMES.map((name, i) => [name, weights[i] ?? 0]));
      const plan = planWeights(route, next);
      const startGeneration = await generation();
      let reported: number | undefined;
      if (method === 'in-place' || method === 'rename') {
        const text = editWeights(loaded.text, proxy.configPath, { routeIndex: 0, weights, previous: weightsOf(route.variants) });
        if (method === 'in-place') writeFileSync(proxy.configPath, text);
        else {
          writeFileSync(`${proxy.configPath}.new`, text);
          renameSync(`${proxy.configPath}.new`, proxy.configPath);
        }
      } else if (method === 'admin') {
        const res = await fetch(`${proxy.adminUrl}/admin/routes/${ROUTE}/weights`, { method: 'PUT', body: JSON.stringify(next) });
        assert.equal(res.status, 200);
        reported = ((await res.json()) as { movedShare: number }).movedShare;
      } else {
        const args = ['weights', ROUTE, ...NAMES.map((n) => `${n}=${next[n]}`), '--json'];
        const cli = await runCli(method === 'cli' ? [...args, '-c', proxy.configPath] : [...args, '--admin', proxy.adminUrl], 120_000);
        assert.equal(cli.code, 0, cli.stderr);
        reported = (JSON.parse(cli.stdout) as { movedShare: number }).movedShare;
      }
      if (reported !== undefined) assert.equal(reported, plan.movedShare, `step ${step} (${method}): reported plan`);
      await waitFor(async () => (await generation()) > startGeneration, `step ${step} (${method}) to go live`, 10_000);

      // The live table is exactly the one the file now defines...
      const table = new RouteTable(loadConfigFile(proxy.configPath).config).byName.get(ROUTE);
      assert.ok(table);
      const after = await probe();
      keys.forEach((key, i) => assert.equal(after[i], variantForKey(table, key).name, `step ${step}: key ${key}`));
      // ...its realized split matches the new shares, and the keys that moved match the plan.
      const total = weights.reduce((a, b) => a + b, 0);
      NAMES.forEach((name, i) => {
        const share = after.filter((v) => v === name).length / keys.length;
        assert.ok(Math.abs(share - (weights[i] ?? 0) / total) <= 0.01, `step ${step} (${method}): ${name} share ${share} vs ${(weights[i] ?? 0) / total}`);
      });
      const moved = after.filter((v, i) => v !== before[i]).length / keys.length;
      assert.ok(Math.abs(moved - plan.movedShare) <= 0.01, `step ${step} (${method}): moved ${moved} vs planned ${plan.movedShare}`);
      before = after;
    }
  } finally {
    loading = false;
    await load;
    await client.close();
    await proxy.close();
    await Promise.all(upstreams.map((u) => u.close()));
  }
  assert.ok(requests >= 5_000, `only ${requests} requests`);
  assert.deepEqual([...statuses.keys()], [200], `statuses: ${JSON.stringify([...statuses])}`);
  assert.ok(readFileSync(proxy.configPath, 'utf8').includes('weightHistory'));
});
