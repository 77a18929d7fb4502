// Open Inference Protocol conformance on local models: the upstream example payloads that fit a local
// model, every datatype, nested and flat data, requested outputs, every error status, and the health
// and server metadata endpoints.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { echoModel, identityModel, irisModel, modelDir, sumModel } from '../helpers/onnx-models.js';

const examples = fileURLToPath(new URL('../fixtures/oip/examples/', import.meta.url));
const example = (file: string) => readFileSync(`${examples}${file}`, 'utf8');

let proxy: TestProxy;
let upstream: TestUpstream;

before(async () => {
  const dir = modelDir();
  upstream = await startUpstream();
  proxy = await startProxy({
    models: {
      'sum-model': { path: sumModel(dir), version: 'v1.2.3' },
      'sklearn-irisv2': { path: irisModel(dir) },
      identity: { path: identityModel(dir) },
      TestModel: { path: echoModel(dir) },
    },
    routes: [{ name: 'web', match: { pathPrefix: '/' }, variants: [{ name: 'origin', target: upstream.url, weight: 1 }] }],
  });
});

after(async () => {
  await proxy.close();
  await upstream.close();
});

async function call(method: string, path: string, body?: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${proxy.url}${path}`, { method, ...(body === undefined ? {} : { body, headers: { 'content-type': 'application/json' } }) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

test('02/03 MLServer sum model: the sum comes back, with and without the version, and a requested output alone', async () => {
  for (const path of ['/v2/models/sum-model/infer', '/v2/models/sum-model/versions/v1.2.3/infer']) {
    const { status, json } = await call('POST', path, example('02-mlserver-sum-model.request.json'));
    assert.equal(status, 200, JSON.stringify(json));
    assert.equal(json.model_name, 'sum-model');
    assert.equal(json.model_version, 'v1.2.3');
    const outputs = json.outputs as { name: string; data: number[]; shape: number[]; datatype: string }[];
    assert.deepEqual(outputs.map((o) => o.name), ['output-0', 'requested-output-0']);
    assert.deepEqual(outputs[0], { name: 'output-0', shape: [1], datatype: 'FP32', data: [6] });
  }
  const { status, json } = await call('POST', '/v2/models/sum-model/infer', example('03-mlserver-requested-output.request.json'));
  assert.equal(status, 200);
  const wanted = JSON.parse(example('03-mlserver-requested-output.response.json')) as { outputs: { name: string; shape: number[]; datatype: string }[] };
  const outputs = json.outputs as { name: string; shape: number[]; datatype: string; data: number[] }[];
  assert.deepEqual(outputs.map(({ name, shape, datatype }) => ({ name, shape, datatype })), wanted.outputs.map(({ name, shape, datatype }) => ({ name, shape, datatype })));
  assert.deepEqual(outputs[0]?.data, [6]);
});

test('04/05 model and server metadata have the fixtures\' fields', async () => {
  const model = await call('GET', '/v2/models/sum-model');
  const fixture = JSON.parse(example('04-mlserver-model-metadata.response.json')) as Record<string, unknown>;
  assert.deepEqual(Object.keys(model.json).sort(), Object.keys(fixture).sort());
  assert.deepEqual(model.json, {
    name: 'sum-model',
    versions: ['v1.2.3'],
    platform: 'onnx_onnxv1',
    inputs: [{ name: 'input-0', datatype: 'INT32', shape: [-1, 3] }],
    outputs: [
      { name: 'output-0', datatype: 'FP32', shape: [-1] },
      { name: 'requested-output-0', datatype: 'FP32', shape: [-1] },
    ],
  });
  const server = await call('GET', '/v2');
  assert.deepEqual(Object.keys(server.json).sort(), Object.keys(JSON.parse(example('05-mlserver-server-metadata.response.json')) as object).sort());
  assert.equal(server.json.name, 'abproxy');
});

test('06/07/01 errors: invalid datatype 400, unknown model or version 404, shape/data mismatch 400', async () => {
  const invalid = await call('POST', '/v2/models/sum-model/infer', example('06-mlserver-invalid-datatype.request.json'));
  assert.equal(invalid.status, 400);
  assert.match(String(invalid.json.error), /datatype "INT322" is not one of BOOL, UINT8/);
  // (Unknown model names go to this proxy's "/" route; the 404 for them is checked on a proxy without one below.)
  const version = await call('POST', '/v2/models/sum-model/versions/v0/infer', example('02-mlserver-sum-model.request.json'));
  assert.equal(version.status, 404);
  assert.match(String(version.json.error), /model "sum-model" has no version "v0"/);
  const spec = await call('POST', '/v2/models/sum-model/infer', example('01-oip-spec-two-inputs.request.json'));
  assert.equal(spec.status, 400, 'input1 has shape [3] but one element');
  assert.match(String(spec.json.error), /input "input1": shape \[3\] needs 3 elements, data has 1/);
});

test('08 KServe iris: nested data, answers [1, 1]; 10 parameters request echoes the data and id', async () => {
  const iris = await call('POST', '/v2/models/sklearn-irisv2/infer', example('08-kserve-sklearn-iris.request.json'));
  assert.equal(iris.status, 200, JSON.stringify(iris.json));
  assert.deepEqual(iris.json.outputs, [{ name: 'output-0', shape: [2], datatype: 'INT64', data: [1, 1] }]);
  const echo = await call('POST', '/v2/models/TestModel/infer', example('10-kserve-parameters-echo.request.json'));
  const wanted = JSON.parse(example('10-kserve-parameters-echo.response.json')) as { id: string; model_name: string; outputs: Record<string, unknown>[] };
  assert.equal(echo.status, 200);
  assert.equal(echo.json.id, wanted.id);
  assert.equal(echo.json.model_name, wanted.model_name);
  // Parameters are not echoed (the upstream test model echoes them itself); the tensor is.
  const output = { ...wanted.outputs[0] };
  delete output.parameters;
  assert.deepEqual((echo.json.outputs as unknown[])[0], output);
});

/** Three values of every datatype, for the identity model's in_DATATYPE inputs. */
const IDENTITY_VALUES: Record<string, unknown[]> = {
  BOOL: [true, false, true],
  INT8: [-128, 0, 127],
  INT16: [-32768, 1, 32767],
  INT32: [-2147483648, 2, 2147483647],
  INT64: [-9007199254740991, 3, 9007199254740991],
  UINT8: [0, 1, 255],
  UINT16: [0, 2, 65535],
  UINT32: [0, 3, 4294967295],
  UINT64: [0, 4, 9007199254740991],
  FP16: [0.5, -1.25, 65504],
  FP32: [0.5, -1.25, 3],
  FP64: [0.1, -1e300, 2.5e-300],
  BYTES: ['a', 'éé', ''],
};

/** The identity model's request with every input, `datatype`'s data replaced by `data`. */
function identityRequest(datatype: string, data: unknown[]): string {
  return JSON.stringify({ inputs: Object.entries(IDENTITY_VALUES).map(([type, values]) => ({ name: `in_${type}`, shape: [3], datatype: type, data: type === datatype ? data : values })) });
}

test('every datatype round-trips, flat and nested', async () => {
  const inputs = Object.entries(IDENTITY_VALUES).map(([datatype, data], i) => ({ name: `in_${datatype}`, shape: [3], datatype, data: i % 2 ? data : [[data[0]], [data[1], [data[2]]]] }));
  const { status, json } = await call('POST', '/v2/models/identity/infer', JSON.stringify({ inputs }));
  assert.equal(status, 200, JSON.stringify(json));
  for (const output of json.outputs as { name: string; datatype: string; shape: number[]; data: unknown[] }[]) {
    const datatype = output.name.slice('out_'.length);
    assert.equal(output.datatype, datatype);
    assert.deepEqual(output.shape, [3]);
    assert.deepEqual(output.data, IDENTITY_VALUES[datatype], datatype);
  }
});

test('out-of-range, non-integer and wrong-kind elements are 400 naming the input and element', async () => {
  const base = (datatype: string, data: unknown[]) => JSON.stringify({ inputs: [{ name: 'input-0', shape: [1, 3], datatype, data }] });
  const cases: [string, string, RegExp][] = [
    ['sum-model', base('INT32', [1, 2.5, 3]), /element 1: expected an integer/],
    ['sum-model', base('INT32', [1, 2, 2 ** 31]), /element 2: expected an integer in \[-2147483648, 2147483647\]/],
    ['sum-model', base('INT32', [1, '2', 3]), /element 1: expected a number, got "2"/],
    ['sum-model', base('INT32', [1, null, 3]), /element 1: expected a number, got null/],
    ['identity', identityRequest('FP32', [1, -1e39, 3]), /input "in_FP32" element 1: -1e\+39 is beyond FP32's range/],
    ['identity', identityRequest('FP16', [1, 2, 65520]), /input "in_FP16" element 2: 65520 is beyond FP16's range \(±65504\)/],
  ];
  for (const [model, body, message] of cases) {
    const { status, json } = await call('POST', `/v2/models/${model}/infer`, body);
    assert.equal(status, 400);
    assert.match(String(json.error), message);
  }
});

test('malformed JSON, missing or unknown inputs and unknown outputs are 400; wrong method is 405', async () => {
  const cases: [string, RegExp][] = [
    ['{"inputs": [', /malformed JSON/],
    ['[]', /must be a JSON object/],
    ['{"inputs": []}', /"inputs" must be a non-empty array/],
    [JSON.stringify({ inputs: [{ name: 'a', shape: [1, 3], datatype: 'INT32', data: [1, 2, 3] }, { name: 'b', shape: [1], datatype: 'INT32', data: [1] }] }), /unknown input "a"; the model expects "input-0" INT32 \[-1, 3\]/],
    [JSON.stringify({ inputs: [{ name: 'input-0', shape: [1, 3], datatype: 'INT32', data: [1, 2, 3] }], outputs: [{ name: 'nope' }] }), /unknown output "nope"/],
    [JSON.stringify({ inputs: [{ name: 'input-0', shape: [1, -3], datatype: 'INT32', data: [] }] }), /shape must be an array of non-negative integers/],
    [`{"inputs":[{"name":"input-0","shape":[1,1],"datatype":"INT32","data":${'['.repeat(100)}1${']'.repeat(100)}}]}`, /nested deeper than 64 levels/],
  ];
  for (const [body, message] of cases) {
    const { status, json } = await call('POST', '/v2/models/sum-model/infer', body);
    assert.equal(status, 400, body.slice(0, 80));
    assert.match(String(json.error), message);
  }
  const wrongMethod = await fetch(`${proxy.url}/v2/models/sum-model/infer`);
  assert.equal(wrongMethod.status, 405);
  assert.equal(wrongMethod.headers.get('allow'), 'POST');
  await wrongMethod.arrayBuffer();
});

test('health endpoints answer locally; paths of unknown models go to the route', async () => {
  assert.deepEqual((await call('GET', '/v2/health/live')).json, { live: true });
  assert.deepEqual((await call('GET', '/v2/health/ready')).json, { ready: true });
  assert.deepEqual((await call('GET', '/v2/models/TestModel/ready')).json, { name: 'TestModel', ready: true });
  const before = upstream.received.length;
  const other = await call('GET', '/v2/models/elsewhere');
  assert.equal(other.status, 200);
  assert.equal(upstream.received.length, before + 1, 'a model that is not local is proxied');
});

test('unknown model with no route is 404, as is a /v2/ path under a model route that is no OIP endpoint; a model not loaded yet is 503', async () => {
  const dir = modelDir();
  const local = await startProxy({
    models: { 'sum-model': { path: sumModel(dir) } },
    routes: [
      { name: 'other', match: { pathPrefix: '/other' }, variants: [{ name: 'a', target: 'model:sum-model', weight: 1 }] },
      { name: 'served', match: { pathPrefix: '/v2/models/served' }, variants: [{ name: 'a', target: 'model:sum-model', weight: 1 }] },
    ],
  });
  try {
    const notOip = await fetch(`${local.url}/v2/models/served/foo`);
    assert.equal(notOip.status, 404, 'a /v2/ path under a model route that names no endpoint');
    assert.deepEqual(await notOip.json(), { error: '/v2/models/served/foo is not an Open Inference Protocol endpoint', code: 'ABPROXY_NO_ROUTE' });
    assert.equal(((await (await fetch(`${local.url}/v2/models/served/versions/v0`)).json()) as { error: string }).error, 'model "sum-model" has no version "v0"');
    assert.equal(((await (await fetch(`${local.url}/other/anything`)).json()) as { name: string }).name, 'sum-model', 'outside /v2/ a path is the model');
    const res = await fetch(`${local.url}/v2/models/my-model/versions/v0/infer`, { method: 'POST', body: example('02-mlserver-sum-model.request.json') });
    assert.equal(res.status, 404);
    assert.ok(((await res.json()) as { error: string }).error.length > 0);
    local.proxy.models.get('sum-model')?.close();
    const notReady = await fetch(`${local.url}/v2/models/sum-model/infer`, { method: 'POST', body: example('02-mlserver-sum-model.request.json') });
    assert.equal(notReady.status, 503);
    assert.match(((await notReady.json()) as { error: string }).error, /model "sum-model" is not ready/);
    assert.equal((await fetch(`${local.url}/v2/health/ready`)).status, 503);
    const readyz = await fetch(`${local.adminUrl}/readyz`);
    assert.equal(readyz.status, 503);
    assert.match(((await readyz.json()) as { reason: string }).reason, /models not loaded: sum-model/);
  } finally {
    await local.close();
  }
});
