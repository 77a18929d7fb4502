// The shadow log: size-bounded rotation, drops counted (never blocking) when the disk falls behind or
// fails, and the records the proxy writes for mirrored requests, compared with each shadow's settings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readFileSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfigText } from '../../src/config/load.js';
import { shadowLogRecordsTotal } from '../../src/metrics/registry.js';
import { ShadowLog } from '../../src/shadow/shadow-log.js';
import { ShadowThread } from '../../src/shadow/shadow-thread.js';
import { recordShadowLog, zeroShadowLogSeries } from '../../src/shadow/shadow-metrics.js';
import type { ShadowLogRecord } from '../../src/shadow/log-record.js';
import { startProxy } from '../helpers/proxy.js';
import { startUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/load.js';
import { metricValue } from '../helpers/metric-value.js';

const tempDir = () => mkdtempSync(join(tmpdir(), 'abproxy-shadow-log-'));
const lines = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : []);

test('rotates at half of maxBytes into PATH.1, so both files together stay under maxBytes', async () => {
  const path = join(tempDir(), 'shadow.jsonl');
  const log = new ShadowLog({ path, maxBytes: 4096, maxQueueBytes: 64 * 1024 });
  for (let i = 0; i < 200; i++) log.append(JSON.stringify({ i, pad: 'x'.repeat(80) }));
  await log.close();
  assert.equal(log.written + log.dropped, 200);
  assert.equal(log.dropped, 0);
  assert.ok(statSync(path).size <= 2048, `live file ${statSync(path).size} bytes`);
  assert.ok(statSync(`${path}.1`).size <= 2048, `rotated file ${statSync(`${path}.1`).size} bytes`);
  const live = lines(path).map((l) => JSON.parse(l) as { i: number });
  const rotated = lines(`${path}.1`).map((l) => JSON.parse(l) as { i: number });
  assert.equal(live.at(-1)?.i, 199, 'the newest record is last in the live file');
  assert.equal(rotated.at(-1)?.i, (live[0]?.i ?? 0) - 1, 'the rotated file ends where the live one starts');
});

test('lines are written byte for byte as UTF-8, whatever their characters and sizes (one larger than the queue takes at a time)', async () => {
  const path = join(tempDir(), 'shadow.jsonl');
  const log = new ShadowLog({ path, maxBytes: 100 * 1024 * 1024 });
  const records = [
    JSON.stringify({ text: 'é€𝄞 \u2028 ok' }),
    JSON.stringify({ big: 'ü'.repeat(300 * 1024) }),
    ...Array.from({ length: 3_000 }, (_, i) => JSON.stringify({ i, text: i % 2 ? '数据' : 'data' })),
  ];
  for (const record of records) assert.equal(log.append(record), true);
  await log.close();
  assert.equal(log.written, records.length);
  assert.equal(readFileSync(path, 'utf8'), `${records.join('\n')}\n`);
});

test('lines appended while earlier ones are being written follow them in order, across many write windows', async () => {
  const path = join(tempDir(), 'shadow.jsonl');
  const log = new ShadowLog({ path, maxBytes: 100 * 1024 * 1024, batchMs: 1 });
  const records: string[] = [];
  for (let round = 0; round < 20; round++) {
    for (let i = 0; i < 50; i++) records.push(JSON.stringify({ round, i, pad: 'q'.repeat((round * 37 + i * 11) % 3000) }));
    for (const record of records.slice(-50)) assert.equal(log.append(record), true);
    await new Promise((resolve) => setTimeout(resolve, round % 3));
  }
  await log.close();
  assert.equal(log.written, records.length);
  assert.equal(readFileSync(path, 'utf8'), `${records.join('\n')}\n`);
});

test('never blocks: a burst larger than the queue is dropped and counted, the rest written', async () => {
  const path = join(tempDir(), 'shadow.jsonl');
  zeroShadowLogSeries();
  const before = await metricValue(shadowLogRecordsTotal, { result: 'dropped' });
  const log = new ShadowLog({ path, maxBytes: 100 * 1024 * 1024, maxQueueBytes: 16 * 1024, onCount: recordShadowLog });
  let accepted = 0;
  for (let i = 0; i < 2_000; i++) if (log.append(JSON.stringify({ i, pad: 'y'.repeat(200) }))) accepted++;
  // Appends return at once; the disk gets at most maxQueueBytes of them at a time.
  assert.ok(accepted < 2_000, 'part of the burst was dropped');
  assert.ok(accepted >= 16 * 1024 / 240 - 1, `accepted ${accepted}`);
  await log.close();
  assert.equal(log.written, accepted);
  assert.equal(log.dropped, 2_000 - accepted);
  assert.equal(lines(path).length, accepted);
  assert.equal((await metricValue(shadowLogRecordsTotal, { result: 'dropped' })) - before, 2_000 - accepted);
});

test('the shadow thread: a burst beyond maxPendingBytes is dropped and counted at once; the worker writes the rest as records', async () => {
  const path = join(tempDir(), 'shadow.jsonl');
  const errors: Error[] = [];
  const { limits } = parseConfigText('routes: [{ name: r, match: { pathPrefix: /r }, variants: [{ name: c, target: "http://127.0.0.1:1", weight: 1 }] }]', 'inline.yaml');
  const thread = new ShadowThread({ path, maxBytes: 100 * 1024 * 1024, limits, maxPendingBytes: 64 * 1024, yieldCpu: false, onError: (e) => errors.push(e) });
  const body = Buffer.from(JSON.stringify({ inputs: [{ name: 'x', shape: [1], datatype: 'BYTES', data: ['p'.repeat(1000)] }] }));
  let accepted = 0;
  for (let i = 0; i < 2_000; i++) {
    const input = { route: 'r', requestId: `q${i}`, key: undefined, variant: 'c', method: 'POST', path: '/r', body, primary: { status: 200, answer: undefined, latencyMs: 1 }, shadows: [], captureBodies: true };
    if (thread.append(input)) accepted++;
  }
  assert.ok(accepted > 0 && accepted < 2_000, `accepted ${accepted}`);
  assert.equal(thread.dropped, 2_000 - accepted, 'dropped records are counted at once');
  await thread.close();
  assert.deepEqual(errors, []);
  assert.equal(thread.written, accepted);
  const written = lines(path).map((l) => JSON.parse(l) as ShadowLogRecord);
  assert.deepEqual(written.map((r) => r.requestId), Array.from({ length: accepted }, (_, i) => `q${i}`));
  assert.deepEqual(written[0]?.input.body?.json, JSON.parse(body.toString()));
  assert.equal(thread.append({ route: 'r', requestId: 'late', key: undefined, variant: 'c', method: 'GET', path: '/r', body: undefined, primary: { status: 200, answer: undefined, latencyMs: 1 }, shadows: [], captureBodies: true }), false, 'closed');
});

test('the shadow thread: a batch holding an eighth of maxPendingBytes leaves at once instead of waiting out its window', async () => {
  const path = join(tempDir(), 'shadow.jsonl');
  const { limits } = parseConfigText('routes: [{ name: r, match: { pathPrefix: /r }, variants: [{ name: c, target: "http://127.0.0.1:1", weight: 1 }] }]', 'inline.yaml');
  const thread = new ShadowThread({ path, maxBytes: 100 * 1024 * 1024, limits, maxPendingBytes: 64 * 1024, batchMs: 600_000, yieldCpu: false, onError: () => undefined });
  await thread.ready();
  const body = Buffer.from(JSON.stringify({ text: 'p'.repeat(8 * 1024) }));
  const input = { route: 'r', requestId: 'big', key: undefined, variant: 'c', method: 'POST', path: '/r', body, primary: { status: 200, answer: undefined, latencyMs: 1 }, shadows: [], captureBodies: true };
  assert.equal(thread.append(input), true);
  assert.ok(await waitFor(() => thread.written === 1, 10_000), 'written long before the ten-minute window');
  assert.deepEqual(lines(path).map((l) => (JSON.parse(l) as ShadowLogRecord).requestId), ['big']);
  await thread.close();
});

test('a write that fails drops and counts its records and reports the error; a record over the bound is dropped', async () => {
  const dir = tempDir();
  const file = join(dir, 'not-a-dir');
  writeFileSync(file, '');
  const errors: Error[] = [];
  const log = new ShadowLog({ path: join(file, 'shadow.jsonl'), maxBytes: 4096, onError: (e) => errors.push(e) });
  assert.equal(log.append('{"a":1}'), true);
  assert.equal(log.append(JSON.stringify({ big: 'z'.repeat(4096) })), false, 'larger than a file segment');
  assert.ok(await waitFor(() => errors.length === 1, 5_000));
  await log.close();
  assert.equal(log.dropped, 2);
  assert.equal(log.written, 0);
  assert.equal(log.append('{"a":2}'), false, 'closed');
});

test('a directory that cannot be made fails at once, also where the file system answers ENOENT for a child of a directory that exists (procfs)', { skip: !existsSync('/proc/self') && 'no procfs' }, async () => {
  const errors: Error[] = [];
  const log = new ShadowLog({ path: '/proc/abproxy-none/logs/shadow.jsonl', maxBytes: 4096, onError: (e) => errors.push(e) });
  log.append('{"a":1}');
  assert.ok(await waitFor(() => errors.length === 1, 5_000), 'the error is reported (a recursive mkdir here never returns)');
  assert.match(errors[0]?.message ?? '', /ENOENT.*\/proc\/abproxy-none/);
  await log.close();
  assert.deepEqual([log.written, log.dropped], [0, 1]);
  const made = join(tempDir(), 'a', 'b', 'c', 'shadow.jsonl');
  const fresh = new ShadowLog({ path: made, maxBytes: 4096 });
  fresh.append('{"a":2}');
  await fresh.close();
  assert.deepEqual(lines(made), ['{"a":2}'], 'missing parents are made');
});

test('a last line cut short (a crash mid-write) is ended before the first new record, which stays whole', async () => {
  const path = join(tempDir(), 'shadow.jsonl');
  writeFileSync(path, '{"a":1}\n{"cut":"sho');
  const log = new ShadowLog({ path, maxBytes: 4096 });
  log.append('{"a":2}');
  await log.close();
  assert.deepEqual(lines(path), ['{"a":1}', '{"cut":"sho', '{"a":2}']);
  const whole = new ShadowLog({ path, maxBytes: 4096 });
  whole.append('{"a":3}');
  await whole.close();
  assert.equal(readFileSync(path, 'utf8'), '{"a":1}\n{"cut":"sho\n{"a":2}\n{"a":3}\n', 'a file that ends its last line gets no blank line');
});

test('a FIFO at the path is refused at once, with or without a reader: records dropped and counted, nothing blocks', async () => {
  const fifo = join(tempDir(), 'shadow.jsonl');
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0, 'mkfifo');
  const errors: Error[] = [];
  const log = new ShadowLog({ path: fifo, maxBytes: 4096, onError: (e) => errors.push(e) });
  log.append('{"a":1}');
  assert.ok(await waitFor(() => errors.length === 1, 5_000), 'opening a FIFO without a reader fails instead of waiting for one');
  assert.match(errors[0]?.message ?? '', /ENXIO/);
  const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    log.append('{"a":2}');
    assert.ok(await waitFor(() => errors.length === 2, 5_000));
    assert.equal(errors[1]?.message, `${fifo} is not a regular file`);
  } finally {
    closeSync(reader);
  }
  await log.close();
  assert.deepEqual([log.written, log.dropped], [0, 2]);
});

test('the proxy logs one record per mirrored request with every answer and comparison', async (t) => {
  const answer = (value: number) => JSON.stringify({ model_name: 'm', outputs: [{ name: 'score', shape: [1, 1], datatype: 'FP32', data: [value] }] });
  const champion = await startUpstream((_req, res) => res.end(answer(0.25)));
  const same = await startUpstream((_req, res) => res.end(answer(0.25)));
  const other = await startUpstream((_req, res) => res.end(answer(0.75)));
  const dir = tempDir();
  const proxy = await startProxy({
    shadowLog: { path: join(dir, 'shadow.jsonl'), maxBytes: 1_048_576 },
    routes: [
      {
        name: 'logged',
        match: { pathPrefix: '/logged' },
        sticky: [{ header: 'x-user' }],
        variants: [{ name: 'champion', target: champion.url, weight: 1 }],
        shadows: [
          { name: 'same', target: same.url },
          { name: 'other', target: other.url },
        ],
      },
    ],
  });
  t.after(async () => {
    await proxy.close();
    await Promise.all([champion.close(), same.close(), other.close()]);
  });
  const body = JSON.stringify({ inputs: [{ name: 'x', shape: [1, 1], datatype: 'FP32', data: [3] }] });
  const res = await fetch(`${proxy.url}/logged/infer`, { method: 'POST', body, headers: { 'x-user': 'u-1', 'x-request-id': 'log-1', 'content-type': 'application/json' } });
  assert.equal(await res.text(), answer(0.25));
  assert.ok(await waitFor(() => proxy.proxy.shadows.log?.written === 1, 5_000));
  const [line] = lines(join(dir, 'shadow.jsonl'));
  const record = JSON.parse(line ?? '{}') as ShadowLogRecord;
  assert.equal(record.route, 'logged');
  assert.equal(record.requestId, 'log-1');
  assert.equal(record.key, 'u-1');
  assert.equal(record.variant, 'champion');
  assert.ok(!Number.isNaN(Date.parse(record.time)));
  assert.equal(record.input.bytes, body.length);
  assert.match(record.input.digest, /^[0-9a-f]{16}$/);
  assert.deepEqual(record.input.body?.json, JSON.parse(body));
  assert.equal(record.primary.status, 200);
  assert.ok(record.primary.latencyMs > 0);
  assert.deepEqual(record.primary.output?.json, JSON.parse(answer(0.25)));
  const byName = new Map(record.shadows.map((s) => [s.name, s]));
  assert.equal(byName.get('same')?.outcome, 'ok');
  assert.equal(byName.get('same')?.comparison?.result, 'match');
  assert.equal(byName.get('other')?.status, 200);
  assert.equal(byName.get('other')?.comparison?.result, 'mismatch');
  assert.equal(byName.get('other')?.comparison?.maxAbsDiff, 0.5);
  assert.deepEqual(byName.get('other')?.output?.json, JSON.parse(answer(0.75)));
});

test('captureBodies: false keeps digests, statuses and comparisons but no bodies', async (t) => {
  const champion = await startUpstream((_req, res) => res.end('{"a":1}'));
  const shadow = await startUpstream((_req, res) => res.end('{"a":2}'));
  const dir = tempDir();
  const proxy = await startProxy({
    shadowLog: { path: join(dir, 'shadow.jsonl'), maxBytes: 1_048_576, captureBodies: false },
    routes: [{ name: 'private', match: { pathPrefix: '/private' }, variants: [{ name: 'champion', target: champion.url, weight: 1 }], shadows: [{ name: 'candidate', target: shadow.url }] }],
  });
  t.after(async () => {
    await proxy.close();
    await Promise.all([champion.close(), shadow.close()]);
  });
  const res = await fetch(`${proxy.url}/private/x`, { method: 'POST', body: '{"secret":"card-number"}' });
  await res.text();
  assert.ok(await waitFor(() => proxy.proxy.shadows.log?.written === 1, 5_000));
  const text = readFileSync(join(dir, 'shadow.jsonl'), 'utf8');
  assert.doesNotMatch(text, /card-number/);
  const record = JSON.parse(text) as ShadowLogRecord;
  assert.equal(record.input.body, undefined);
  assert.equal(record.primary.output, undefined);
  assert.equal(record.shadows[0]?.output, undefined);
  assert.equal(record.shadows[0]?.comparison?.result, 'mismatch');
});

test('a shadow\'s ignore leaves the fields it names out of the comparison, on the log worker', async (t) => {
  let calls = 0;
  const completion = (_req: unknown, res: { end: (body: string) => void }) =>
    res.end(JSON.stringify({ id: `chatcmpl-${++calls}`, created: 1_700_000_000 + calls, choices: [{ index: 0, message: { role: 'assistant', content: 'yes' } }] }));
  const champion = await startUpstream(completion);
  const shadow = await startUpstream(completion);
  const dir = tempDir();
  const proxy = await startProxy({
    shadowLog: { path: join(dir, 'shadow.jsonl'), maxBytes: 1_048_576 },
    routes: [
      {
        name: 'chat',
        match: { pathPrefix: '/v1/chat' },
        variants: [{ name: 'champion', target: champion.url, weight: 1 }],
        shadows: [
          { name: 'migrated', target: shadow.url, ignore: ['id', 'created'] },
          { name: 'strict', target: shadow.url },
        ],
      },
    ],
  });
  t.after(async () => {
    await proxy.close();
    await Promise.all([champion.close(), shadow.close()]);
  });
  const res = await fetch(`${proxy.url}/v1/chat/completions`, { method: 'POST', body: '{"messages":[{"role":"user","content":"ok?"}]}', headers: { 'content-type': 'application/json' } });
  await res.text();
  assert.ok(await waitFor(() => proxy.proxy.shadows.log?.written === 1, 5_000));
  const record = JSON.parse(readFileSync(join(dir, 'shadow.jsonl'), 'utf8')) as ShadowLogRecord;
  const byName = new Map(record.shadows.map((s) => [s.name, s.comparison]));
  assert.equal(byName.get('migrated')?.result, 'match', byName.get('migrated')?.reason);
  assert.equal(byName.get('strict')?.result, 'mismatch');
  // (The clocks one second apart agree within the relative tolerance; the ids never do.)
  assert.match(byName.get('strict')?.reason ?? '', /^\.id: "chatcmpl-\d" vs "chatcmpl-\d"$/);
  const config = (ignore: string) => `routes:\n  - name: chat\n    match: { pathPrefix: /v1 }\n    variants: [{ name: a, target: "${champion.url}", weight: 1 }]\n    shadows: [{ name: s, target: "${shadow.url}", ignore: [${ignore}] }]\n`;
  assert.throws(() => parseConfigText(config('usage, "choices..index"'), 'bad.yaml'), /routes\[0\]\.shadows\[0\]\.ignore\[1\]: must be a dotted path such as id or choices\.\*\.index/);
});
