// Reliability case 12 on a spawned `abproxy serve`: SIGTERM with a 2 s request in flight and idle
// keep-alive sockets -> the request completes, idle sockets close, new connections are refused, exit 0.
// A shadow log that cannot be opened (a FIFO at its path) does not keep the process from exiting.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawnServe, type ServeProcess } from '../helpers/cli.js';
import { writeConfig } from '../helpers/proxy.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { converse, parseResponse } from '../helpers/conversation.js';
import { waitFor } from '../helpers/wait-for.js';

let upstream: TestUpstream;
let serve: ServeProcess | undefined;

before(async () => {
  upstream = await startUpstream((req, res) => {
    const delayMs = req.url?.startsWith('/api/slow') ? 2_000 : 0;
    setTimeout(() => res.end(JSON.stringify({ url: req.url, delayMs })), delayMs);
  });
});

after(async () => {
  serve?.kill();
  await upstream.close();
});

function connectOutcome(port: number): Promise<'refused' | 'connected'> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', () => resolve('refused'));
  });
}

test('SIGTERM drains: in-flight request completes, idle keep-alive sockets close, new connections refused, exit 0', async () => {
  const configPath = writeConfig({ routes: [{ name: 'api', match: { pathPrefix: '/api' }, variants: [{ name: 'v', target: upstream.url, weight: 1 }] }] });
  serve = await spawnServe(configPath, ['--drain-ms', '20000']);
  const { port } = serve;

  const idle = await Promise.all([converse(port), converse(port)]);
  for (const talk of idle) {
    talk.write('GET /api/fast HTTP/1.1\r\nHost: a\r\n\r\n');
    await talk.waitFor(/\r\n\r\n\{.*\}$/s, 15_000);
    assert.equal(parseResponse(talk.text).status, 200);
    assert.equal(talk.closed, false, 'keep-alive socket open before SIGTERM');
  }

  const inflight = await converse(port);
  const before = upstream.received.length;
  inflight.write('GET /api/slow HTTP/1.1\r\nHost: a\r\n\r\n');
  for (let waited = 0; upstream.received.length === before; waited += 20) {
    assert.ok(waited < 15_000, 'slow request never reached the upstream');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }

  serve.child.kill('SIGTERM');
  await Promise.all(idle.map((talk) => talk.waitClosed(5_000)));
  let outcome: 'refused' | 'connected' = 'connected';
  for (let attempt = 0; attempt < 50 && outcome === 'connected'; attempt++) {
    outcome = await connectOutcome(port);
    if (outcome === 'connected') await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.equal(outcome, 'refused', 'new connections are refused while draining');
  assert.equal(inflight.closed, false, 'the in-flight request is still being served');

  await inflight.waitFor(/\r\n\r\n\{.*\}$/s, 15_000);
  const reply = parseResponse(inflight.text);
  assert.equal(reply.status, 200);
  assert.deepEqual(JSON.parse(reply.body), { url: '/api/slow', delayMs: 2_000 });
  assert.equal(await serve.exited, 0, serve.output());
});

test('SIGTERM exits 0 when the shadow log cannot be written: a FIFO at its path never holds the shadow worker', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'abproxy-sigterm-'));
  const fifo = join(dir, 'shadow.jsonl');
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0, 'mkfifo');
  const configPath = writeConfig(
    {
      shadowCopies: 'worker',
      shadowLog: { path: fifo },
      routes: [{ name: 'api', match: { pathPrefix: '/api' }, variants: [{ name: 'a', target: upstream.url, weight: 1 }], shadows: [{ name: 'copy', target: upstream.url }] }],
    },
    dir,
  );
  const fifoServe = await spawnServe(configPath);
  try {
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`http://127.0.0.1:${fifoServe.port}/api/x${i}`);
      assert.equal(res.status, 200);
      await res.arrayBuffer();
    }
    const dropped = async () => (await (await fetch(`http://127.0.0.1:${fifoServe.adminPort}/metrics`)).text()).includes('abproxy_shadow_log_records_total{result="dropped"} 5');
    await waitFor(dropped, 'the five records to be dropped and counted');
    // The worker thread's log line reaches stdout after its counter reaches the metrics: waited for, not read once.
    await waitFor(() => /ENXIO[^"]*shadow\.jsonl/.test(fifoServe.output()), 'the ENXIO refusal to be logged');
    fifoServe.child.kill('SIGTERM');
    const code = await Promise.race([fifoServe.exited, sleep(15_000).then(() => 'still running')]);
    assert.equal(code, 0, fifoServe.output());
  } finally {
    fifoServe.kill();
  }
});
