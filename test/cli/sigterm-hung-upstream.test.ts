// SIGTERM while upstream requests hang (an upstream that accepts and reads but never answers): the drain
// ends at --drain-ms and the process exits 0 within a bound, not at upstreamTimeoutMs. A request in flight
// is aborted when the drain closes its client; one undici still held queued is aborted when undici takes it
// up, never sent (it used to go out after the drain, and the pools' graceful close waited for it until the
// pools were destroyed after a grace period).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawnServe, type ServeProcess } from '../helpers/cli.js';
import { converse, type Conversation } from '../helpers/conversation.js';
import { writeConfig } from '../helpers/proxy.js';
import { startRawUpstream, type RawUpstream } from '../helpers/raw-upstream.js';
import { waitFor } from '../helpers/wait-for.js';

const DRAIN_MS = 500;
/** Far beyond the bound asserted below: a shutdown that waits for it fails the test. */
const UPSTREAM_TIMEOUT_MS = 60_000;
/** The drain, the pools' close grace and the process's start of exit, with slack for a loaded machine. */
const EXIT_BOUND_MS = 8_000;

let silent: RawUpstream;
let serve: ServeProcess | undefined;

before(async () => {
  silent = await startRawUpstream(() => undefined);
});

after(async () => {
  serve?.kill();
  await silent.close();
});

async function sendGet(port: number, path: string): Promise<Conversation> {
  const talk = await converse(port);
  talk.write(`GET ${path} HTTP/1.1\r\nHost: a\r\n\r\n`);
  return talk;
}

/** SIGTERM, then the exit code and how long the exit took (undefined: still running at the bound). */
async function terminate(running: ServeProcess): Promise<{ code: number | null | undefined; elapsedMs: number }> {
  const startedAt = performance.now();
  running.child.kill('SIGTERM');
  const code = await Promise.race([running.exited, sleep(EXIT_BOUND_MS).then(() => undefined)]);
  return { code, elapsedMs: performance.now() - startedAt };
}

const ABORTED_AFTER_DRAIN = /"msg":"upstream requests still open after the drain were aborted"/;

/** The request heads the silent upstream received, over all its connections. */
const requestHeads = (): number => silent.received.join('').match(/^GET \/api\/hang-\d+ HTTP\/1\.1\r\n/gm)?.length ?? 0;

for (const [name, connections, requests] of [
  ['a request in flight to it', 128, 1],
  ['a request in flight to it and one queued behind it in undici (upstreamConnections: 1)', 1, 2],
] as const) {
  test(`SIGTERM with ${name}: exit 0 within ${EXIT_BOUND_MS} ms (--drain-ms ${DRAIN_MS}, upstreamTimeoutMs ${UPSTREAM_TIMEOUT_MS})`, async () => {
    const configPath = writeConfig({
      limits: { upstreamTimeoutMs: UPSTREAM_TIMEOUT_MS, upstreamConnections: connections },
      routes: [{ name: 'api', match: { pathPrefix: '/api' }, variants: [{ name: 'v', target: silent.url, weight: 1 }] }],
    });
    const before = silent.connections;
    const headsBefore = requestHeads();
    serve = await spawnServe(configPath, ['--drain-ms', String(DRAIN_MS)]);
    const running = serve;
    try {
      const clients = await Promise.all(Array.from({ length: requests }, (_, i) => sendGet(running.port, `/api/hang-${i}`)));
      await waitFor(() => silent.connections > before && silent.received.at(-1)?.includes('\r\n\r\n'), 'the first request to reach the silent upstream');
      // The second request (if any) waits in undici's queue for the one connection until the drain ends.
      await sleep(200);

      const { code, elapsedMs } = await terminate(running);
      assert.equal(code, 0, `exit code (undefined: still running after ${EXIT_BOUND_MS} ms)\n${running.output()}`);
      assert.ok(elapsedMs < EXIT_BOUND_MS, `exited after ${Math.round(elapsedMs)} ms`);
      assert.match(running.output(), /"signal":"SIGTERM"[^\n]*"msg":"draining"/);
      assert.match(running.output(), /"msg":"stopped"/);
      assert.doesNotMatch(running.output(), ABORTED_AFTER_DRAIN, 'the drain alone ended the requests, the queued one included');
      assert.equal(requestHeads() - headsBefore, 1, 'only the request in flight reached the upstream');
      for (const client of clients) {
        await client.waitClosed(1_000);
        assert.doesNotMatch(client.text, /^HTTP\/1\.1 200/, 'no answer came from the silent upstream');
      }
    } finally {
      running.kill();
    }
  });
}
