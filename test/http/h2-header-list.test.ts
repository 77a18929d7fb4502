// headerListProblem, row by row, at maxHeaderBytes 1 024: RFC 9113 §6.5.2's count (name + value + 32 per
// field, pseudo-header fields included) against the limit, and which answer a list over it gets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { headerListProblem } from '../../src/http/h2-header-list.js';

const LIMIT = 1_024;
/** :method GET (42), :scheme http (43), :authority a.example (51), :path /p (39): 175 octets. */
const BASE = [':method', 'GET', ':scheme', 'http', ':authority', 'a.example', ':path', '/p'];
const x = (n: number) => 'x'.repeat(n);

/** [case, rawHeaders, the answer's status, or undefined when the list is within the limit] */
const ROWS: [string, string[], number | undefined][] = [
  ['a small request', BASE, undefined],
  ['exactly the limit: 175 + (1 + 816 + 32)', [...BASE, 'v', x(816)], undefined],
  ['one octet over the limit', [...BASE, 'v', x(817)], 431],
  ['the 32 octets a field adds count: 27 empty fields after BASE', [...BASE, ...Array.from({ length: 27 }, (_, i) => [`f${String.fromCharCode(97 + (i % 26))}`, '']).flat()], 431],
  ['a :path field alone over the limit (5 + 988 + 32)', [':method', 'GET', ':path', `/${x(987)}`], 414],
  ['a :path within the limit, the list over it', [...BASE.slice(0, 6), ':path', `/${x(900)}`, 'v', x(200)], 431],
  ['a regular field named like a pseudo-header does not count as :path', [...BASE, 'path', `/${x(1_000)}`], 431],
];

test('a header list over maxHeaderBytes, as RFC 9113 §6.5.2 counts it, is 431, or 414 when :path alone is over it', () => {
  for (const [name, rawHeaders, status] of ROWS) assert.equal(headerListProblem(rawHeaders, LIMIT)?.status, status, name);
});

test('the message says how large the list or :path was, and the limit', () => {
  assert.equal(headerListProblem([...BASE, 'v', x(817)], LIMIT)?.message, 'request headers are too large: the header list is 1025 bytes, over maxHeaderBytes (1024)');
  assert.equal(headerListProblem([':path', `/${x(987)}`], LIMIT)?.message, 'request URL is too long: its :path field is 1025 bytes, over maxHeaderBytes (1024)');
  assert.equal(headerListProblem([':path', `/${x(987)}`], LIMIT)?.code, 'ABPROXY_URI_TOO_LONG');
});
