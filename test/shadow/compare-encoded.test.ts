// Shadow comparison of compressed answers (Content-Encoding gzip, deflate, br, as Triton and gzip
// middlewares send when the client accepts them): answers compare by content after decoding, a body that
// does not decode is incomparable (never a false mismatch), and through the proxy the client still gets
// the compressed bytes while the log and `abproxy shadow-log` show the decoded tensors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import type { Answer } from '../../src/shadow/answer.js';
import { compareAnswers } from '../../src/shadow/compare.js';
import { decodedBody } from '../../src/http/content-decoding.js';
import type { ShadowLogRecord } from '../../src/shadow/log-record.js';
import { renderTable } from '../../src/shadow/log-table.js';
import { startProxy } from '../helpers/proxy.js';
import { startUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/load.js';

const ANSWER = JSON.stringify({ model_name: 'iris', outputs: [{ name: 'predict', shape: [2], datatype: 'FP32', data: [0.125, 0.875] }] });
const SHIFTED = JSON.stringify({ model_name: 'iris', outputs: [{ name: 'predict', shape: [2], datatype: 'FP32', data: [0.25, 0.875] }] });

const answer = (body: Buffer, contentEncoding?: string): Answer => ({ status: 200, body, truncated: false, contentType: 'application/json', contentEncoding });

test('gzip, deflate (zlib or raw) and br answers compare by their decoded content', () => {
  const plain = answer(Buffer.from(ANSWER));
  const encodings: [string, Buffer][] = [
    ['gzip', gzipSync(ANSWER)],
    ['x-gzip', gzipSync(ANSWER)],
    ['deflate', deflateSync(ANSWER)],
    ['deflate', deflateRawSync(ANSWER)],
    ['br', brotliCompressSync(ANSWER)],
    ['GZIP ', gzipSync(ANSWER)],
  ];
  for (const [coding, body] of encodings) {
    const comparison = compareAnswers(answer(body, coding), plain, 1e-6);
    assert.deepEqual([comparison.kind, comparison.result], ['oip', 'match'], coding);
  }
  const shifted = compareAnswers(answer(gzipSync(ANSWER), 'gzip'), answer(brotliCompressSync(SHIFTED), 'br'), 1e-6);
  assert.deepEqual([shifted.kind, shifted.result, shifted.maxAbsDiff], ['oip', 'mismatch', 0.125]);
  const text = compareAnswers({ ...answer(gzipSync('same text'), 'gzip'), contentType: 'text/plain' }, { ...answer(Buffer.from('same text')), contentType: 'text/plain' }, 0);
  assert.deepEqual([text.kind, text.result], ['bytes', 'match'], 'non-JSON bodies compare decoded bytes');
});

test('a body that does not decode is incomparable, and decoding is bounded', () => {
  const broken = compareAnswers(answer(Buffer.from('not gzip at all'), 'gzip'), answer(Buffer.from(ANSWER)), 0);
  assert.deepEqual([broken.result, broken.reason], ['incomparable', 'the primary body could not be decoded (Content-Encoding: gzip)']);
  const stacked = compareAnswers(answer(Buffer.from(ANSWER)), answer(gzipSync(gzipSync(ANSWER)), 'gzip, gzip'), 0);
  assert.deepEqual([stacked.result, stacked.reason], ['incomparable', 'the shadow body could not be decoded (Content-Encoding: gzip, gzip)']);
  const bomb = gzipSync(Buffer.alloc(1_000_000));
  assert.ok(bomb.length < 2_000);
  assert.equal(decodedBody(bomb, 'gzip', 100_000), undefined, 'a million zeros do not decode past a 100 000-byte bound');
  assert.equal(decodedBody(bomb, 'gzip')?.length, 1_000_000);
  assert.equal(decodedBody(Buffer.from('x'), 'identity')?.toString(), 'x');
});

test('through the proxy: the client gets the gzip bytes, the comparison and the table read the content', async (t) => {
  const champion = await startUpstream((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    res.end(gzipSync(ANSWER));
  });
  const shadow = await startUpstream((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(SHIFTED);
  });
  const path = join(mkdtempSync(join(tmpdir(), 'abproxy-encoded-')), 'shadow.jsonl');
  const proxy = await startProxy({
    shadowLog: { path, maxBytes: 1_048_576 },
    routes: [{ name: 'iris', match: { pathPrefix: '/v2/models/iris' }, variants: [{ name: 'champion', target: champion.url, weight: 1 }], shadows: [{ name: 'candidate', target: shadow.url }] }],
  });
  t.after(async () => {
    await proxy.close();
    await Promise.all([champion.close(), shadow.close()]);
  });
  const res = await fetch(`${proxy.url}/v2/models/iris/infer`, { method: 'POST', body: '{"inputs":[]}', headers: { 'accept-encoding': 'gzip' } });
  assert.equal(res.headers.get('content-encoding'), 'gzip');
  assert.equal(await res.text(), ANSWER, 'the client decodes the gzip bytes the champion sent');
  assert.ok(await waitFor(() => shadow.received.length === 1, 5_000));
  assert.equal(shadow.received[0]?.headers['accept-encoding'], 'gzip', 'the copy carries the client\'s Accept-Encoding');
  assert.ok(await waitFor(() => proxy.proxy.shadows.log?.written === 1, 5_000));
  const record = JSON.parse(readFileSync(path, 'utf8')) as ShadowLogRecord;
  assert.deepEqual([record.shadows[0]?.comparison?.kind, record.shadows[0]?.comparison?.result, record.shadows[0]?.comparison?.maxAbsDiff], ['oip', 'mismatch', 0.125]);
  assert.equal(record.primary.output?.contentEncoding, 'gzip');
  assert.deepEqual(Buffer.from(record.primary.output?.base64 ?? '', 'base64'), gzipSync(ANSWER), 'logged as received');
  assert.match(renderTable([record]), /champion: predict=\[0\.125,0\.875\]\s+predict=\[0\.25,0\.875\] != \(diff 0\.125\)/);
});
