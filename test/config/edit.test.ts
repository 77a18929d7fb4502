// Weight edits on the config text: only the changed bytes move in YAML (comments, quoting and alignment
// survive, and so does a weight left unchanged, ${VAR} and all), weightHistory gets the old weights, JSON
// stays JSON, and writes are atomic and keep symlinks.
// A file its mount or permissions will not let us write is refused with where to change it instead, and
// weights a YAML anchor shares with another place are refused rather than changed in both.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lstatSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { changeWeights, WeightsError, writeFailure } from '../../src/config/change-weights.js';
import { editWeights, writeFileAtomic } from '../../src/config/edit.js';
import { parseConfigText } from '../../src/config/load.js';
import { formatPlan, planWeights } from '../../src/routing/weight-plan.js';

const YAML = `# experiment config
listen: 127.0.0.1:8080          # data plane

routes:
  - name: fraud                 # also salts the hash
    match: { pathPrefix: /v2/models/fraud }   # longest prefix wins
    sticky:                     # first source wins
      - header: x-session-id

    # the variants
    variants:
      - { name: champion,   target: "http://127.0.0.1:9001", weight: 80 }  # current model
      - name: challenger
        target: 'http://127.0.0.1:9002'
        weight: 10    # new one
      - { name: candidate,  target: "http://127.0.0.1:9003", weight: 10 }
  - name: other
    match: { pathPrefix: /other }
    variants: [{ name: a, target: "http://127.0.0.1:9004", weight: 1 }]
`;

test('a YAML edit changes only the weights and appends the old weights to weightHistory', () => {
  const edited = editWeights(YAML, 'c.yaml', { routeIndex: 0, weights: [70, 10, 20], previous: { champion: 80, challenger: 10, candidate: 10 } });
  const expected = YAML.replace('weight: 80 }  # current model', 'weight: 70 }  # current model')
    .replace('weight: 10 }\n  - name: other', 'weight: 20 }\n    weightHistory:\n      - { champion: 80, challenger: 10, candidate: 10 }\n  - name: other');
  assert.equal(edited, expected);
  const again = editWeights(edited, 'c.yaml', { routeIndex: 0, weights: [60, 20, 20], previous: { champion: 70, challenger: 10, candidate: 20 } });
  assert.match(again, /weight: 20 {4}# new one/);
  assert.match(again, /weightHistory:\n {6}- \{ champion: 80, challenger: 10, candidate: 10 \}\n {6}- \{ champion: 70, challenger: 10, candidate: 20 \}\n/);
  const config = parseConfigText(again, 'c.yaml', {});
  assert.deepEqual(config.routes[0]?.variants.map((v) => v.weight), [60, 20, 20]);
  assert.equal(config.routes[1]?.weightHistory.length, 0);
});

test('a flow-style route and a flow weightHistory are edited too, and odd names are quoted', () => {
  const flowRoute = editWeights(YAML, 'c.yaml', { routeIndex: 1, weights: [3], previous: { a: 1 } });
  assert.match(flowRoute, /weight: 3 \}\]\n {4}weightHistory:\n {6}- \{ a: 1 \}\n$/);
  const flowHistory = YAML.replace('weight: 10 }\n  - name: other', 'weight: 10 }\n    weightHistory: [{ champion: 1, challenger: 1, candidate: 1 }]  # kept\n  - name: other');
  const edited = editWeights(flowHistory, 'c.yaml', { routeIndex: 0, weights: [1, 1, 2], previous: { champion: 80, challenger: 10, candidate: 10, true: 5 } });
  assert.match(edited, /weightHistory: \[\{ champion: 1, challenger: 1, candidate: 1 \}, \{ champion: 80, challenger: 10, candidate: 10, "true": 5 \}\] {2}# kept/);
  assert.deepEqual((parse(edited) as { routes: { weightHistory: object[] }[] }).routes[0]?.weightHistory[1], { champion: 80, challenger: 10, candidate: 10, true: 5 });
});

test('an entirely flow-style document falls back to the YAML printer with the same data', () => {
  const text = '{ routes: [{ name: r, match: { pathPrefix: /r }, variants: [{ name: a, target: "http://127.0.0.1:1", weight: 1 }, { name: b, target: "http://127.0.0.1:2", weight: 1 }] }] } # flow\n';
  const edited = editWeights(text, 'c.yaml', { routeIndex: 0, weights: [3, 1], previous: { a: 1, b: 1 } });
  const config = parseConfigText(edited, 'c.yaml', {});
  assert.deepEqual(config.routes[0]?.variants.map((v) => v.weight), [3, 1]);
  assert.deepEqual(config.routes[0]?.weightHistory, [{ a: 1, b: 1 }]);
  assert.match(edited, /# flow/);
});

test('changeWeights rewrites only the weights that change: an untouched ${VAR} weight stays an expression', () => {
  const dir = mkdtempSync(join(tmpdir(), 'abproxy-edit-'));
  const path = join(dir, 'abproxy.yaml');
  writeFileSync(path, YAML.replace('weight: 80 }', 'weight: "${CHAMPION_WEIGHT:-80}" }'));
  const env = { CHAMPION_WEIGHT: '70' };
  const { written } = changeWeights(path, 'fraud', { weights: { champion: 70, candidate: 20 } }, { env });
  assert.ok(written);
  const text = readFileSync(path, 'utf8');
  assert.match(text, /weight: "\$\{CHAMPION_WEIGHT:-80\}" \} {2}# current model/, 'the champion weight, asked to stay 70, keeps its expression');
  assert.match(text, /candidate, {2}target: "http:\/\/127\.0\.0\.1:9003", weight: 20 \}/);
  assert.deepEqual(parseConfigText(text, path, env).routes[0]?.variants.map((v) => v.weight), [70, 10, 20]);
});

test('weights shared through a YAML anchor and alias are refused with 409 ABPROXY_CONFIG_SHARED, and the file is left as it was', () => {
  const dir = mkdtempSync(join(tmpdir(), 'abproxy-edit-'));
  const variant = (name: string, port: number, weight: string) => `{ name: ${name}, target: "http://127.0.0.1:${port}", weight: ${weight} }`;
  const route = (name: string, variants: string) => `  - name: ${name}\n    match: { pathPrefix: /${name} }\n    variants: ${variants}\n`;
  const layouts: [string, string, string, RegExp][] = [
    ['a shared variants list, from its anchor', route('a', `&shared [${variant('x', 1, '50')}, ${variant('y', 2, '50')}]`) + route('b', '*shared'), 'a', /routes\[0\]\.variants has the anchor &shared, which an alias repeats/],
    ['a shared variants list, from its alias', route('a', `&shared [${variant('x', 1, '50')}, ${variant('y', 2, '50')}]`) + route('b', '*shared'), 'b', /routes\[1\]\.variants is the alias \*shared/],
    ['a shared weight', route('a', `[${variant('x', 1, '&w 50')}, ${variant('y', 2, '50')}]`) + route('b', `[${variant('x', 1, '*w')}, ${variant('y', 2, '50')}]`), 'a', /routes\[0\]\.variants\[0\]\.weight has the anchor &w/],
  ];
  for (const [layout, routes, name, where] of layouts) {
    const path = join(dir, 'abproxy.yaml');
    const text = `routes:\n${routes}`;
    writeFileSync(path, text);
    assert.equal(parseConfigText(text, path).routes.length, 2, `${layout}: the file is valid`);
    assert.throws(
      () => changeWeights(path, name, { weights: { x: 90, y: 10 } }),
      (error: unknown) => error instanceof WeightsError && error.status === 409 && error.code === 'ABPROXY_CONFIG_SHARED' && where.test(error.message),
      layout,
    );
    assert.equal(readFileSync(path, 'utf8'), text, `${layout}: unchanged`);
  }
  const unshared = join(dir, 'unshared.yaml');
  writeFileSync(unshared, `routes:\n${route('a', `&only [${variant('x', 1, '50')}, ${variant('y', 2, '50')}]`)}`);
  assert.ok(changeWeights(unshared, 'a', { weights: { x: 90, y: 10 } }).written, 'an anchor no alias repeats is no obstacle');
});

test('a JSON edit keeps JSON, its indentation and its trailing newline', () => {
  const json = `${JSON.stringify({ routes: [{ name: 'r', match: { pathPrefix: '/r' }, variants: [{ name: 'a', target: 'http://127.0.0.1:1', weight: 1 }] }] }, null, 4)}\n`;
  const edited = editWeights(json, 'c.json', { routeIndex: 0, weights: [5], previous: { a: 1 } });
  assert.ok(edited.endsWith('}\n'));
  assert.match(edited, /^ {4}"routes"/m);
  assert.deepEqual(JSON.parse(edited), { routes: [{ name: 'r', match: { pathPrefix: '/r' }, variants: [{ name: 'a', target: 'http://127.0.0.1:1', weight: 5 }], weightHistory: [{ a: 1 }] }] });
});

test('writeFileAtomic replaces the file, keeps its mode, leaves no temp file and keeps a symlink a symlink', () => {
  const dir = mkdtempSync(join(tmpdir(), 'abproxy-edit-'));
  const real = join(dir, 'real.yaml');
  writeFileSync(real, 'old\n', { mode: 0o640 });
  const link = join(dir, 'abproxy.yaml');
  symlinkSync(real, link);
  writeFileAtomic(link, 'new\n');
  assert.ok(lstatSync(link).isSymbolicLink());
  assert.equal(readFileSync(real, 'utf8'), 'new\n');
  assert.equal(statSync(real).mode & 0o777, 0o640);
  assert.deepEqual(readdirSync(dir).sort(), ['abproxy.yaml', 'real.yaml']);
});

test('a read-only mount or a refused permission is a 409 ABPROXY_CONFIG_READ_ONLY naming the file; other write errors pass as they are', () => {
  for (const code of ['EROFS', 'EACCES', 'EPERM']) {
    const failure = writeFailure('/etc/abproxy/abproxy.yaml', Object.assign(new Error(`${code}: refused`), { code }));
    assert.ok(failure instanceof WeightsError, code);
    assert.equal(failure.status, 409);
    assert.equal(failure.code, 'ABPROXY_CONFIG_READ_ONLY');
    assert.match(failure.message, new RegExp(`^/etc/abproxy/abproxy\\.yaml cannot be written \\(${code}\\): change the weights where the file comes from \\(in Kubernetes, the ConfigMap\\)`));
  }
  const full = Object.assign(new Error('ENOSPC: no space left'), { code: 'ENOSPC' });
  assert.equal(writeFailure('/x.yaml', full), full);
});

test('the plan of 80/10/10 -> 70/10/20 moves 10% of keys, all from the first to the third variant', () => {
  const route = { name: 'fraud', variants: [{ name: 'champion', weight: 80 }, { name: 'challenger', weight: 10 }, { name: 'candidate', weight: 10 }], weightHistory: [] };
  const plan = planWeights(route, { champion: 70, candidate: 20 });
  assert.equal(plan.movedShare, 0.1);
  assert.deepEqual(plan.moves, [{ from: 'champion', to: 'candidate', share: 0.1 }]);
  assert.deepEqual(plan.after.map((v) => v.share), [0.7, 0.1, 0.2]);
  assert.match(formatPlan(plan), /keys that change variant: 10\.00%\n {2}champion -> candidate: 10\.00%/);
  assert.equal(planWeights(route, { champion: 80 }).unchanged, true);
});
