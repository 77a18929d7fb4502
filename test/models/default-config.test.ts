// The embedded default config/abproxy.yaml runs a self-contained experiment: the README's request
// (config/example-request.json, key user-42) is scored by the champion, 1 000 distinct keys split 90/10
// within 3 points, and a gRPC ModelInfer call of model "fraud" gets the same variant and score.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { ConfigInput } from '../../src/config/schema.js';
import { grpcClient, modelInfer } from '../helpers/grpc-upstream.js';
import { startProxy } from '../helpers/proxy.js';

const config = parse(readFileSync(new URL('../../config/abproxy.yaml', import.meta.url), 'utf8')) as ConfigInput;
const README_REQUEST = readFileSync(new URL('../../config/example-request.json', import.meta.url), 'utf8');

function transaction(sessionId?: string): string {
  const data = Array.from({ length: 29 }, (_, i) => Math.sin(i + 1));
  return JSON.stringify({ ...(sessionId ? { parameters: { session_id: sessionId } } : {}), inputs: [{ name: 'transaction', shape: [1, 29], datatype: 'FP32', data }] });
}

test('the default config scores a transaction, splits 1 000 keys 90/10 and keeps body and header keys sticky', async () => {
  assert.equal(config.listen, '127.0.0.1:8080');
  assert.equal(config.admin, '127.0.0.1:9901');
  assert.equal(config.http2?.listen, '127.0.0.1:8081');
  const proxy = await startProxy({ ...config, listen: '127.0.0.1:0', http2: { listen: '127.0.0.1:0' }, admin: '127.0.0.1:0' });
  const grpc = grpcClient(`127.0.0.1:${proxy.proxy.http2Plane?.address.port}`);
  try {
    const res = await fetch(`${proxy.url}/v2/models/fraud/infer`, { method: 'POST', headers: { 'x-session-id': 'user-42', 'content-type': 'application/json' }, body: README_REQUEST });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-abproxy-variant'), 'champion');
    const json = (await res.json()) as { model_name: string; outputs: { name: string; data: number[] }[] };
    assert.equal(json.model_name, 'fraud-a');
    assert.equal(json.outputs[0]?.name, 'fraud_probability');
    const score = json.outputs[0]?.data[0] ?? NaN;
    assert.ok(score > 0 && score < 1, `a probability: ${score}`);

    const [input] = (JSON.parse(README_REQUEST) as { inputs: { name: string; shape: number[]; datatype: string; data: number[] }[] }).inputs;
    assert.ok(input);
    const call = { model_name: 'fraud', id: 'g', inputs: [{ name: input.name, datatype: input.datatype, shape: input.shape, contents: { fp32_contents: input.data.flat() } }] };
    const { response, headers } = await modelInfer(grpc, call, { 'x-session-id': 'user-42' });
    assert.deepEqual(headers.get('x-abproxy-variant'), ['champion']);
    assert.equal(response.model_name, 'fraud-a');
    assert.ok(Math.abs((response.raw_output_contents?.[0]?.readFloatLE(0) ?? NaN) - score) < 1e-6, 'the gRPC call gets the REST score');

    const counts = { champion: 0, challenger: 0 } as Record<string, number>;
    for (let batch = 0; batch < 1000; batch += 50) {
      const answers = await Promise.all(
        Array.from({ length: 50 }, async (_, i) => {
          const r = await fetch(`${proxy.url}/v2/models/fraud/infer`, { method: 'POST', headers: { 'x-session-id': `session-${batch + i}` }, body: transaction() });
          await r.arrayBuffer();
          assert.equal(r.status, 200);
          return r.headers.get('x-abproxy-variant') ?? '';
        }),
      );
      for (const name of answers) counts[name] = (counts[name] ?? 0) + 1;
    }
    const share = (counts.champion ?? 0) / 1000;
    assert.ok(Math.abs(share - 0.9) <= 0.03, `champion share ${share}`);

    for (const key of ['session-1', 'session-2', 'session-3']) {
      const byHeader = await fetch(`${proxy.url}/v2/models/fraud/infer`, { method: 'POST', headers: { 'x-session-id': key }, body: transaction() });
      const byBody = await fetch(`${proxy.url}/v2/models/fraud/infer`, { method: 'POST', body: transaction(key) });
      await Promise.all([byHeader.arrayBuffer(), byBody.arrayBuffer()]);
      assert.equal(byBody.headers.get('x-abproxy-variant'), byHeader.headers.get('x-abproxy-variant'), `${key} lands on one variant either way`);
    }
  } finally {
    grpc.close();
    await proxy.close();
  }
});
