// Table-driven tests of the pure header logic: hop-by-hop removal (RFC 9110 §7.6.1), x-forwarded-*
// (RFC 7239 §5.2 semantics: a chain only from trusted proxies), request-target normalisation
// (RFC 3986 §5.2.4, RFC 9112 §3.2), request-head checks (RFC 9112 §3.2, §6.1; RFC 9110 §5.1) and the OIP
// binary extension's Inference-Header-Content-Length.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectionTokens, stripHopByHop } from '../../src/http/hop-by-hop.js';
import { forwardedHeaders, type ForwardedInput } from '../../src/http/forwarded.js';
import { normalizeTarget } from '../../src/http/path.js';
import { isFramingLookalike, isToken, requestHeadProblem } from '../../src/http/request-head.js';
import { inferenceHeaderLength, jsonPart } from '../../src/http/inference-header.js';

function names(flat: readonly string[]): string[] {
  return flat.filter((_v, i) => i % 2 === 0).map((n) => n.toLowerCase());
}

test('RFC 9110 §7.6.1: fixed hop-by-hop fields never pass', () => {
  const fixed = ['Connection', 'Keep-Alive', 'Proxy-Connection', 'Proxy-Authenticate', 'Proxy-Authorization', 'TE', 'Trailer', 'Transfer-Encoding', 'Upgrade'];
  for (const name of fixed) {
    const out = stripHopByHop([name, 'x', 'Accept', '*/*']);
    assert.deepEqual(out, ['Accept', '*/*'], `${name} was forwarded`);
  }
});

test('RFC 9110 §7.6.1: names listed in Connection are removed, case-insensitively and across repeated fields', () => {
  const cases: { headers: string[]; removed: string[]; kept: string[] }[] = [
    { headers: ['Connection', 'keep-alive, X-Foo', 'X-Foo', '1', 'X-Bar', '2'], removed: ['x-foo'], kept: ['x-bar'] },
    { headers: ['Connection', 'x-a', 'Connection', ' X-B ,,', 'X-A', '1', 'x-b', '2', 'X-C', '3'], removed: ['x-a', 'x-b'], kept: ['x-c'] },
    { headers: ['connection', 'CLOSE', 'Close', 'x'], removed: ['close'], kept: [] },
  ];
  for (const { headers, removed, kept } of cases) {
    const out = names(stripHopByHop(headers));
    for (const name of removed) assert.ok(!out.includes(name), `${name} survived ${JSON.stringify(headers)}`);
    for (const name of kept) assert.ok(out.includes(name), `${name} was dropped from ${JSON.stringify(headers)}`);
  }
});

test('Connection cannot delete Host, Content-Length, X-Forwarded-*, Forwarded or X-Request-Id', () => {
  const listed = 'host, content-length, x-forwarded-for, x-forwarded-proto, x-forwarded-host, forwarded, x-request-id';
  assert.equal(connectionTokens(['Connection', listed]).size, 0);
  const headers = ['Connection', listed, 'Host', 'h', 'Content-Length', '3', 'X-Request-Id', 'r'];
  assert.deepEqual(names(stripHopByHop(headers)), ['host', 'content-length', 'x-request-id']);
});

test('stripHopByHop drops the extra names it is given and keeps order and raw case', () => {
  const out = stripHopByHop(['X-One', '1', 'x-forwarded-for', '6.6.6.6', 'X-Two', '2'], new Set(['x-forwarded-for']));
  assert.deepEqual(out, ['X-One', '1', 'X-Two', '2']);
});

const base: ForwardedInput = {
  peerAddress: '127.0.0.1',
  incomingFor: undefined,
  incomingProto: undefined,
  incomingHost: undefined,
  host: 'api.example',
  encrypted: false,
  trusted: false,
};

test('x-forwarded-*: client values replaced unless the peer is trusted (RFC 7239 §5.2 chain semantics)', () => {
  const rows: { input: Partial<ForwardedInput>; want: string[] }[] = [
    { input: {}, want: ['x-forwarded-for', '127.0.0.1', 'x-forwarded-proto', 'http', 'x-forwarded-host', 'api.example'] },
    {
      input: { incomingFor: '6.6.6.6', incomingProto: 'https', incomingHost: 'evil' },
      want: ['x-forwarded-for', '127.0.0.1', 'x-forwarded-proto', 'http', 'x-forwarded-host', 'api.example'],
    },
    {
      input: { incomingFor: '10.0.0.1', incomingProto: 'https', incomingHost: 'front.example', trusted: true },
      want: ['x-forwarded-for', '10.0.0.1, 127.0.0.1', 'x-forwarded-proto', 'https', 'x-forwarded-host', 'front.example'],
    },
    { input: { peerAddress: '::ffff:192.0.2.7', encrypted: true }, want: ['x-forwarded-for', '192.0.2.7', 'x-forwarded-proto', 'https', 'x-forwarded-host', 'api.example'] },
    { input: { host: undefined }, want: ['x-forwarded-for', '127.0.0.1', 'x-forwarded-proto', 'http'] },
  ];
  for (const { input, want } of rows) assert.deepEqual(forwardedHeaders({ ...base, ...input }), want, JSON.stringify(input));
});

test('RFC 3986 §5.2.4 dot-segment removal, §6.2.2.2 unreserved escapes decoded, and RFC 9112 §3.2 origin-form', () => {
  const rows: [string, string | undefined, string?][] = [
    ['/a/b/c/./../../g', '/a/g'],
    ['/v1/%2E%2E/admin', '/admin'],
    ['/v1/%2e%2e/%2E%2e/%2e./admin?x=1', '/admin', 'x=1'],
    ['/v1/../../../etc', '/etc'],
    ['//evil.example/x', '/evil.example/x'],
    ['/a//b///c', '/a/b/c'],
    ['/a/', '/a/'],
    ['/a/.', '/a/'],
    ['/a/..', '/'],
    ['/..', '/'],
    ['/a/...', '/a/...'],
    ['/models/iris.v1/infer?q=.', '/models/iris.v1/infer', 'q=.'],
    ['/a%2Fb/..', '/'],
    ['/v2/models/fr%61ud/infer', '/v2/models/fraud/infer'],
    ['/v2/models/fr%61ud', '/v2/models/fraud'],
    ['/a%7e%5F%2d%30/b%2f%25%20c', '/a~_-0/b%2f%25%20c'],
    ['/x?', '/x', ''],
    ['http://evil.example/x', undefined],
    ['*', undefined],
    ['', undefined],
  ];
  for (const [url, path, query] of rows) {
    const got = normalizeTarget(url);
    assert.equal(got?.path, path, url);
    if (query !== undefined) assert.equal(got?.query, query, url);
  }
});

test('RFC 9110 §5.1 field names are tokens; framing lookalikes are recognised', () => {
  for (const ok of ['X-Foo', 'x_under', 'a.b', "!#$%&'*+-.^_`|~09azAZ"]) assert.ok(isToken(ok), ok);
  for (const bad of ['', 'X Foo', 'X:Foo', 'Transfer-Encod\u0131ng', 'X\u00e9', 'a\u0000b', '(x)']) assert.ok(!isToken(bad), JSON.stringify(bad));
  for (const lookalike of ['transfer_encoding', 'content_length', 'transfer---encoding', 'content.length', '-content-length']) {
    assert.ok(isFramingLookalike(lookalike), lookalike);
  }
  for (const fine of ['content-length', 'transfer-encoding', 'content-type', 'x-content-length-hint', 'transfer-encod1ng']) {
    assert.ok(!isFramingLookalike(fine), fine);
  }
});

test('requestHeadProblem: RFC 9112 §3.2 Host rules, §6.1 Transfer-Encoding on HTTP/1.0, lookalikes', () => {
  const rows: [string, string[], boolean][] = [
    ['1.1', ['Host', 'a'], false],
    ['1.1', [], true],
    ['1.0', [], false],
    ['1.1', ['Host', 'a', 'host', 'b'], true],
    ['1.0', ['Transfer-Encoding', 'chunked'], true],
    ['1.1', ['Host', 'a', 'Transfer-Encoding', 'chunked'], false],
    ['1.1', ['Host', 'a', 'Transfer_Encoding', 'chunked'], true],
    ['1.1', ['Host', 'a', 'Content_Length', '5'], true],
    ['1.1', ['Host', 'a', 'X_Custom', '5'], false],
    ['1.1', ['Host', 'a', 'Transfer-Encod\u0131ng', 'chunked'], true],
  ];
  for (const [version, headers, rejected] of rows) {
    assert.equal(requestHeadProblem(version, headers) !== undefined, rejected, `${version} ${JSON.stringify(headers)}`);
  }
});

test('Inference-Header-Content-Length: a plain decimal within the body marks its JSON part; anything else leaves the body whole', () => {
  const body = Buffer.from('{"inputs":[]}\u0001\u0002\u0003');
  const cases: [string | string[] | undefined, number | undefined][] = [
    [undefined, undefined],
    ['13', 13],
    ['0', 0],
    [String(body.length), body.length],
    [String(body.length + 1), undefined],
    ['-1', undefined],
    ['1e1', undefined],
    [' 13', undefined],
    ['0x0d', undefined],
    [['13', '13'], undefined],
  ];
  for (const [value, expected] of cases) assert.equal(inferenceHeaderLength(value, body.length), expected, JSON.stringify(value));
  assert.equal(jsonPart(body, 13).toString(), '{"inputs":[]}');
  assert.equal(jsonPart(body, undefined), body);
});
