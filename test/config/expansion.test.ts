// ${VAR} and ${VAR:-default} in config values: strings expand in place, keys never do, and a value that is
// one expression alone takes the number or boolean type the schema asks for there; a digits-only value
// where the schema wants a string stays a string, and a value that reads as neither names its expansion.
// A missing field reads as required.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, parseConfigText } from '../../src/config/load.js';

const FILE = 'abproxy.yaml';
const config = (lines: string[]) =>
  [
    'listen: 127.0.0.1:0',
    'admin: 127.0.0.1:0',
    'adminToken: ${TOKEN}',
    'log:',
    '  accessLog: ${ACCESS_LOG:-false}',
    'limits:',
    '  upstreamTimeoutMs: ${TIMEOUT_MS:-30000}',
    'routes:',
    '  - name: fraud',
    '    match: { pathPrefix: /v2/models/fraud }',
    '    variants:',
    ...lines,
  ].join('\n');
// Flow style needs the expression quoted (an unquoted "{" opens a mapping); block style does not.
const variants = [
  '      - { name: champion, target: "http://${CHAMPION_HOST:-127.0.0.1}:9001", weight: "${CHAMPION_WEIGHT:-90}" }',
  '      - name: challenger',
  '        target: http://127.0.0.1:9002',
  '        weight: ${CHALLENGER_WEIGHT}',
];

function problems(text: string, env: NodeJS.ProcessEnv): string[] {
  try {
    parseConfigText(text, FILE, env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

test('strings expand in place, with defaults for unset and empty variables', () => {
  const parsed = parseConfigText(config(variants), FILE, { TOKEN: 's3cret', CHAMPION_HOST: '', CHALLENGER_WEIGHT: '10' });
  const [champion, challenger] = parsed.routes[0]?.variants ?? [];
  assert.equal(champion?.target, 'http://127.0.0.1:9001');
  assert.equal(parsed.adminToken, 's3cret');
  assert.equal(challenger?.weight, 10);
});

test('a value that is one ${VAR} alone is a number or boolean where the schema wants one, quoted or not', () => {
  const parsed = parseConfigText(config(variants), FILE, { TOKEN: 'x', CHAMPION_WEIGHT: '75.5', CHALLENGER_WEIGHT: ' 24.5 ', ACCESS_LOG: 'True', TIMEOUT_MS: '1e3' });
  assert.deepEqual(
    parsed.routes[0]?.variants.map((v) => v.weight),
    [75.5, 24.5],
  );
  assert.equal(parsed.log.accessLog, true);
  assert.equal(parsed.limits.upstreamTimeoutMs, 1000);
  const defaults = parseConfigText(config(variants), FILE, { TOKEN: 'x', CHALLENGER_WEIGHT: '10' });
  assert.equal(defaults.routes[0]?.variants[0]?.weight, 90);
  assert.equal(defaults.log.accessLog, false);
  assert.equal(defaults.limits.upstreamTimeoutMs, 30_000);
});

test('a digits-only value stays a string where the schema wants a string', () => {
  const parsed = parseConfigText(config(variants), FILE, { TOKEN: '12345', CHALLENGER_WEIGHT: '10' });
  assert.equal(parsed.adminToken, '12345');
});

test('an expansion that is no number where one is needed is a problem naming what it expanded to; a partial expansion is never typed', () => {
  assert.deepEqual(problems(config(variants), { TOKEN: 'x', CHALLENGER_WEIGHT: 'ten', TIMEOUT_MS: '30s' }), [
    'limits.upstreamTimeoutMs: Invalid input: expected number, received string (its ${...} expanded to "30s")',
    'routes[0].variants[1].weight: Invalid input: expected number, received string (its ${...} expanded to "ten")',
  ]);
  const partial = config([...variants.slice(0, 3), '        weight: 1${CHALLENGER_WEIGHT}']);
  assert.deepEqual(problems(partial, { TOKEN: 'x', CHALLENGER_WEIGHT: '0' }), ['routes[0].variants[1].weight: Invalid input: expected number, received string']);
});

test('keys never expand', () => {
  const text = config(variants).replace('routes:', 'routes:\n  # a key that looks like an expression is an unknown key, as written').replace('    match:', '    ${EXTRA}: 1\n    match:');
  assert.deepEqual(problems(text, { TOKEN: 'x', CHALLENGER_WEIGHT: '10', EXTRA: 'sticky' }), ['routes[0]: unknown key "${EXTRA}"']);
});

test('a missing field is reported as required, with the type it takes', () => {
  const text = config(variants.slice(0, 3)).replace('    match: { pathPrefix: /v2/models/fraud }\n', '');
  assert.deepEqual(problems(text, { TOKEN: 'x' }), ['routes[0].match: required (object)', 'routes[0].variants[1].weight: required (number)']);
});
