// `abproxy shadow-log`: the newest records of the log the config names, as a table or JSON lines,
// read across rotation and cluster worker files; run as a real child process. A path that is not a
// regular file is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ShadowLog } from '../../src/shadow/shadow-log.js';
import { recordLine } from '../../src/shadow/log-record.js';
import { compareAnswers } from '../../src/shadow/compare.js';
import { readLatestRecords } from '../../src/shadow/log-reader.js';
import type { ShadowLogRecord } from '../../src/shadow/log-record.js';
import { renderTable } from '../../src/shadow/log-table.js';
import type { Answer } from '../../src/shadow/answer.js';
import { runCli } from '../helpers/cli.js';
import { writeConfig } from '../helpers/proxy.js';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { parseConfigText } from '../../src/config/load.js';
import { RuntimeHolder } from '../../src/server/runtime.js';
import { ShadowService } from '../../src/shadow/shadow-service.js';

const run = promisify(execFile);
const cli = (...args: string[]) => run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'shadow-log', ...args], { cwd: process.cwd() });
const oip = (name: string, value: number): Answer => ({
  status: 200,
  body: Buffer.from(JSON.stringify({ model_name: 'm', outputs: [{ name, shape: [1, 1], datatype: 'FP32', data: [value] }] })),
  truncated: false,
  contentType: 'application/json',
});

/** One record line for `route`: the champion's answer, then each shadow's (undefined: dropped), compared as the log worker does. */
function mirroredLine(route: string, requestId: string, path: string, champion: Answer, shadows: [name: string, answer: Answer | undefined][], input = '{}'): string {
  return recordLine({
    route,
    requestId,
    key: undefined,
    variant: 'champion',
    method: 'POST',
    path,
    body: Buffer.from(input),
    primary: { status: 200, answer: champion, latencyMs: 1.5 },
    shadows: shadows.map(([name, answer]) => ({
      name,
      target: `model:${name}`,
      result: answer && { outcome: 'ok', latencyMs: 2.25, answer },
      comparison: answer && compareAnswers(champion, answer, 1e-6),
    })),
    captureBodies: true,
  });
}

/** Writes `count` records for route `route` (request ids r0, r1, ...) through the real writer. */
async function writeRecords(path: string, maxBytes: number, count: number, route: string): Promise<void> {
  const log = new ShadowLog({ path, maxBytes, maxQueueBytes: 1024 * 1024 });
  const champion = oip('dense_1', 0.00149741769);
  for (let i = 0; i < count; i++) {
    const input = `{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[${i}]}]}`;
    log.append(mirroredLine(route, `r${i}`, `/v2/models/${route}/infer`, champion, [['xgb', oip('variable', 0.000506699085)], ['rf', undefined]], input));
  }
  await log.close();
}

test('reads the newest records across the rotated file, filtered by route', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'abproxy-cli-')), 'shadow.jsonl');
  await writeRecords(path, 8 * 1024, 12, 'fraud'); // ~1.2 KB a record: several rotations
  const records = readLatestRecords(path, { limit: 4 });
  assert.deepEqual(records.map((r) => r.requestId), ['r8', 'r9', 'r10', 'r11']);
  assert.deepEqual(readLatestRecords(path, { limit: 4, route: 'other' }), []);
});

test('--mismatches keeps only the records in which a shadow disagreed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'abproxy-cli-'));
  const path = join(dir, 'shadow.jsonl');
  const log = new ShadowLog({ path, maxBytes: 1024 * 1024, maxQueueBytes: 1024 * 1024 });
  const champion = oip('score', 0.5);
  for (let i = 0; i < 6; i++) log.append(mirroredLine('fraud', `m${i}`, '/v2/models/fraud/infer', champion, [['xgb', oip('score', i % 3 === 0 ? 0.9 : 0.5)]]));
  await log.close();
  assert.deepEqual(readLatestRecords(path, { limit: 10, mismatchesOnly: true }).map((r) => r.requestId), ['m0', 'm3']);
  const json = await cli('--file', path, '--mismatches', '--json');
  assert.deepEqual(json.stdout.trim().split('\n').map((line) => (JSON.parse(line) as { requestId: string }).requestId), ['m0', 'm3']);
});

test('abproxy shadow-log prints the outputs side by side, or JSON lines', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'abproxy-cli-'));
  const path = join(dir, 'shadow.jsonl');
  await writeRecords(path, 1024 * 1024, 3, 'fraud');
  const configPath = writeConfig({ shadowLog: { path }, routes: [{ name: 'fraud', match: { pathPrefix: '/v2/models/fraud' }, variants: [{ name: 'champion', target: 'http://127.0.0.1:9', weight: 1 }] }] }, dir);

  const table = await cli('fraud', '-c', configPath, '--limit', '2');
  const lines = table.stdout.trimEnd().split('\n');
  assert.equal(lines.length, 3, table.stdout);
  assert.match(lines[0] ?? '', /^TIME\s+REQUEST\s+INPUT\s+PRIMARY\s+XGB\s+RF\s+MATCH\s+LATENCY MS$/);
  assert.match(lines[2] ?? '', /r2\s+[0-9a-f]{16}\s+champion: dense_1=0\.00149742\s+variable=0\.000506699 != \(diff 0\.000990719\)\s+dropped\s+0\/1\s+1\.5 \| 2\.3 \| -/);

  const json = await cli('--file', path, '--json', '-n', '1');
  const record = JSON.parse(json.stdout) as { requestId: string; shadows: { comparison?: { result: string } }[] };
  assert.equal(record.requestId, 'r2');
  assert.equal(record.shadows[0]?.comparison?.result, 'mismatch');

  await assert.rejects(cli('--file', path, '--limit', '0'), /--limit must be a positive integer/);
});

test('cluster workers write one file each (shadow-wN.jsonl, a share of maxBytes); readers merge them by time', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'abproxy-cli-'));
  const path = join(dir, 'shadow.jsonl');
  const config = parseConfigText(
    stringify({ shadowLog: { path, maxBytes: 1_000_000 }, routes: [{ name: 'fraud', match: { pathPrefix: '/f' }, variants: [{ name: 'c', target: 'http://127.0.0.1:9', weight: 1 }], shadows: [{ name: 's', target: 'http://127.0.0.1:9' }] }] }),
    'abproxy.yaml',
  );
  const service = new ShadowService({ holder: new RuntimeHolder(config), logger: pino({ level: 'silent' }), shard: { slot: 1, count: 2 } });
  assert.equal(service.log?.path, join(dir, 'shadow-w1.jsonl'));
  assert.equal(service.log?.maxBytes, 500_000);
  await service.close();

  // Records interleaved in time across the plain file and two worker files.
  const files = [path, join(dir, 'shadow-w0.jsonl'), join(dir, 'shadow-w1.jsonl')];
  for (const [i, file] of files.entries()) {
    const log = new ShadowLog({ path: file, maxBytes: 1_000_000 });
    for (let n = 0; n < 3; n++) {
      const at = new Date(Date.UTC(2026, 0, 1, 0, 0, n * 3 + i));
      log.append(recordLine({ route: 'fraud', requestId: `t${n * 3 + i}`, key: undefined, variant: 'c', method: 'POST', path: '/f', body: undefined, primary: { status: 200, answer: undefined, latencyMs: 1 }, shadows: [], captureBodies: false }, at));
    }
    await log.close();
  }
  assert.deepEqual(readLatestRecords(path, { limit: 4 }).map((r) => r.requestId), ['t5', 't6', 't7', 't8']);
});

test('abproxy shadow-log refuses a log path that is a directory or a FIFO, at once, saying so', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'abproxy-shadow-cli-'));
  const fifo = join(dir, 'fifo.jsonl');
  execFileSync('mkfifo', [fifo]); // opening a FIFO for reading waits for a writer: it must not be opened so
  for (const path of [dir, fifo]) {
    const result = await runCli(['shadow-log', '--file', path], 10_000);
    assert.equal(result.code, 1, path);
    assert.equal(result.stderr, `abproxy: ${path} is not a regular file\n`);
  }
});

test('the table shows KServe V1 predictions as values, with their difference', () => {
  const predict = (predictions: number[][]): Answer => ({ status: 200, body: Buffer.from(JSON.stringify({ predictions })), truncated: false, contentType: 'application/json' });
  const champion = predict([[0.1, 0.9]]);
  const shadow = predict([[0.3, 0.7]]);
  const line = mirroredLine('iris', 'v1-1', '/v1/models/iris:predict', champion, [['next', shadow]], '{"instances":[[6.8,2.8,4.8,1.4]]}');
  const row = renderTable([JSON.parse(line) as ShadowLogRecord]).split('\n')[1] ?? '';
  assert.match(row, /champion: predictions=\[0\.1,0\.9\]\s+predictions=\[0\.3,0\.7\] != \(diff 0\.2\)\s+0\/1/);
});
