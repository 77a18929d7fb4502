// Reliability case 7: slowloris (a head trickled one byte at a time) gets 408 and a close within
// headersTimeoutMs; a body trickled too slowly gets 408 at requestTimeoutMs. Generous margins: the
// machine is shared, so only lower bounds and loose upper bounds are asserted.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { converse, json, parseResponse, type Conversation } from '../helpers/conversation.js';

const HEADERS_TIMEOUT_MS = 1_000;
const REQUEST_TIMEOUT_MS = 2_000;
let upstream: TestUpstream;
let proxy: TestProxy;
let early: Server;

before(async () => {
  upstream = await startUpstream();
  early = createServer((req, res) => {
    req.on('error', () => undefined);
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('partial answer\n'); // answers before the request body is complete, then holds
  });
  early.listen(0, '127.0.0.1');
  await once(early, 'listening');
  const earlyUrl = `http://127.0.0.1:${(early.address() as AddressInfo).port}`;
  proxy = await startProxy({
    limits: { headersTimeoutMs: HEADERS_TIMEOUT_MS, requestTimeoutMs: REQUEST_TIMEOUT_MS },
    routes: [
      { name: 'stream', match: { pathPrefix: '/stream' }, variants: [{ name: 'v', target: upstream.url, weight: 1 }] },
      { name: 'early', match: { pathPrefix: '/early' }, variants: [{ name: 'v', target: earlyUrl, weight: 1 }] },
      { name: 'keyed', match: { pathPrefix: '/keyed' }, sticky: [{ body: 'id' }], variants: [{ name: 'v', target: upstream.url, weight: 1 }] },
    ],
  });
});

after(async () => {
  await proxy.close();
  await upstream.close();
  early.closeAllConnections();
  early.close();
});

/** Writes `bytes` one byte every `everyMs` until the server closes or the bytes run out. */
async function trickle(talk: Conversation, bytes: string, everyMs: number): Promise<void> {
  for (const byte of bytes) {
    if (talk.closed) return;
    talk.write(byte);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

function assertTimeoutAnswer(talk: Conversation): void {
  const reply = parseResponse(talk.text);
  assert.equal(reply.status, 408, talk.text);
  assert.equal(json(reply.body).code, 'ABPROXY_REQUEST_TIMEOUT');
}

test('slowloris: 408 and close within headersTimeoutMs', async () => {
  const talk = await converse(proxy.port);
  const started = performance.now();
  const head = `GET /stream/slow HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ${'a'.repeat(200)}\r\n\r\n`;
  await Promise.all([trickle(talk, head, 50), talk.waitClosed(HEADERS_TIMEOUT_MS + 8_000)]);
  const elapsed = performance.now() - started;
  assertTimeoutAnswer(talk);
  assert.ok(elapsed >= HEADERS_TIMEOUT_MS * 0.9, `closed after ${elapsed} ms`);
  assert.equal(upstream.received.length, 0);
});

test('slow body: 408 at requestTimeoutMs, streamed and buffered routes alike', async () => {
  for (const path of ['/stream/slow', '/keyed/slow']) {
    const talk = await converse(proxy.port);
    const started = performance.now();
    talk.write(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n`);
    await Promise.all([trickle(talk, `{"id":"${'b'.repeat(192)}"}`, 50), talk.waitClosed(REQUEST_TIMEOUT_MS + 8_000)]);
    const elapsed = performance.now() - started;
    assertTimeoutAnswer(talk);
    assert.ok(elapsed >= REQUEST_TIMEOUT_MS * 0.9, `${path}: closed after ${elapsed} ms`);
    assert.ok(upstream.received.every((r) => r.body.length < 200), `${path}: the upstream got a complete body`);
  }
});

test('request timeout after the response has started: the connection is cut, no 408 is written into the response', async () => {
  const talk = await converse(proxy.port);
  // Over the 16 KiB that the proxy reads whole before forwarding, so the body streams and the upstream answers early.
  talk.write('POST /early/x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n\r\n0123456789');
  await talk.waitFor(/partial answer\n/);
  await talk.waitClosed(REQUEST_TIMEOUT_MS + 8_000);
  assert.match(talk.text, /^HTTP\/1\.1 200 /);
  assert.equal(talk.text.match(/HTTP\/1\.1 /g)?.length, 1, `a second status line was written: ${JSON.stringify(talk.text)}`);
  assert.doesNotMatch(talk.text, /\r\n0\r\n\r\n$/, 'the cut-off response must not look complete');
});
