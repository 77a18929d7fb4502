// Assignment through compiled routes (as the proxy builds them from a config): realised split on
// 100 000 keys, stickiness, minimal movement through weightHistory steps with 2 and 3 variants,
// override, zero weights and unkeyed random picks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configSchema, type ConfigInput, type WeightStep } from '../../src/config/schema.js';
import { RouteTable, type CompiledRoute } from '../../src/routing/route-table.js';
import { assign, variantForKey } from '../../src/routing/assign.js';

const KEYS = Array.from({ length: 100_000 }, (_v, i) => `session-${i}-${(i * 2654435761) >>> 0}`);

function compile(weights: Record<string, number>, weightHistory: WeightStep[] = [], name = 'fraud'): CompiledRoute {
  const input: ConfigInput = {
    routes: [
      {
        name,
        match: { pathPrefix: '/v2/models/fraud' },
        sticky: [{ header: 'x-session-id' }],
        variants: Object.entries(weights).map(([variant, weight], i) => ({ name: variant, target: `http://127.0.0.1:${9000 + i}`, weight })),
        weightHistory,
      },
    ],
  };
  const route = new RouteTable(configSchema.parse(input)).byName.get(name);
  assert.ok(route);
  return route;
}

function assignAll(route: CompiledRoute): string[] {
  return KEYS.map((key) => variantForKey(route, key).name);
}

function shares(assigned: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const name of assigned) counts.set(name, (counts.get(name) ?? 0) + 1);
  return new Map([...counts].map(([name, count]) => [name, count / assigned.length]));
}

test('100 000 distinct keys split within 0.5 pp of the configured shares', () => {
  const splits: Record<string, number>[] = [{ champion: 90, challenger: 10 }, { a: 50, b: 30, c: 20 }, { a: 80, b: 10, c: 10 }, { a: 1, b: 1, c: 1, d: 1 }];
  for (const weights of splits) {
    const total = Object.values(weights).reduce((a, b) => a + b, 0);
    const realised = shares(assignAll(compile(weights)));
    for (const [name, weight] of Object.entries(weights)) {
      const got = realised.get(name) ?? 0;
      assert.ok(Math.abs(got - weight / total) < 0.005, `${JSON.stringify(weights)}: ${name} got ${(got * 100).toFixed(2)}%`);
    }
  }
});

test('stickiness: a key gets the same variant every time and from every compilation of the same config', () => {
  const first = compile({ champion: 90, challenger: 10 });
  const second = compile({ champion: 90, challenger: 10 });
  for (const key of KEYS.slice(0, 5_000)) {
    const variant = variantForKey(first, key).name;
    assert.equal(variantForKey(first, key).name, variant);
    assert.equal(variantForKey(second, key).name, variant, key);
  }
});

test('route names salt the hash: two routes with the same weights assign independently', () => {
  const a = compile({ x: 50, y: 50 }, [], 'route-a');
  const b = compile({ x: 50, y: 50 }, [], 'route-b');
  let same = 0;
  for (const key of KEYS.slice(0, 20_000)) if (variantForKey(a, key).name === variantForKey(b, key).name) same++;
  assert.ok(Math.abs(same / 20_000 - 0.5) < 0.02, `agreement ${same / 20_000}`);
});

/** Checks one re-weighting: only keys of variants that lost share move, and exactly as many as must. */
function assertMinimalMove(before: string[], after: string[], from: Record<string, number>, to: Record<string, number>): number {
  const total = (w: Record<string, number>) => Object.values(w).reduce((a, b) => a + b, 0);
  const loss = (name: string) => (from[name] ?? 0) / total(from) - (to[name] ?? 0) / total(to);
  let moved = 0;
  for (let i = 0; i < KEYS.length; i++) {
    const was = before[i] ?? '';
    if (was === after[i]) continue;
    moved++;
    assert.ok(loss(was) > 0, `key ${KEYS[i]} moved off ${was}, which did not lose share`);
  }
  const mustMove = Object.keys(from).reduce((sum, name) => sum + Math.max(0, loss(name)), 0);
  const movedShare = moved / KEYS.length;
  assert.ok(Math.abs(movedShare - mustMove) < 0.005, `moved ${(movedShare * 100).toFixed(2)}% of keys, minimum is ${(mustMove * 100).toFixed(2)}%`);
  return movedShare;
}

test('2 variants: 90/10 -> 80/20 moves only champion keys, ~10% of all', () => {
  const from = { champion: 90, challenger: 10 };
  const to = { champion: 80, challenger: 20 };
  assertMinimalMove(assignAll(compile(from)), assignAll(compile(to, [from])), from, to);
});

test('3 variants: 80/10/10 -> 70/10/20 moves at most 10% of keys and none of the middle variant', () => {
  const from = { a: 80, b: 10, c: 10 };
  const to = { a: 70, b: 10, c: 20 };
  const before = assignAll(compile(from));
  const after = assignAll(compile(to, [from]));
  const moved = assertMinimalMove(before, after, from, to);
  assert.ok(moved <= 0.105, `moved ${moved}`);
  for (let i = 0; i < KEYS.length; i++) if (before[i] === 'b') assert.equal(after[i], 'b', `middle-variant key ${KEYS[i]} moved`);
});

test('weightHistory replay: every step of a multi-step history moves only what must move', () => {
  const steps: Record<string, number>[] = [
    { a: 80, b: 10, c: 10 },
    { a: 70, b: 10, c: 20 },
    { a: 60, b: 20, c: 20 },
    { a: 60, b: 0, c: 40 },
    { a: 90, b: 5, c: 5 },
  ];
  let previous = assignAll(compile(steps[0] ?? {}));
  for (let s = 1; s < steps.length; s++) {
    const current = assignAll(compile(steps[s] ?? {}, steps.slice(0, s)));
    assertMinimalMove(previous, current, steps[s - 1] ?? {}, steps[s] ?? {});
    previous = current;
  }
});

test('a hand edit without history still splits correctly (the table is derived from the file alone)', () => {
  const realised = shares(assignAll(compile({ a: 70, b: 10, c: 20 })));
  assert.ok(Math.abs((realised.get('c') ?? 0) - 0.2) < 0.005);
});

test('override names a variant; unknown names fall back to the hash; weight 0 is reachable by override only', () => {
  const route = compile({ champion: 100, dark: 0 });
  for (const key of KEYS.slice(0, 10_000)) assert.equal(variantForKey(route, key).name, 'champion');
  assert.deepEqual(
    { name: assign(route, 'k', 'dark').variant.name, reason: assign(route, 'k', 'dark').reason },
    { name: 'dark', reason: 'override' },
  );
  const fallback = assign(route, 'k', 'no-such-variant');
  assert.equal(fallback.reason, 'key');
  assert.equal(fallback.variant.name, 'champion');
});

test('no key: random pick by weight, reason "random"', () => {
  const route = compile({ champion: 90, challenger: 10 });
  let challenger = 0;
  const draws = 20_000;
  for (let i = 0; i < draws; i++) {
    const picked = assign(route, undefined, undefined);
    assert.equal(picked.reason, 'random');
    if (picked.variant.name === 'challenger') challenger++;
  }
  assert.ok(Math.abs(challenger / draws - 0.1) < 0.015, `challenger ${challenger / draws}`);
});
