// Sticky-key extraction: header, cookie (RFC 6265 §5.4), query, and a dotted path into a JSON body
// (the Open Inference Protocol's parameters.session_id); the first source with a non-empty value wins.
// Header sources are header field names, matched in any case.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cookieValue, extractKey, needsBody, scalarAt } from '../../src/routing/sticky.js';
import { configSchema, type StickySource } from '../../src/config/schema.js';

const SOURCES: StickySource[] = [{ header: 'x-session-id' }, { cookie: 'sid' }, { body: 'parameters.session_id' }, { query: 'user' }];

test('first non-empty source wins, in configured order', () => {
  const oip = { inputs: [], parameters: { session_id: 'from-body' } };
  const rows: [Parameters<typeof extractKey>[1], string | undefined][] = [
    [{ headers: { 'x-session-id': 'h', cookie: 'sid=c' }, query: 'user=q', json: oip }, 'h'],
    [{ headers: { 'x-session-id': '', cookie: 'sid=c' }, query: 'user=q', json: oip }, 'c'],
    [{ headers: { cookie: 'other=1' }, query: 'user=q', json: oip }, 'from-body'],
    [{ headers: {}, query: 'user=q', json: { parameters: {} } }, 'q'],
    [{ headers: {}, query: 'user=a%20b&user=second', json: undefined }, 'a b'],
    [{ headers: {}, query: '', json: undefined }, undefined],
    [{ headers: {}, query: 'user=', json: 'not an object' }, undefined],
  ];
  for (const [input, want] of rows) assert.equal(extractKey(SOURCES, input), want, JSON.stringify(input));
  assert.ok(needsBody(SOURCES));
  assert.ok(!needsBody([{ header: 'x' }, { query: 'q' }]));
});

test('RFC 6265 §5.4 cookie-string parsing', () => {
  const rows: [string | undefined, string | undefined][] = [
    ['sid=abc', 'abc'],
    ['a=1; sid=abc; b=2', 'abc'],
    ['a=1;sid=abc', 'abc'],
    ['sid="quoted"', 'quoted'],
    ['xsid=no; sid=yes', 'yes'],
    ['sid=first; sid=second', 'first'],
    ['sid=', ''],
    ['nosid', undefined],
    [undefined, undefined],
  ];
  for (const [header, want] of rows) assert.equal(cookieValue(header, 'sid'), want, String(header));
});

test('dotted paths into JSON: objects, numeric array indexes, strings and finite numbers only', () => {
  const body = { parameters: { session_id: 'abc', n: 42, f: 1.5, flag: true, nil: null }, inputs: [{ name: 'x', data: [7] }] };
  const rows: [string, string | undefined][] = [
    ['parameters.session_id', 'abc'],
    ['parameters.n', '42'],
    ['parameters.f', '1.5'],
    ['parameters.flag', undefined],
    ['parameters.nil', undefined],
    ['parameters', undefined],
    ['inputs.0.name', 'x'],
    ['inputs.0.data.0', '7'],
    ['inputs.1.name', undefined],
    ['inputs.x', undefined],
    ['missing.path', undefined],
  ];
  for (const [path, want] of rows) assert.equal(scalarAt(body, path), want, path);
  assert.equal(scalarAt(undefined, 'a'), undefined);
});

test('a header source (and the override header) is a header field name, matched in any case, and a cookie source a cookie name; one that never could match is refused', () => {
  const route = (sticky: unknown[], override?: unknown) => ({ name: 'r', match: { pathPrefix: '/' }, sticky, ...(override ? { override } : {}), variants: [{ name: 'a', target: 'http://127.0.0.1:1', weight: 1 }] });
  const parsed = configSchema.parse({ routes: [route([{ header: 'X-Session-Id' }], { header: 'X-Variant' })] });
  assert.deepEqual(parsed.routes[0]?.sticky, [{ header: 'x-session-id' }]);
  assert.equal(parsed.routes[0]?.override.header, 'x-variant');
  for (const header of ['X Session', 'x-session:id', '']) {
    const result = configSchema.safeParse({ routes: [route([{ header }])] });
    assert.ok(!result.success, header);
    assert.match(result.error.issues[0]?.message ?? '', /must be a header field name/);
  }
  assert.ok(!configSchema.safeParse({ routes: [route([], { header: 'x variant' })] }).success);
  for (const cookie of ['session id', 'sid;', '']) assert.ok(!configSchema.safeParse({ routes: [route([{ cookie }])] }).success, `cookie ${cookie}`);
});

test('a non-ASCII key in a header or cookie is read as the UTF-8 it was sent in, so it hashes as the same key in a body, a query or abproxy assign', () => {
  const onTheWire = (text: string) => Buffer.from(text, 'utf8').toString('latin1'); // what node hands over for UTF-8 header bytes
  for (const key of ['josé', '東京', 'naïve-1', 'ß3']) {
    assert.equal(extractKey([{ header: 'x-session-id' }], { headers: { 'x-session-id': onTheWire(key) }, query: '' }), key);
    assert.equal(extractKey([{ cookie: 'sid' }], { headers: { cookie: `a=1; sid=${onTheWire(key)}` }, query: '' }), key);
    assert.equal(extractKey([{ query: 'user' }], { headers: {}, query: `user=${encodeURIComponent(key)}` }), key);
  }
  assert.equal(extractKey([{ header: 'x-session-id' }], { headers: { 'x-session-id': 'caf\xe9' }, query: '' }), 'caf\xe9', 'bytes that are not UTF-8 stay as read');
});
