// The limits schema for limits.sendTimeoutMs: its default, its unit and bound like the other timeouts,
// and every value out of bounds refused with its path (through the loader, as `abproxy validate` reports it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, parseConfigText } from '../../src/config/load.js';

const ROUTES = 'routes: [{ name: a, match: { pathPrefix: /a }, variants: [{ name: x, target: "http://127.0.0.1:1", weight: 1 }] }]\n';

function problemsOf(text: string): readonly string[] {
  try {
    parseConfigText(text, 'abproxy.yaml');
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.problems;
  }
  assert.fail('the file was accepted');
}

test('sendTimeoutMs defaults to 60000 ms, with or without a limits block', () => {
  assert.equal(parseConfigText(ROUTES, 'abproxy.yaml').limits.sendTimeoutMs, 60_000);
  assert.equal(parseConfigText(`limits: { maxBodyBytes: 2048 }\n${ROUTES}`, 'abproxy.yaml').limits.sendTimeoutMs, 60_000);
  assert.equal(parseConfigText(`limits: { sendTimeoutMs: 300 }\n${ROUTES}`, 'abproxy.yaml').limits.sendTimeoutMs, 300);
});

test('sendTimeoutMs out of bounds is refused with its path: at least 1, at most an hour, whole milliseconds', () => {
  for (const value of ['0', '-5', '3600001', '1.5', '"soon"']) {
    const problems = problemsOf(`limits: { sendTimeoutMs: ${value} }\n${ROUTES}`);
    assert.equal(problems.length, 1, `${value}: ${problems.join('; ')}`);
    assert.match(problems[0] ?? '', /^limits\.sendTimeoutMs: /, value);
  }
  assert.equal(parseConfigText(`limits: { sendTimeoutMs: 3600000 }\n${ROUTES}`, 'abproxy.yaml').limits.sendTimeoutMs, 3_600_000);
});
