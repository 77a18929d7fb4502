// Parsing the config text before validation: a key written twice is refused in YAML and in JSON alike
// (JSON.parse alone keeps the last one silently), with its line and column; a .json file must be JSON.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, parseConfigText } from '../../src/config/load.js';

const ROUTE = { name: 'a', match: { pathPrefix: '/a' }, variants: [{ name: 'x', target: 'http://127.0.0.1:1', weight: 1 }] };

function problemsOf(text: string, file: string): readonly string[] {
  try {
    parseConfigText(text, file);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.problems;
  }
  assert.fail(`${file} was accepted`);
}

test('a key written twice is a parse problem with its line and column, in YAML and in JSON', () => {
  const yaml = `listen: 127.0.0.1:8080\nlisten: 127.0.0.1:8081\nroutes: [${JSON.stringify(ROUTE)}]\n`;
  assert.deepEqual(problemsOf(yaml, 'abproxy.yaml'), ['cannot parse: Map keys must be unique at line 2, column 1']);
  const json = `{\n\t"routes": [${JSON.stringify({ ...ROUTE, variants: [{ ...ROUTE.variants[0], weight: 1 }] }).replace('"weight":1', '"weight":1,"weight":5')}]\n}\n`;
  assert.match(problemsOf(json, 'abproxy.json')[0] ?? '', /^cannot parse: Map keys must be unique at line 2, column \d+$/);
  const once = `{\n\t"routes": [${JSON.stringify(ROUTE)}]\n}\n`;
  assert.equal(parseConfigText(once, 'abproxy.json').routes[0]?.variants[0]?.weight, 1, 'tab-indented JSON without repeats loads');
});

test('a .json file must be JSON: YAML syntax in it is a parse problem in JSON terms', () => {
  const [problem] = problemsOf(`{"routes": [] # a comment\n}`, 'abproxy.json');
  assert.match(problem ?? '', /^cannot parse: .*JSON/);
});
