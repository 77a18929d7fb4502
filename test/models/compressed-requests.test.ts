// Request bodies sent compressed (Content-Encoding gzip, deflate or br, as Triton's HTTP clients can send
// them): a local model reads them as the plain body, over HTTP/1.1 and HTTP/2 and as a shadow, a `body:`
// sticky key is read through the encoding, and a body that does not decode is a 400 that says so.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:http2';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { shadowComparisonsTotal, unkeyedRequestsTotal } from '../../src/metrics/registry.js';
import { assign } from '../../src/routing/assign.js';
import { metricValue } from '../helpers/metric-value.js';
import { modelDir, sumModel } from '../helpers/onnx-models.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait-for.js';

const SUM_REQUEST = readFileSync(fileURLToPath(new URL('../fixtures/oip/examples/02-mlserver-sum-model.request.json', import.meta.url)));
const ENCODINGS: Record<string, (body: Buffer) => Buffer> = { gzip: gzipSync, deflate: deflateSync, br: brotliCompressSync };
let proxy: TestProxy;
let upstream: TestUpstream;

before(async () => {
  upstream = await startUpstream();
  proxy = await startProxy({
    http2: { listen: '127.0.0.1:0' },
    shadowLog: { path: join(mkdtempSync(join(tmpdir(), 'abproxy-compressed-')), 'shadow.jsonl') },
    models: { 'sum-model': { path: sumModel(modelDir()), version: 'v1.2.3' } },
    routes: [
      { name: 'summed', match: { pathPrefix: '/v2/models/summed' }, variants: [{ name: 'local', target: 'model:sum-model', weight: 1 }] },
      { name: 'mirrored', match: { pathPrefix: '/v2/models/mirrored' }, variants: [{ name: 'local', target: 'model:sum-model', weight: 1 }], shadows: [{ name: 'sum', target: 'model:sum-model' }] },
      {
        name: 'keyed',
        match: { pathPrefix: '/keyed' },
        sticky: [{ body: 'parameters.session_id' }],
        variants: [
          { name: 'a', target: upstream.url, weight: 50 },
          { name: 'b', target: upstream.url, weight: 50 },
        ],
      },
    ],
  });
});

after(async () => {
  await proxy.close();
  await upstream.close();
});

async function infer(body: Buffer, encoding?: string): Promise<{ status: number; json: { outputs?: { data: number[] }[]; error?: string } }> {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...(encoding ? { 'content-encoding': encoding } : {}) };
  const res = await fetch(`${proxy.url}/v2/models/sum-model/infer`, { method: 'POST', headers, body });
  return { status: res.status, json: (await res.json()) as { outputs?: { data: number[] }[]; error?: string } };
}

test('a local model reads a gzip, deflate or br body as the plain one', async () => {
  const plain = await infer(SUM_REQUEST);
  assert.equal(plain.status, 200);
  for (const [encoding, compress] of Object.entries(ENCODINGS)) {
    const answer = await infer(compress(SUM_REQUEST), encoding);
    assert.equal(answer.status, 200, `${encoding}: ${JSON.stringify(answer.json)}`);
    assert.deepEqual(answer.json.outputs?.[0]?.data, plain.json.outputs?.[0]?.data, encoding);
  }
});

test('a body that does not decode from its Content-Encoding, or a coding not read, is a 400 saying so', async () => {
  for (const encoding of ['gzip', 'zstd']) {
    const answer = await infer(SUM_REQUEST, encoding);
    assert.equal(answer.status, 400, encoding);
    assert.equal(answer.json.error, `request body could not be decoded from Content-Encoding "${encoding}" (gzip, deflate and br are read, up to maxBodyBytes decoded)`);
  }
});

test('over HTTP/2, a model: variant reads a gzip body too', async () => {
  const session = connect(`http://127.0.0.1:${proxy.proxy.http2Plane?.address.port}`);
  try {
    const stream = session.request({ ':method': 'POST', ':path': '/v2/models/summed/infer', 'content-type': 'application/json', 'content-encoding': 'gzip' });
    stream.end(gzipSync(SUM_REQUEST));
    let status = 0;
    let text = '';
    stream.on('response', (head) => (status = Number(head[':status'])));
    for await (const chunk of stream) text += String(chunk);
    assert.equal(status, 200, text);
    assert.deepEqual((JSON.parse(text) as { outputs: { data: number[] }[] }).outputs[0]?.data, [6]);
  } finally {
    session.close();
  }
});

test('a body: sticky key is read through the Content-Encoding: a compressed body gets its key\'s variant, never a random pick', async () => {
  const route = proxy.proxy.holder.current.routes.byName.get('keyed');
  assert.ok(route);
  const unkeyed = async () => (await metricValue(unkeyedRequestsTotal, { route: 'keyed' })) || 0;
  const before = await unkeyed();
  for (let i = 0; i < 20; i++) {
    const key = `session-${i}`;
    const body = Buffer.from(JSON.stringify({ parameters: { session_id: key }, inputs: [] }));
    for (const [encoding, compress] of Object.entries(ENCODINGS)) {
      const res = await fetch(`${proxy.url}/keyed/infer`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': encoding }, body: compress(body) });
      await res.arrayBuffer();
      assert.equal(res.headers.get('x-abproxy-variant'), assign(route, key, undefined).variant.name, `${key} ${encoding}`);
    }
  }
  assert.equal((await unkeyed()) - before, 0);
  const forwarded = upstream.received.at(-1);
  assert.equal(forwarded?.headers['content-encoding'], 'br', 'the body goes upstream as sent');
});

test('a model: shadow reads the compressed body as its primary does: the two answers match', async () => {
  const match = async () => (await metricValue(shadowComparisonsTotal, { route: 'mirrored', shadow: 'sum', result: 'match' })) || 0;
  const res = await fetch(`${proxy.url}/v2/models/mirrored/infer`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: gzipSync(SUM_REQUEST) });
  assert.equal(res.status, 200);
  await res.arrayBuffer();
  await waitFor(async () => (await match()) === 1, 'the shadow answer compared equal', 5_000);
  assert.equal((await metricValue(shadowComparisonsTotal, { route: 'mirrored', shadow: 'sum', result: 'mismatch' })) || 0, 0);
});
