// The CLI as users run it: `validate` lists every problem with its path and exits 1; unusable flags are
// refused with what they take; `assign` prints the variant a key gets; two separately spawned `serve`
// processes from one config file agree on every key.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, spawnServe, type ServeProcess } from '../helpers/cli.js';
import { writeConfig } from '../helpers/proxy.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { mapLimit, testClient } from '../helpers/client.js';
import { configSchema, type ConfigInput } from '../../src/config/schema.js';
import { RouteTable } from '../../src/routing/route-table.js';
import { variantForKey } from '../../src/routing/assign.js';

let upstream: TestUpstream;
let config: Pick<ConfigInput, 'routes'>;
let configPath: string;
const spawned: ServeProcess[] = [];

before(async () => {
  upstream = await startUpstream();
  config = {
    routes: [
      {
        name: 'fraud',
        match: { pathPrefix: '/v2/models/fraud' },
        sticky: [{ header: 'x-session-id' }],
        variants: [
          { name: 'a', target: upstream.url, weight: 70 },
          { name: 'b', target: `${upstream.url}/b`, weight: 10 },
          { name: 'c', target: `${upstream.url}/c`, weight: 20 },
        ],
        weightHistory: [{ a: 80, b: 10, c: 10 }],
      },
    ],
  };
  configPath = writeConfig(config);
});

after(async () => {
  for (const child of spawned) child.kill();
  await upstream.close();
});

function expected(key: string): string {
  const route = new RouteTable(configSchema.parse({ listen: '127.0.0.1:0', admin: '127.0.0.1:0', ...config })).byName.get('fraud');
  assert.ok(route);
  return variantForKey(route, key).name;
}

test('validate: a file with three distinct mistakes prints all three with their paths and exits 1', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'abproxy-cli-'));
  const bad = join(dir, 'bad.yaml');
  writeFileSync(
    bad,
    [
      'listen: 127.0.0.1:8080',
      'routes:',
      '  - name: fraud',
      '    match: { pathPrefix: /v2/models/fraud }',
      '    colour: blue',
      '    variants:',
      '      - { name: champion, target: "ftp://127.0.0.1:9001", weight: 90 }',
      '      - { name: challenger, target: "http://127.0.0.1:9002", weight: -10 }',
      '',
    ].join('\n'),
  );
  const [result, good] = await Promise.all([runCli(['validate', '-c', bad]), runCli(['validate', '-c', configPath])]);
  assert.equal(result.code, 1, result.stderr);
  const out = result.stdout + result.stderr;
  assert.match(out, /3 problems/);
  assert.match(out, /routes\[0\]: unknown key "colour"/);
  assert.match(out, /routes\[0\]\.variants\[0\]\.target: .*ftp/);
  assert.match(out, /routes\[0\]\.variants\[1\]\.weight: must be >= 0/);

  assert.equal(good.code, 0, good.stderr);
  assert.match(good.stdout, /ok/);
});

test('flags that cannot be used are refused with what they take, before anything starts or is asked', async () => {
  const [drain, negative, notUrl, hostPort] = await Promise.all([
    runCli(['serve', '--drain-ms', 'abc', '-c', configPath]),
    runCli(['serve', '--drain-ms', '-1', '-c', configPath]),
    runCli(['status', '--admin', 'notaurl']),
    runCli(['weights', 'fraud', 'a=1', '--admin', '127.0.0.1:9901']),
  ]);
  for (const result of [drain, negative]) {
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /--drain-ms <ms>' argument '-?\w+' is invalid\. must be a whole number of milliseconds/);
  }
  assert.equal(notUrl.code, 1);
  assert.equal(notUrl.stderr, 'abproxy: --admin "notaurl" is not an http(s) URL such as http://127.0.0.1:9901\n', 'said, not a stack trace');
  assert.equal(hostPort.code, 1);
  assert.match(hostPort.stderr, /--admin "127\.0\.0\.1:9901" is not an http\(s\) URL/);
});

test('assign prints the variant a key gets, as the assignment function does', async () => {
  const [plain, asJson, missing, empty] = await Promise.all([
    runCli(['assign', 'fraud', 'user-7', '-c', configPath]),
    runCli(['assign', 'fraud', 'user-42', '-c', configPath, '--json']),
    runCli(['assign', 'nope', 'k', '-c', configPath]),
    runCli(['assign', 'fraud', '', '-c', configPath]),
  ]);
  assert.equal(plain.code, 0, plain.stderr);
  assert.equal(plain.stdout, `${expected('user-7')}\n`);
  const parsed = JSON.parse(asJson.stdout) as { route: string; key: string; slot: number; variant: string };
  assert.deepEqual({ route: parsed.route, key: parsed.key, variant: parsed.variant }, { route: 'fraud', key: 'user-42', variant: expected('user-42') });
  assert.ok(Number.isInteger(parsed.slot) && parsed.slot >= 0 && parsed.slot < 10_000);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no route named "nope"/);
  assert.equal(empty.code, 1, 'an empty key gets no variant: the data plane assigns it at random');
  assert.match(empty.stderr, /an empty key is no key/);
});

test('two separately spawned serve processes from the same config file agree on every key', async () => {
  const [first, second] = await Promise.all([spawnServe(configPath), spawnServe(configPath)]);
  assert.ok(first && second);
  spawned.push(first, second);
  assert.notEqual(first.port, second.port);
  const keys = Array.from({ length: 1_000 }, (_v, i) => `agree-${i}`);
  const ask = async (port: number) => {
    const client = testClient(`http://127.0.0.1:${port}`, 8);
    try {
      return await mapLimit(keys, 8, async (key) => String((await client.send('GET', '/v2/models/fraud/infer', { 'x-session-id': key })).headers['x-abproxy-variant']));
    } finally {
      await client.close();
    }
  };
  const [fromFirst, fromSecond] = await Promise.all([ask(first.port), ask(second.port)]);
  keys.forEach((key, i) => {
    assert.equal(fromFirst[i], fromSecond[i], `processes disagree on ${key}`);
    assert.equal(fromFirst[i], expected(key), key);
  });
  assert.equal(new Set(fromFirst).size, 3, 'all three variants seen');
  for (const child of [first, second]) child.child.kill('SIGTERM');
  for (const child of [first, second]) assert.equal(await child.exited, 0, child.output());
});
