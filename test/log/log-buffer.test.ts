// Logging never holds up the data plane, nor grows without bound: with stdout not read (a stalled log
// pipe), requests are answered as usual, lines beyond log.maxBufferBytes are dropped and counted, and
// every access line is either written once stdout is read again or counted dropped. Nor does it hold up
// the exit: SIGTERM with stdout still not read exits 0 (the waiting lines are let go).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnServe } from '../helpers/cli.js';
import { writeConfig } from '../helpers/proxy.js';
import { runLoad } from '../helpers/load.js';
import { parseMetrics, sampleValue } from '../helpers/prom-text.js';
import { startUpstream } from '../helpers/upstream.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from '../helpers/wait-for.js';

const REQUESTS = 2_000;

/** Sends REQUESTS requests over 4 connections; returns the statuses seen (a request with no answer fails the test). */
async function sendRequests(port: number): Promise<Set<number>> {
  const load = await runLoad(`http://127.0.0.1:${port}`, '/web/x', { requests: REQUESTS, concurrency: 4, method: 'GET' });
  assert.equal(load.errors, 0);
  return new Set(load.statuses);
}

test('with stdout not read, requests are answered and log lines beyond maxBufferBytes are dropped and counted', async (t) => {
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  const web = { name: 'web', match: { pathPrefix: '/web' }, variants: [{ name: 'origin', target: upstream.url, weight: 1 }] };
  const serve = await spawnServe(writeConfig({ log: { level: 'info', accessLog: true, maxBufferBytes: 65_536 }, routes: [web] }));
  t.after(async () => {
    serve.kill();
    await serve.exited;
  });
  serve.child.stdout?.pause(); // nothing reads the pipe from now on: once the kernel's buffer is full, lines wait in the process
  assert.deepEqual([...(await sendRequests(serve.port))], [200], 'every request answered while the log is stalled');
  const dropped = sampleValue(parseMetrics(await (await fetch(`http://127.0.0.1:${serve.adminPort}/metrics`)).text()), 'abproxy_log_lines_dropped_total') ?? 0;
  assert.ok(dropped > 0, 'lines beyond the buffer are dropped');

  serve.child.stdout?.resume();
  const accessLines = () => serve.output().split('\n').filter((line) => line.includes('"type":"access"')).length;
  await waitFor(() => accessLines() + dropped >= REQUESTS, 'the waiting lines to be written', 10_000);
  assert.equal(accessLines() + dropped, REQUESTS, 'each access line written or counted dropped, once');
  assert.ok(accessLines() * 200 >= 65_536 / 2, `about maxBufferBytes of lines waited and were written (${accessLines()} lines)`);
});

test('SIGTERM exits 0 while stdout is still not read', async (t) => {
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  const web = { name: 'web', match: { pathPrefix: '/web' }, variants: [{ name: 'origin', target: upstream.url, weight: 1 }] };
  const serve = await spawnServe(writeConfig({ log: { level: 'info', accessLog: true }, routes: [web] }));
  t.after(() => serve.kill());
  serve.child.stdout?.pause();
  assert.deepEqual([...(await sendRequests(serve.port))], [200]);
  serve.child.kill('SIGTERM');
  const code = await Promise.race([serve.exited, sleep(15_000).then(() => 'still running after 15 s')]);
  assert.equal(code, 0, 'the lines stdout does not take do not hold the exit');
});
