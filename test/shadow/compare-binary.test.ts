// Shadow comparison of Open Inference Protocol answers in the binary tensor extension (Triton's
// extension_binary_data): tensors are read out of the bytes after the JSON part, so a binary answer
// compares tensor by tensor with a JSON one; sizes that do not add up fall back to bytes.
// Through the proxy, the client gets the binary answer byte for byte, the log holds the comparison, and
// the shadow-log table shows the tensors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Answer } from '../../src/shadow/answer.js';
import { withBinaryData } from '../../src/models/binary-tensors.js';
import { compareAnswers } from '../../src/shadow/compare.js';
import type { ShadowLogRecord } from '../../src/shadow/log-record.js';
import { renderTable } from '../../src/shadow/log-table.js';
import { startProxy } from '../helpers/proxy.js';
import { startUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/load.js';

/** Triton's example answer header: output0, FP32 [3, 2], 24 bytes of binary data (test/fixtures/oip/PROVENANCE.md, example 12). */
const TRITON_HEADER = readFileSync(new URL('../fixtures/oip/examples/12-triton-binary-data.response-json-header.json', import.meta.url));

function binaryAnswer(header: Buffer, tensorBytes: Buffer, inferenceHeader = String(header.length)): Answer {
  return { status: 200, body: Buffer.concat([header, tensorBytes]), truncated: false, contentType: 'application/octet-stream', inferenceHeader };
}

const fp32 = (...values: number[]) => Buffer.from(new Float32Array(values).buffer);

test("Triton's binary FP32 answer compares tensor by tensor with the same tensor as JSON", () => {
  const values = [0.25, 0.75, 0.5, 0.5, 0.875, 0.125];
  const primary = binaryAnswer(TRITON_HEADER, fp32(...values));
  const shadowValues = [0.25, 0.75, 0.375, 0.625, 0.875, 0.125];
  const shadow: Answer = { status: 200, body: Buffer.from(JSON.stringify({ outputs: [{ name: 'output0', shape: [3, 2], datatype: 'FP32', data: shadowValues }] })), truncated: false, contentType: 'application/json' };
  const comparison = compareAnswers(primary, shadow, 1e-6);
  assert.equal(comparison.kind, 'oip');
  assert.equal(comparison.result, 'mismatch');
  assert.equal(comparison.maxAbsDiff, 0.125);
  assert.equal(comparison.argmaxAgreement, 2 / 3, 'row 2 flips from a tie (first index) to class 1');
  assert.equal(compareAnswers(primary, binaryAnswer(TRITON_HEADER, fp32(...values)), 1e-6).result, 'match', 'binary against identical binary');
});

test('sizes that do not add up, an unknown datatype or a bad header length fall back to comparing bytes', () => {
  const header = (size: number, datatype = 'FP32') => Buffer.from(JSON.stringify({ outputs: [{ name: 'out', datatype, shape: [2], parameters: { binary_data_size: size } }] }));
  const tensor = fp32(1, 2);
  const broken: [string, Answer][] = [
    ['size past the body', binaryAnswer(header(16), tensor)],
    ['bytes left over', binaryAnswer(header(4), tensor)],
    ['size not a multiple of the element', binaryAnswer(header(7), tensor.subarray(0, 7))],
    ['unknown datatype', binaryAnswer(header(8, 'FP8'), tensor)],
    ['header length past the body', binaryAnswer(header(8), tensor, '100000')],
  ];
  for (const [name, answer] of broken) {
    const comparison = compareAnswers(answer, answer, 0);
    assert.equal(comparison.kind, 'bytes', name);
    assert.equal(comparison.result, 'match', name);
  }
  assert.equal(withBinaryData({ outputs: 'none' }, 'outputs', tensor), undefined);
});

test('through the proxy: a binary champion answer reaches the client unchanged and is compared as tensors with a JSON and a binary shadow', async (t) => {
  const tensor = fp32(0.25, 0.75, 0.5, 0.5, 0.875, 0.125);
  const binary: Parameters<typeof startUpstream>[0] = (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(TRITON_HEADER.length) });
    res.end(Buffer.concat([TRITON_HEADER, tensor]));
  };
  const champion = await startUpstream(binary);
  const twin = await startUpstream(binary);
  const shadow = await startUpstream((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ outputs: [{ name: 'output0', shape: [3, 2], datatype: 'FP32', data: [0.25, 0.75, 0.5, 0.5, 0.875, 0.0625] }] }));
  });
  const path = join(mkdtempSync(join(tmpdir(), 'abproxy-binary-')), 'shadow.jsonl');
  const proxy = await startProxy({
    shadowLog: { path, maxBytes: 1_048_576 },
    routes: [{ name: 'triton', match: { pathPrefix: '/v2/models/mymodel' }, variants: [{ name: 'champion', target: champion.url, weight: 1 }], shadows: [{ name: 'candidate', target: shadow.url }, { name: 'twin', target: twin.url }] }],
  });
  t.after(async () => {
    await proxy.close();
    await Promise.all([champion.close(), shadow.close(), twin.close()]);
  });
  const res = await fetch(`${proxy.url}/v2/models/mymodel/infer`, { method: 'POST', body: '{"inputs":[]}', headers: { 'content-type': 'application/json' } });
  assert.equal(res.headers.get('inference-header-content-length'), String(TRITON_HEADER.length));
  assert.deepEqual(Buffer.from(await res.arrayBuffer()), Buffer.concat([TRITON_HEADER, tensor]), 'the binary answer is relayed byte for byte');
  assert.ok(await waitFor(() => proxy.proxy.shadows.log?.written === 1, 5_000));
  const record = JSON.parse(readFileSync(path, 'utf8')) as ShadowLogRecord;
  const comparison = record.shadows[0]?.comparison;
  assert.equal(comparison?.kind, 'oip');
  assert.equal(comparison.result, 'mismatch');
  assert.equal(comparison.maxAbsDiff, 0.0625);
  assert.equal(comparison.tensors?.[0]?.elements, 6);
  const twinComparison = record.shadows[1]?.comparison;
  assert.deepEqual([twinComparison?.kind, twinComparison?.result], ['oip', 'match'], 'a binary shadow answer is read as tensors too');
  assert.deepEqual(Buffer.from(record.primary.output?.base64 ?? '', 'base64'), Buffer.concat([TRITON_HEADER, tensor]), 'the log keeps the whole binary answer, as base64');
  assert.equal(record.primary.output?.jsonBytes, TRITON_HEADER.length);
  const table = renderTable([record]);
  assert.match(table, /champion: output0=\[0\.25,0\.75,0\.5,0\.5,\.\.\.\]/, `the table shows the binary answer's tensor:\n${table}`);
  assert.match(table, /output0=\[0\.25,0\.75,0\.5,0\.5,\.\.\.\] != \(diff 0\.0625\)/);
  assert.match(table, /output0=\[0\.25,0\.75,0\.5,0\.5,\.\.\.\] =/);
});
