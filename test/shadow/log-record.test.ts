// The shadow log's line writer: every body form (compact JSON as its own text, JSON spanning lines,
// UTF-8 text, binary, JSON-looking text) reads back as the ShadowLogRecord shape, on one line, with dropped
// shadows, failures, every kind of comparison, and strings JSON must escape.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Answer } from '../../src/shadow/answer.js';
import { compareAnswers } from '../../src/shadow/compare.js';
import { digestOf, recordLine, type RecordInput, type ShadowLogRecord } from '../../src/shadow/log-record.js';

const answer = (body: Buffer, contentType = 'application/json'): Answer => ({ status: 200, body, truncated: false, contentType });

function record(input: Partial<RecordInput> & Pick<RecordInput, 'body' | 'primary'>): { line: string; parsed: ShadowLogRecord } {
  const line = recordLine({ route: 'fraud', requestId: 'r-1', key: 'k "1"', variant: 'champion', method: 'POST', path: '/v2/models/fraud/infer', shadows: [], captureBodies: true, ...input }, new Date(Date.UTC(2026, 10, 22)));
  return { line, parsed: JSON.parse(line) as ShadowLogRecord };
}

test('compact JSON bodies are logged as their own JSON, with metadata, comparisons and a dropped shadow', () => {
  const input = Buffer.from('{"inputs":[{"name":"tx","shape":[1,2],"datatype":"FP32","data":[0.5,1.0]}]}');
  const primary = answer(Buffer.from('{"outputs":[{"name":"p","shape":[1,1],"datatype":"FP32","data":[0.25]}]}'));
  const shadow = answer(Buffer.from('{"outputs":[{"name":"p","shape":[1,1],"datatype":"FP32","data":[0.75]}]}'));
  const comparison = compareAnswers(primary, shadow, 1e-6);
  const { line, parsed } = record({
    body: input,
    primary: { status: 200, answer: primary, latencyMs: 1.23456 },
    shadows: [
      { name: 'xgb', target: 'http://127.0.0.1:9', result: { outcome: 'ok', latencyMs: 2.5, answer: shadow }, comparison },
      { name: 'rf', target: 'model:rf', result: undefined, comparison: undefined },
    ],
  });
  assert.ok(!line.includes('\n'));
  assert.deepEqual(parsed, {
    time: '2026-11-22T00:00:00.000Z',
    route: 'fraud',
    requestId: 'r-1',
    key: 'k "1"',
    variant: 'champion',
    method: 'POST',
    path: '/v2/models/fraud/infer',
    input: { digest: digestOf(input), bytes: input.length, body: { bytes: input.length, json: JSON.parse(input.toString()) as unknown } },
    primary: { variant: 'champion', status: 200, latencyMs: 1.235, output: { bytes: primary.body?.length, contentType: 'application/json', json: { outputs: [{ name: 'p', shape: [1, 1], datatype: 'FP32', data: [0.25] }] } } },
    shadows: [
      { name: 'xgb', target: 'http://127.0.0.1:9', outcome: 'ok', status: 200, latencyMs: 2.5, output: { bytes: shadow.body?.length, contentType: 'application/json', json: { outputs: [{ name: 'p', shape: [1, 1], datatype: 'FP32', data: [0.75] }] } }, comparison },
      { name: 'rf', target: 'model:rf', outcome: 'dropped', status: null, latencyMs: null },
    ],
  });
  assert.equal(comparison.result, 'mismatch');
});

test('JSON spanning lines is re-serialized onto one line; text and binary bodies are logged as text and base64', () => {
  const pretty = Buffer.from('{\n  "outputs": [1,\r\n 2]\n}\n');
  const binary = Buffer.from([0xff, 0x00, 0xfe, 0x0a]);
  const { line, parsed } = record({
    body: Buffer.from('plain words\n'),
    primary: { status: 200, answer: answer(pretty), latencyMs: 1 },
    shadows: [{ name: 'bin', target: 'http://127.0.0.1:9', result: { outcome: 'ok', latencyMs: 1, answer: answer(binary, 'application/octet-stream') }, comparison: undefined }],
  });
  assert.ok(!line.includes('\n'));
  assert.deepEqual(parsed.input.body, { bytes: 12, text: 'plain words\n' });
  assert.deepEqual(parsed.primary.output?.json, { outputs: [1, 2] });
  assert.deepEqual(parsed.shadows[0]?.output, { bytes: 4, contentType: 'application/octet-stream', base64: binary.toString('base64') });
});

test('a failed primary and a failed shadow keep their failures; captureBodies: false leaves every body out', () => {
  const { parsed } = record({
    body: Buffer.from('{"a":1}'),
    captureBodies: false,
    primary: { status: 502, answer: undefined, latencyMs: 3, failure: 'UND_ERR_SOCKET' },
    shadows: [{ name: 's', target: 'http://127.0.0.1:9', result: { outcome: 'timeout', latencyMs: 50, answer: undefined, failure: 'ABPROXY_SHADOW_TIMEOUT' }, comparison: undefined }],
  });
  assert.deepEqual(parsed.input, { digest: digestOf(Buffer.from('{"a":1}')), bytes: 7 });
  assert.deepEqual(parsed.primary, { variant: 'champion', status: 502, latencyMs: 3, failure: 'UND_ERR_SOCKET' });
  assert.deepEqual(parsed.shadows, [{ name: 's', target: 'http://127.0.0.1:9', outcome: 'timeout', status: null, latencyMs: 50, failure: 'ABPROXY_SHADOW_TIMEOUT' }]);
});

test('every kind of comparison, and names and failures with quotes, controls and lone surrogates, read back as JSON.stringify wrote them', () => {
  const oip = (data: number[], name = 'p', shape = [1, data.length]) => answer(Buffer.from(JSON.stringify({ outputs: [{ name, shape, datatype: 'FP32', data }] })));
  const pairs: [Answer | undefined, Answer][] = [
    [oip([0.2, 0.8]), oip([0.2, 0.8])],
    [oip([0.2, 0.8]), oip([0.9, 0.1])],
    [oip([0.2, 0.8]), oip([0.2, Number.MAX_VALUE])],
    [oip([1]), answer(Buffer.from('{"outputs":[{"name":"a","data":[1]},{"name":"b","data":[2]}]}'))],
    [answer(Buffer.from('{"predictions":[[0.1,0.9]]}')), answer(Buffer.from('{"predictions":[[0.6,0.4]]}'))],
    [answer(Buffer.from('{"id":"x","score":1}')), answer(Buffer.from('{"id":"y","score":1.5}'))],
    [answer(Buffer.from('same'), 'text/plain'), answer(Buffer.from('other'), 'text/plain')],
    [{ ...oip([1]), status: 500 }, oip([1])],
    [undefined, oip([1])],
  ];
  const failure = 'connect "refused"\u0000\u001f\ud800 \\ done';
  const shadows = pairs.map(([primary, shadow], i) => ({
    name: `s${i}\t"quoted"`,
    target: 'http://127.0.0.1:9/\u2028',
    result: { outcome: 'ok' as const, latencyMs: i, answer: shadow, failure },
    comparison: compareAnswers(primary, shadow, 1e-6),
  }));
  assert.deepEqual(new Set(shadows.map(({ comparison }) => comparison.kind)), new Set(['oip', 'predictions', 'json', 'bytes', 'status', 'none']));
  const { line, parsed } = record({ body: undefined, route: 'r\n1', primary: { status: 200, answer: pairs[0]?.[0], latencyMs: Number.NaN, failure }, shadows });
  assert.ok(!line.includes('\n'));
  assert.equal(parsed.route, 'r\n1');
  assert.equal(parsed.primary.latencyMs, null);
  assert.equal(parsed.primary.failure, failure);
  parsed.shadows.forEach((logged, i) => {
    const { name, target, comparison } = shadows[i] as (typeof shadows)[number];
    assert.equal(logged.name, name);
    assert.equal(logged.target, target);
    assert.equal(logged.failure, failure);
    assert.deepEqual(logged.comparison, JSON.parse(JSON.stringify(comparison)));
  });
});

test('a body that starts like JSON but is not JSON is logged as text, never spliced into the line', () => {
  for (const text of ['{"inputs":[1,2', '{"a":1}{"b":2}', '[1,]', '{"a":"\u0001"}']) {
    const { parsed } = record({ body: Buffer.from(text), primary: { status: 200, answer: answer(Buffer.from(text)), latencyMs: 1 } });
    assert.deepEqual(parsed.input.body, { bytes: Buffer.byteLength(text), text });
    assert.deepEqual(parsed.primary.output, { bytes: Buffer.byteLength(text), contentType: 'application/json', text });
  }
});

test('a shadow that answered as the primary did logs the same output; one that differs only in how it is read logs its own', () => {
  const body = Buffer.from('{"outputs":[{"name":"p","shape":[1],"datatype":"FP32","data":[0.5]}]}');
  const primary = answer(body);
  const shadows = [answer(Buffer.from(body)), answer(Buffer.from(body), 'text/plain'), { ...answer(Buffer.from(body)), contentEncoding: 'identity' }].map((shadow, i) => ({
    name: `s${i}`,
    target: 'http://127.0.0.1:9',
    result: { outcome: 'ok' as const, latencyMs: 1, answer: shadow },
    comparison: compareAnswers(primary, shadow, 0),
  }));
  const { parsed } = record({ body: Buffer.from('{}'), primary: { status: 200, answer: primary, latencyMs: 1 }, shadows });
  const json = JSON.parse(body.toString()) as unknown;
  assert.deepEqual(parsed.primary.output, { bytes: body.length, contentType: 'application/json', json });
  assert.deepEqual(parsed.shadows.map((s) => s.output), [
    { bytes: body.length, contentType: 'application/json', json },
    { bytes: body.length, contentType: 'text/plain', json },
    { bytes: body.length, contentType: 'application/json', contentEncoding: 'identity', json },
  ]);
});
