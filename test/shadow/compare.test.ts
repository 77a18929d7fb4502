// Comparison of a shadow's answer with the primary's, table-driven: OIP tensors (by name, by position,
// argmax), KServe V1 predictions, other JSON with tolerance and ignored fields, bytes, status, and the
// cases that cannot be compared.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Answer } from '../../src/shadow/answer.js';
import { compareAnswers } from '../../src/shadow/compare.js';
import { compileIgnoredFields } from '../../src/shadow/ignored-fields.js';

const json = (value: unknown, status = 200): Answer => ({ status, body: Buffer.from(JSON.stringify(value)), truncated: false, contentType: 'application/json' });
const text = (value: string, status = 200): Answer => ({ status, body: Buffer.from(value), truncated: false, contentType: 'text/plain' });
const oip = (...outputs: { name: string; shape: number[]; data: unknown[]; datatype?: string }[]) => json({ model_name: 'm', outputs: outputs.map((o) => ({ datatype: 'FP32', ...o })) });

test('OIP tensors', async (t) => {
  const cases: { name: string; primary: Answer; shadow: Answer; result: string; maxAbsDiff?: number; argmax?: number | null; pairs?: [string, string][] }[] = [
    { name: 'identical', primary: oip({ name: 'p', shape: [2], data: [0.1, 0.9] }), shadow: oip({ name: 'p', shape: [2], data: [0.1, 0.9] }), result: 'match', maxAbsDiff: 0 },
    { name: 'within tolerance 1e-6', primary: oip({ name: 'p', shape: [1], data: [0.5] }), shadow: oip({ name: 'p', shape: [1], data: [0.5000004] }), result: 'match' },
    {
      name: 'different names pair by position (keras dense_1 vs xgboost variable)',
      primary: oip({ name: 'dense_1', shape: [1, 1], data: [[0.00149741769]] }),
      shadow: oip({ name: 'variable', shape: [1, 1], data: [0.000506699085] }),
      result: 'mismatch',
      maxAbsDiff: 0.00149741769 - 0.000506699085,
      pairs: [['dense_1', 'variable']],
    },
    {
      name: 'same names in another order pair by name',
      primary: oip({ name: 'a', shape: [1], data: [1] }, { name: 'b', shape: [1], data: [2] }),
      shadow: oip({ name: 'b', shape: [1], data: [2] }, { name: 'a', shape: [1], data: [1] }),
      result: 'match',
      pairs: [['a', 'a'], ['b', 'b']],
    },
    {
      name: 'class outputs: argmax agreement per row',
      primary: oip({ name: 'probs', shape: [2, 3], data: [0.1, 0.8, 0.1, 0.6, 0.3, 0.1] }),
      shadow: oip({ name: 'probs', shape: [2, 3], data: [0.2, 0.7, 0.1, 0.2, 0.3, 0.5] }),
      result: 'mismatch',
      argmax: 0.5,
    },
    { name: 'element counts differ', primary: oip({ name: 'p', shape: [2], data: [1, 2] }), shadow: oip({ name: 'p', shape: [3], data: [1, 2, 3] }), result: 'mismatch' },
    { name: 'output counts differ', primary: oip({ name: 'p', shape: [1], data: [1] }), shadow: oip({ name: 'p', shape: [1], data: [1] }, { name: 'q', shape: [1], data: [1] }), result: 'mismatch' },
    {
      name: 'STRING tensors compare by equality (Triton classification)',
      primary: oip({ name: 'output0', shape: [2], datatype: 'BYTES', data: ['3.3:1', '2.4:3'] }),
      shadow: oip({ name: 'output0', shape: [2], datatype: 'BYTES', data: ['3.3:1', '2.4:4'] }),
      result: 'mismatch',
    },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const comparison = compareAnswers(c.primary, c.shadow, 1e-6);
      assert.equal(comparison.kind, 'oip');
      assert.equal(comparison.result, c.result, comparison.reason);
      if (c.maxAbsDiff !== undefined) assert.ok(Math.abs((comparison.maxAbsDiff ?? NaN) - c.maxAbsDiff) < 1e-12, `maxAbsDiff ${comparison.maxAbsDiff}`);
      if (c.argmax !== undefined) assert.equal(comparison.argmaxAgreement, c.argmax);
      if (c.pairs) assert.deepEqual(comparison.tensors?.map((x) => [x.primary, x.shadow]), c.pairs);
    });
  }
});

test('relative difference is reported beside the absolute one', () => {
  const comparison = compareAnswers(oip({ name: 'p', shape: [1], data: [200] }), oip({ name: 'p', shape: [1], data: [100] }), 1e-6);
  assert.equal(comparison.maxAbsDiff, 100);
  assert.equal(comparison.maxRelDiff, 0.5);
});

test('other JSON: structure with numeric tolerance, first differing path', async (t) => {
  const cases: { name: string; primary: unknown; shadow: unknown; tolerance?: number; result: string; reason?: RegExp }[] = [
    { name: 'equal', primary: { a: [1, 2, { b: 'x' }] }, shadow: { a: [1, 2, { b: 'x' }] }, result: 'match' },
    { name: 'number within a loose tolerance', primary: { score: 0.91 }, shadow: { score: 0.92 }, tolerance: 0.05, result: 'match' },
    { name: 'number beyond tolerance', primary: { score: 0.91 }, shadow: { score: 0.92 }, result: 'mismatch', reason: /\.score: 0\.91 vs 0\.92/ },
    { name: 'key only in shadow', primary: { a: 1 }, shadow: { a: 1, extra: true }, result: 'mismatch', reason: /\.extra: only in shadow/ },
    { name: 'type differs', primary: { a: [1] }, shadow: { a: { 0: 1 } }, result: 'mismatch', reason: /\.a: array vs object/ },
    { name: 'array length differs', primary: [1, 2], shadow: [1], result: 'mismatch', reason: /2 items vs 1/ },
    { name: 'OpenAI-style chat answers with other text', primary: { choices: [{ message: { content: 'yes' } }] }, shadow: { choices: [{ message: { content: 'no' } }] }, result: 'mismatch', reason: /choices\[0\]\.message\.content/ },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const comparison = compareAnswers(json(c.primary), json(c.shadow), c.tolerance ?? 1e-6);
      assert.equal(comparison.kind, 'json');
      assert.equal(comparison.result, c.result, comparison.reason);
      if (c.reason) assert.match(comparison.reason ?? '', c.reason);
    });
  }
});

test('KServe V1 / TF Serving predictions compare as one tensor, with argmax agreement for rows of class scores', async (t) => {
  const predict = (predictions: unknown) => json({ predictions });
  const cases: { name: string; primary: Answer; shadow: Answer; kind: string; result: string; maxAbsDiff?: number; argmax?: number | null; reason?: RegExp }[] = [
    // KServe's sklearn iris V1 sample answers {"predictions": [1, 1]} for its two-row input.
    { name: 'class labels, equal', primary: predict([1, 1]), shadow: predict([1, 1]), kind: 'predictions', result: 'match', argmax: null },
    { name: 'class labels, one differs', primary: predict([1, 1]), shadow: predict([1, 2]), kind: 'predictions', result: 'mismatch', reason: /1 of 2 elements differ/ },
    {
      name: 'class scores: one row of two keeps its argmax',
      primary: predict([[0.1, 0.9], [0.8, 0.2]]),
      shadow: predict([[0.2, 0.8], [0.4, 0.6]]),
      kind: 'predictions',
      result: 'mismatch',
      maxAbsDiff: 0.4,
      argmax: 0.5,
    },
    { name: 'rows of another length', primary: predict([[0.1, 0.9]]), shadow: predict([[0.1, 0.8, 0.1]]), kind: 'predictions', result: 'mismatch', reason: /2 elements vs 3/ },
    { name: 'objects per row are JSON', primary: predict([{ score: 0.1 }]), shadow: predict([{ score: 0.1 }]), kind: 'json', result: 'match' },
    { name: 'ragged rows are JSON', primary: predict([[1], [1, 2]]), shadow: predict([[1], [1, 3]]), kind: 'json', result: 'mismatch', reason: /predictions\[1\]\[1\]: 2 vs 3/ },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const comparison = compareAnswers(c.primary, c.shadow, 1e-6);
      assert.deepEqual([comparison.kind, comparison.result], [c.kind, c.result], comparison.reason);
      if (c.maxAbsDiff !== undefined) assert.ok(Math.abs((comparison.maxAbsDiff ?? NaN) - c.maxAbsDiff) < 1e-12, String(comparison.maxAbsDiff));
      if (c.argmax !== undefined) assert.equal(comparison.argmaxAgreement, c.argmax);
      if (c.reason) assert.match(comparison.reason ?? '', c.reason);
    });
  }
});

test('ignored fields: what differs on every call is left out, wildcards included, the rest still compared', async (t) => {
  // Two chat completions in the OpenAI API's answer format, from servers that generate ids and clocks of their own.
  const completion = (id: string, created: number, content: string, extra: Record<string, unknown> = {}) => ({
    id,
    object: 'chat.completion',
    created,
    model: 'llama-3-8b',
    system_fingerprint: `fp_${id}`,
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop', ...extra }],
    usage: { prompt_tokens: 9, completion_tokens: 12 + id.length, total_tokens: 21 + id.length },
  });
  const cases: { name: string; primary: unknown; shadow: unknown; ignore: string[]; result: string; reason?: RegExp }[] = [
    { name: 'nothing ignored: the ids differ', primary: completion('a1', 1, 'yes'), shadow: completion('b22', 2, 'yes'), ignore: [], result: 'mismatch', reason: /^\.id: "a1" vs "b22" \(and 4 more\)/ },
    { name: 'ids, clocks and token counts ignored', primary: completion('a1', 1, 'yes'), shadow: completion('b22', 2, 'yes'), ignore: ['id', 'created', 'system_fingerprint', 'usage'], result: 'match' },
    { name: 'the text still counts', primary: completion('a1', 1, 'yes'), shadow: completion('b22', 2, 'no'), ignore: ['id', 'created', 'system_fingerprint', 'usage'], result: 'mismatch', reason: /^\.choices\[0\]\.message\.content: "yes" vs "no"$/ },
    {
      name: 'a wildcard leaves out a field of every array element, on either side alone too',
      primary: completion('a', 1, 'yes', { logprobs: { content: [] } }),
      shadow: completion('a', 1, 'yes'),
      ignore: ['choices.*.logprobs'],
      result: 'match',
    },
    { name: 'an index names one element', primary: { data: [1, 2, 3] }, shadow: { data: [9, 2, 3] }, ignore: ['data.0'], result: 'match' },
    { name: 'a path that is not there ignores nothing', primary: { a: 1 }, shadow: { a: 2 }, ignore: ['b', 'a.b'], result: 'mismatch', reason: /^\.a: 1 vs 2$/ },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const comparison = compareAnswers(json(c.primary), json(c.shadow), 1e-6, compileIgnoredFields(c.ignore));
      assert.equal(comparison.kind, 'json');
      assert.equal(comparison.result, c.result, comparison.reason);
      if (c.reason) assert.match(comparison.reason ?? '', c.reason);
    });
  }
});

test('anything else by status and bytes', () => {
  assert.equal(compareAnswers(text('hello'), text('hello'), 0).result, 'match');
  const differs = compareAnswers(text('hello'), text('hallo'), 0);
  assert.deepEqual([differs.kind, differs.result], ['bytes', 'mismatch']);
  const status = compareAnswers(json({ a: 1 }), json({ a: 1 }, 500), 0);
  assert.deepEqual([status.kind, status.result, status.reason], ['status', 'mismatch', 'status 200 vs 500']);
});

test('incomparable: primary failed, bodies not captured or past the capture bound', () => {
  const ok = json({ a: 1 });
  assert.equal(compareAnswers(undefined, ok, 0).result, 'incomparable');
  assert.equal(compareAnswers({ ...ok, body: undefined }, ok, 0).result, 'incomparable');
  assert.equal(compareAnswers({ ...ok, truncated: true }, ok, 0).result, 'incomparable');
  assert.equal(compareAnswers(ok, { ...ok, body: undefined, truncated: true }, 0).result, 'incomparable');
});

test('deeply nested JSON neither throws nor overflows the stack', () => {
  const deep = Buffer.from(`${'['.repeat(200_000)}1${']'.repeat(200_000)}`);
  const answer: Answer = { status: 200, body: deep, truncated: false, contentType: 'application/json' };
  const comparison = compareAnswers(answer, answer, 0);
  assert.equal(comparison.result, 'match');
});

test('a shadow answer byte for byte the primary\'s takes its parsed body; one that differs, or in another content type, is parsed itself', () => {
  const primary = oip({ name: 'p', shape: [1], data: [0.5] });
  const same = oip({ name: 'p', shape: [1], data: [0.5] });
  assert.equal(compareAnswers(primary, same, 0).result, 'match');
  assert.ok(primary.parsed !== undefined && same.parsed === primary.parsed, 'the same bytes are not parsed twice');

  const other = oip({ name: 'p', shape: [1], data: [0.25] });
  assert.equal(compareAnswers(primary, other, 0).result, 'mismatch');
  assert.notEqual(other.parsed, primary.parsed);
  assert.deepEqual(other.parsed, { model_name: 'm', outputs: [{ datatype: 'FP32', name: 'p', shape: [1], data: [0.25] }] });

  const typed: Answer = { ...oip({ name: 'p', shape: [1], data: [0.5] }), contentType: 'text/event-stream' };
  compareAnswers(primary, typed, 0);
  assert.equal('parsed' in typed, false, 'an event stream is read as its events, not as the primary\'s JSON');
});
