// Shadow comparison on the Wallaroo credit-card-fraud models served in-process: a keras champion with
// xgboost and modelA shadows whose input and output tensors are named differently. The smoke-test input
// gives 0.00149742, 0.00050670 and 1.0, recorded as mismatches with their differences; also a remote
// champion with a local shadow and the reverse. `abproxy shadow-log` shows the three outputs side by side.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { shadowComparisonsTotal, shadowRequestsTotal } from '../../src/metrics/registry.js';
import type { ShadowLogRecord } from '../../src/shadow/log-record.js';
import { startProxy } from '../helpers/proxy.js';
import { startUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/load.js';
import { metricValue } from '../helpers/metric-value.js';

const FIXTURE = 'test/fixtures/wallaroo-ccfraud';
const smoke = JSON.parse(readFileSync(join(FIXTURE, 'data/smoke_test.json'), 'utf8')) as { tensor: number[][] };
const expected = JSON.parse(readFileSync(join(FIXTURE, 'expected_outputs.json'), 'utf8')) as { outputs: Record<string, Record<string, number[]>> };
const want = (model: string) => expected.outputs[model]?.['data/smoke_test.json']?.[0] ?? NaN;
/** The smoke-test row as an OIP request; the input is named `tensor`, as in the tutorial, so it binds by position. */
const REQUEST = JSON.stringify({ inputs: [{ name: 'tensor', shape: [1, 29], datatype: 'FP32', data: smoke.tensor }] });
const close = (a: number, b: number) => Math.abs(a - b) <= 1e-5 * Math.max(Math.abs(a), Math.abs(b));

test('keras champion, xgboost and modelA shadows: the smoke test is logged as two mismatches with their differences', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'abproxy-fraud-'));
  const logPath = join(dir, 'shadow.jsonl');
  const remote = await startUpstream((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ model_name: 'remote-keras', outputs: [{ name: 'dense_1', shape: [1, 1], datatype: 'FP32', data: [want('keras_ccfraud.onnx')] }] }));
  });
  const proxy = await startProxy({
    shadowLog: { path: logPath, maxBytes: 1_048_576 },
    models: {
      'ccfraud-keras': { path: join(FIXTURE, 'models/keras_ccfraud.onnx') },
      'ccfraud-xgb': { path: join(FIXTURE, 'models/xgboost_ccfraud.onnx') },
      'ccfraud-rf': { path: join(FIXTURE, 'models/modelA.onnx') },
    },
    routes: [
      {
        name: 'ccfraud',
        match: { pathPrefix: '/v2/models/ccfraud' },
        variants: [{ name: 'champion', target: 'model:ccfraud-keras', weight: 1 }],
        shadows: [
          { name: 'xgb', target: 'model:ccfraud-xgb' },
          { name: 'rf', target: 'model:ccfraud-rf' },
        ],
      },
      {
        name: 'ccfraud-http-shadow',
        match: { pathPrefix: '/v2/models/local' },
        variants: [{ name: 'champion', target: 'model:ccfraud-keras', weight: 1 }],
        shadows: [{ name: 'remote-keras', target: remote.url }],
      },
      {
        name: 'ccfraud-remote',
        match: { pathPrefix: '/v2/models/remote' },
        variants: [{ name: 'champion', target: remote.url, weight: 1 }],
        shadows: [{ name: 'local-keras', target: 'model:ccfraud-keras', tolerance: 1e-6 }],
      },
    ],
  });
  t.after(async () => {
    await proxy.close();
    await remote.close();
  });

  const res = await fetch(`${proxy.url}/v2/models/ccfraud/infer`, { method: 'POST', body: REQUEST, headers: { 'content-type': 'application/json', 'x-request-id': 'smoke-1' } });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('x-abproxy-variant'), 'champion');
  const answer = (await res.json()) as { outputs: { name: string; data: number[] }[] };
  assert.equal(answer.outputs[0]?.name, 'dense_1');
  assert.ok(close(answer.outputs[0]?.data[0] ?? NaN, 0.00149741769), `champion ${answer.outputs[0]?.data[0]}`);

  assert.ok(await waitFor(() => proxy.proxy.shadows.log?.written === 1, 15_000), 'the comparison was logged');
  const record = JSON.parse(readFileSync(logPath, 'utf8').trim()) as ShadowLogRecord;
  assert.equal(record.requestId, 'smoke-1');
  const shadows = new Map(record.shadows.map((s) => [s.name, s]));
  const value = (output: unknown) => (output as { json?: { outputs?: { data: number[] }[] } } | undefined)?.json?.outputs?.[0]?.data.flat()[0] ?? NaN;
  assert.ok(close(value(record.primary.output), 0.00149741769));
  assert.ok(close(value(shadows.get('xgb')?.output), 0.000506699085), `xgboost ${value(shadows.get('xgb')?.output)}`);
  assert.equal(value(shadows.get('rf')?.output), 1);
  const xgb = shadows.get('xgb')?.comparison;
  const rf = shadows.get('rf')?.comparison;
  assert.equal(xgb?.result, 'mismatch');
  assert.equal(rf?.result, 'mismatch');
  assert.deepEqual(xgb?.tensors?.map((x) => [x.primary, x.shadow]), [['dense_1', 'variable']], 'outputs pair by position');
  assert.ok(close(xgb?.maxAbsDiff ?? NaN, 0.00149741769 - 0.000506699085), `xgboost difference ${xgb?.maxAbsDiff}`);
  assert.ok(close(rf?.maxAbsDiff ?? NaN, 1 - 0.00149741769), `modelA difference ${rf?.maxAbsDiff}`);
  assert.equal(await metricValue(shadowComparisonsTotal, { route: 'ccfraud', shadow: 'xgb', result: 'mismatch' }), 1);
  assert.equal(await metricValue(shadowComparisonsTotal, { route: 'ccfraud', shadow: 'rf', result: 'mismatch' }), 1);
  assert.equal(await metricValue(shadowRequestsTotal, { route: 'ccfraud', shadow: 'xgb', outcome: 'ok' }), 1);

  // `abproxy shadow-log` shows the three outputs side by side.
  const cli = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'shadow-log', 'ccfraud', '-c', proxy.configPath]);
  const [header, row] = cli.stdout.trimEnd().split('\n');
  assert.match(header ?? '', /PRIMARY\s+XGB\s+RF\s+MATCH/);
  assert.match(row ?? '', /champion: dense_1=0\.00149742\s+variable=0\.000506699 != \(diff 0\.000990719\)\s+variable=1 != \(diff 0\.998503\)\s+0\/2/);

  // A remote champion with a local shadow, and the reverse, answering the same value: matches.
  for (const prefix of ['remote', 'local']) {
    const other = await fetch(`${proxy.url}/v2/models/${prefix}/infer`, { method: 'POST', body: REQUEST, headers: { 'content-type': 'application/json' } });
    assert.equal(other.status, 200);
    await other.text();
  }
  assert.ok(await waitFor(() => proxy.proxy.shadows.log?.written === 3, 15_000));
  assert.equal(await metricValue(shadowComparisonsTotal, { route: 'ccfraud-remote', shadow: 'local-keras', result: 'match' }), 1);
  assert.equal(await metricValue(shadowComparisonsTotal, { route: 'ccfraud-http-shadow', shadow: 'remote-keras', result: 'match' }), 1);
});
