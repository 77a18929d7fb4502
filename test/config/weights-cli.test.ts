// The weights and promote commands, run as real child processes: --dry-run changes nothing and reports
// the moved share, comments survive an edit, --admin talks to a running proxy with its token, and a
// broken hand edit is explained by `abproxy validate` and refused by `abproxy weights`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfigText } from '../../src/config/load.js';
import { runCli, runCliWithEnv } from '../helpers/cli.js';
import { startProxy } from '../helpers/proxy.js';
import { waitFor } from '../helpers/wait-for.js';

const COMMENTED = `# Fraud experiment: champion vs two challengers.
listen: 127.0.0.1:8080   # data plane
admin: 127.0.0.1:9901    # loopback only

routes:
  # scored on every card transaction
  - name: fraud
    match: { pathPrefix: /v2/models/fraud }
    sticky:
      - header: x-session-id   # set by the gateway
    variants:
      # the production model
      - { name: champion,   target: "http://127.0.0.1:9001", weight: 80 }
      - { name: challenger, target: "http://127.0.0.1:9002", weight: 10 }  # gradient boosting
      - { name: candidate,  target: "http://127.0.0.1:9003", weight: 10 }  # small transformer
# end of file
`;

/** Each CLI run is a fresh node + tsx process: slow on a busy machine, so bound it generously. */
const CLI_TIMEOUT_MS = 120_000;

function tempConfig(text: string, name = 'abproxy.yaml'): string {
  const path = join(mkdtempSync(join(tmpdir(), 'abproxy-cli-')), name);
  writeFileSync(path, text);
  return path;
}

test('--dry-run changes nothing and reports 10% moving for 80/10/10 -> 70/10/20', { timeout: 300_000 }, async () => {
  const path = tempConfig(COMMENTED);
  const result = await runCli(['weights', 'fraud', 'champion=70', 'challenger=10', 'candidate=20', '--dry-run', '-c', path], CLI_TIMEOUT_MS);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /champion\s+80 -> 70\s+80\.00% -> 70\.00%/);
  assert.match(result.stdout, /candidate\s+10 -> 20\s+10\.00% -> 20\.00%/);
  assert.match(result.stdout, /keys that change variant: 10\.00%\n {2}champion -> candidate: 10\.00%\n/);
  assert.match(result.stdout, /dry run: .* unchanged/);
  assert.equal(readFileSync(path, 'utf8'), COMMENTED);
});

test('an edit keeps every comment and line, changes only the weights and records the old step', { timeout: 300_000 }, async () => {
  const path = tempConfig(COMMENTED);
  const result = await runCli(['weights', 'fraud', 'champion=70', 'candidate=20', '-c', path], CLI_TIMEOUT_MS);
  assert.equal(result.code, 0, result.stderr);
  const edited = readFileSync(path, 'utf8');
  const expected = COMMENTED.replace('weight: 80 }', 'weight: 70 }')
    .replace('weight: 10 }  # small transformer', 'weight: 20 }  # small transformer\n    weightHistory:\n      - { champion: 80, challenger: 10, candidate: 10 }');
  assert.equal(edited, expected);
  assert.deepEqual(parseConfigText(edited, path, {}).routes[0]?.variants.map((v) => v.weight), [70, 10, 20]);

  const shown = await runCli(['weights', 'fraud', '-c', path], CLI_TIMEOUT_MS);
  assert.match(shown.stdout, /champion\s+70\s+70\.00%\n\s+challenger\s+10\s+10\.00%\n\s+candidate\s+20\s+20\.00%/);
});

test('promote sends 100% to one variant; a JSON config stays JSON', { timeout: 300_000 }, async () => {
  const path = tempConfig(JSON.stringify(parseConfigText(COMMENTED, 'x.yaml', {}), null, 2), 'abproxy.json');
  const result = await runCli(['promote', 'fraud', 'challenger', '-c', path], CLI_TIMEOUT_MS);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /keys that change variant: 90\.00%/);
  const config = JSON.parse(readFileSync(path, 'utf8')) as { routes: { variants: { weight: number }[]; weightHistory: object[] }[] };
  assert.deepEqual(config.routes[0]?.variants.map((v) => v.weight), [0, 100, 0]);
  assert.deepEqual(config.routes[0]?.weightHistory, [{ champion: 80, challenger: 10, candidate: 10 }]);
});

test('a broken hand edit is explained by validate and refused by weights; bad arguments exit 1', { timeout: 300_000 }, async () => {
  const path = tempConfig(COMMENTED.replace('weight: 80', 'weight: 0').replaceAll('weight: 10', 'weight: 0'));
  const [validate, weights, unknown, malformed, hex, twice] = await Promise.all([
    runCli(['validate', '-c', path], CLI_TIMEOUT_MS),
    runCli(['weights', 'fraud', 'champion=1', '-c', path], CLI_TIMEOUT_MS),
    runCli(['weights', 'fraud', 'nobody=1', '-c', tempConfig(COMMENTED)], CLI_TIMEOUT_MS),
    runCli(['weights', 'fraud', 'champion=lots', '-c', tempConfig(COMMENTED)], CLI_TIMEOUT_MS),
    runCli(['weights', 'fraud', 'champion=0x10', '-c', tempConfig(COMMENTED)], CLI_TIMEOUT_MS),
    runCli(['weights', 'fraud', 'champion=5', 'champion=6', '-c', tempConfig(COMMENTED)], CLI_TIMEOUT_MS),
  ]);
  assert.equal(validate.code, 1);
  assert.match(validate.stderr, /routes\[0\]\.variants: weights must sum to more than 0/);
  assert.equal(weights.code, 1);
  assert.match(weights.stderr, /is invalid; fix it before changing weights:\n\s+routes\[0\]\.variants: weights must sum to more than 0/);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /nobody: not a variant of route "fraud"/);
  assert.equal(malformed.code, 1);
  assert.match(malformed.stderr, /"champion=lots" is not NAME=WEIGHT/);
  assert.equal(hex.code, 1);
  assert.match(hex.stderr, /"champion=0x10" is not NAME=WEIGHT with a decimal number >= 0/);
  assert.equal(twice.code, 1, 'a variant given twice is refused, not settled by the last');
  assert.match(twice.stderr, /"champion" is given twice/);
});

test('--admin changes a running proxy with the token, and is refused without it', { timeout: 300_000 }, async () => {
  const proxy = await startProxy({
    adminToken: 'cli-token',
    routes: [{ name: 'fraud', match: { pathPrefix: '/f' }, variants: [{ name: 'champion', target: 'http://127.0.0.1:9001', weight: 90 }, { name: 'challenger', target: 'http://127.0.0.1:9002', weight: 10 }] }],
  });
  try {
    const env = { ...process.env, ABPROXY_ADMIN_TOKEN: '' };
    const refused = await runCliWithEnv(['weights', 'fraud', 'champion=50', 'challenger=50', '--admin', proxy.adminUrl], env, CLI_TIMEOUT_MS);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /401 a valid "Authorization: Bearer <adminToken>" header is required/);
    const [applied, shown] = await Promise.all([
      runCliWithEnv(['weights', 'fraud', 'champion=50', 'challenger=50', '--admin', proxy.adminUrl], { ...env, ABPROXY_ADMIN_TOKEN: 'cli-token' }, CLI_TIMEOUT_MS),
      waitFor(() => proxy.proxy.holder.current.generation === 2 || undefined, 'the admin change', 120_000).then(() =>
        runCliWithEnv(['weights', 'fraud', '--admin', proxy.adminUrl], env, CLI_TIMEOUT_MS),
      ),
    ]);
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(applied.stdout, /keys that change variant: 40\.00%\n {2}champion -> challenger: 40\.00%\napplied by .* \(generation 2\)/);
    assert.match(shown.stdout, /generation 2\)\n.*\n\s+champion\s+50\s+50\.00%\n\s+challenger\s+50\s+50\.00%/);
    const promoted = await runCliWithEnv(['promote', 'fraud', 'challenger', '--admin', proxy.adminUrl, '--token', 'cli-token'], env, CLI_TIMEOUT_MS);
    assert.equal(promoted.code, 0, promoted.stderr);
    assert.deepEqual(proxy.proxy.holder.current.routes.byName.get('fraud')?.variants.map((v) => v.weight), [0, 100]);
  } finally {
    await proxy.close();
  }
});
