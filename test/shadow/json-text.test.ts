// JSON text written and checked without building values: quoted strings and numbers read as
// JSON.stringify writes them, and the JSON check agrees with JSON.parse on real inference bodies, on
// thousands of near-JSON byte strings made from them, and on the edge cases of the grammar.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isJsonContainer, jsonNumber, quoted } from '../../src/shadow/json-text.js';

const OIP_EXAMPLES = join(import.meta.dirname, '../fixtures/oip/examples');
const CCFRAUD_DATA = join(import.meta.dirname, '../fixtures/wallaroo-ccfraud/data');

/** What JSON.parse says of the bytes' UTF-8 text: one object or array. */
function parsesAsContainer(bytes: Buffer): boolean {
  try {
    const value: unknown = JSON.parse(bytes.toString('utf8'));
    return value !== null && typeof value === 'object';
  } catch {
    return false;
  }
}

test('quoted writes every UTF-16 code unit, surrogate pairs and lone surrogates as JSON.stringify does', () => {
  for (let unit = 0; unit < 0x10000; unit++) {
    const text = `a${String.fromCharCode(unit)}b`;
    assert.equal(quoted(text), JSON.stringify(text), `U+${unit.toString(16)}`);
  }
  for (const text of ['', 'fraud/candidate', '\u{1f600} ok', 'x\ud83dy', '\ude00\ud83d', 'k "1"', 'tab\there', 'back\\slash']) {
    assert.equal(quoted(text), JSON.stringify(text));
  }
});

test('jsonNumber writes numbers as JSON.stringify does, and null for what JSON has no number for', () => {
  for (const value of [0, -0, 1, -1.5, 0.1 + 0.2, 1e21, 1e-7, 2 ** 53, Number.MAX_VALUE, Number.MIN_VALUE]) {
    assert.equal(jsonNumber(value), JSON.stringify(value));
  }
  for (const value of [Number.NaN, Infinity, -Infinity, null, undefined]) assert.equal(jsonNumber(value), 'null');
});

test('the JSON check agrees with JSON.parse on every OIP example and ccfraud input', () => {
  const files = [...readdirSync(OIP_EXAMPLES).map((name) => join(OIP_EXAMPLES, name)), ...readdirSync(CCFRAUD_DATA).map((name) => join(CCFRAUD_DATA, name))].filter((path) => path.endsWith('.json'));
  assert.ok(files.length >= 25, `${files.length} files`);
  for (const path of files) {
    const bytes = readFileSync(path);
    assert.equal(isJsonContainer(bytes), parsesAsContainer(bytes), path);
    assert.equal(isJsonContainer(bytes), true, path);
  }
});

test('the JSON check agrees with JSON.parse on 30 000 near-JSON byte strings', () => {
  const seeds = [
    readFileSync(join(OIP_EXAMPLES, '01-oip-spec-two-inputs.request.json'), 'utf8').slice(0, 400),
    '{"a":[1,2.5e-3,-0,true,false,null,"x\\u00e9\\n\\/"],"b":{},"c":[]}',
    '[{"k":"v"},[[]],-1.0E+2, 0.5e+7 ,"\\"q\\""]',
    '{"inputs":[{"name":"tx","shape":[1,4],"datatype":"FP32","data":[0.12,3.4,1.0,250.75]}]}',
  ];
  const alphabet = '{}[],:"\\ \n\r\t0123456789-+.eEtruefalsnu/abxé\u0001\u001f\u007f';
  let state = 0x2545f491;
  const random = (n: number): number => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) % n;
  };
  let valid = 0;
  for (let round = 0; round < 30_000; round++) {
    let text = seeds[random(seeds.length)] as string;
    for (let edits = random(3) + 1; edits > 0; edits--) {
      const at = random(text.length + 1);
      const char = alphabet[random(alphabet.length)] as string;
      const edit = random(3);
      text = edit === 0 ? text.slice(0, at) + char + text.slice(at) : edit === 1 ? text.slice(0, at) + text.slice(at + 1) : text.slice(0, at) + char + text.slice(at + 1);
    }
    const bytes = Buffer.from(text);
    const expected = parsesAsContainer(bytes);
    if (expected) valid++;
    assert.equal(isJsonContainer(bytes), expected, JSON.stringify(text));
  }
  assert.ok(valid > 1000 && valid < 29_000, `${valid} valid: the edits must make both kinds`);
});

test('the JSON check: containers only, whitespace around, the grammar at its edges', () => {
  const cases: [string | Buffer, boolean][] = [
    ['{}', true], ['[]', true], [' \t\r\n[1]\n ', true], ['{"a":{"b":[{"c":null}]}}', true],
    ['1', false], ['"text"', false], ['true', false], ['null', false], ['', false], ['  ', false],
    ['\ufeff{}', false], ['{} {}', false], ['[1,]', false], ['{"a":1,}', false], ['[01]', false], ['[1.]', false],
    ['[.5]', false], ['[1e]', false], ['[-]', false], ['[+1]', false], ['[1E+2]', true], ['[-0.0e-0]', true],
    ['{"a" 1}', false], ['{a:1}', false], ["{'a':1}", false], ['["\\x"]', false], ['["\\u12g4"]', false], ['["\\uD800"]', true],
    ['["tab\there"]', false], ['["\u007f"]', true], ['[tru]', false], ['[nul]', false], ['[falsey]', false], ['[1 2]', false],
    ['{"a":1', false], ['[', false], ['["open', false], ['["end\\', false], ['{"a":1}}', false], ['[1]]', false],
    [Buffer.from([0x5b, 0x22, 0xc3, 0x22, 0x5d]), true], // invalid UTF-8 in a string decodes to U+FFFD, then the quote
    [Buffer.from([0x5b, 0xff, 0x5d]), false],
  ];
  for (const [text, expected] of cases) {
    const bytes = typeof text === 'string' ? Buffer.from(text) : text;
    assert.equal(isJsonContainer(bytes), expected, JSON.stringify(bytes.toString('latin1')));
    assert.equal(parsesAsContainer(bytes), expected, `JSON.parse disagrees on ${JSON.stringify(bytes.toString('latin1'))}`);
  }
});

test('the JSON check has no depth limit: nesting past what JSON.parse can recurse is still JSON', () => {
  const depth = 200_000;
  assert.equal(isJsonContainer(Buffer.from('['.repeat(depth) + ']'.repeat(depth))), true);
  assert.equal(isJsonContainer(Buffer.from('['.repeat(depth) + ']'.repeat(depth - 1))), false);
});
