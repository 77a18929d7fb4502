// The config of HTTP/2 and gRPC: the `http2` listener and a variant's or shadow's `grpcTarget` are
// validated with their paths, and every route compiles each variant's gRPC target (its own, or `target`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, parseConfigText } from '../../src/config/load.js';
import { RouteTable } from '../../src/routing/route-table.js';

const config = (lines: string[]) => lines.join('\n');

test('a bad http2 listener and a grpcTarget naming a local model are listed with their paths', () => {
  const text = config([
    'http2: { listen: nowhere, maxConcurrentStreams: 0 }',
    'routes:',
    '  - name: fraud',
    '    match: { pathPrefix: /v2/models/fraud }',
    '    variants:',
    '      - { name: champion, target: "http://127.0.0.1:8000", grpcTarget: "model:fraud-a", weight: 1 }',
    '    shadows:',
    '      - { name: candidate, target: "http://127.0.0.1:9000", grpcTarget: "ftp://127.0.0.1:9001" }',
  ]);
  assert.throws(() => parseConfigText(text, 'abproxy.yaml'), (error: ConfigError) => {
    const problems = error.problems.join('\n');
    assert.match(problems, /^http2\.listen: /m);
    assert.match(problems, /^http2\.maxConcurrentStreams: /m);
    assert.match(problems, /^routes\[0\]\.variants\[0\]\.grpcTarget: a local model answers gRPC calls through `target`/m);
    assert.match(problems, /^routes\[0\]\.shadows\[0\]\.grpcTarget: .*ftp/m);
    assert.equal(error.problems.length, 4, problems);
    return true;
  });
});

test('each variant and shadow gets its gRPC target: its own grpcTarget, else its target', () => {
  const parsed = parseConfigText(
    config([
      'http2: { listen: "127.0.0.1:8081" }',
      'routes:',
      '  - name: fraud',
      '    match: { pathPrefix: /v2/models/fraud }',
      '    variants:',
      '      - { name: triton, target: "http://triton:8000", grpcTarget: "http://triton:8001", weight: 1 }',
      '      - { name: local, target: "model:fraud-a", weight: 1 }',
      '    shadows:',
      '      - { name: kserve, target: "http://kserve:8080" }',
      'models:',
      '  fraud-a: { path: models/fraud-a.onnx }',
    ]),
    'abproxy.yaml',
  );
  assert.equal(parsed.http2?.maxConcurrentStreams, 100);
  const route = new RouteTable(parsed).byName.get('fraud');
  assert.deepEqual(route?.variants.map((v) => v.grpcTarget), [{ kind: 'http', origin: 'http://triton:8001', basePath: '' }, { kind: 'model', model: 'fraud-a' }]);
  assert.deepEqual(route?.shadows.map((s) => s.grpcTarget), [{ kind: 'http', origin: 'http://kserve:8080', basePath: '' }]);
});
