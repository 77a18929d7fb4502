// Bodies stream both ways, unbuffered: a server-sent event and a chunk of a chunked response reach the
// client while the upstream is still holding the response open, and a chunked request body reaches
// the upstream before the client has finished sending it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { converse } from '../helpers/conversation.js';

/** Responses the upstream holds open until the test releases them. */
const held: ServerResponse[] = [];
const firstRequestChunk: string[] = [];
const upstream = createServer((req, res) => {
  req.on('error', () => undefined);
  if (req.url?.startsWith('/events')) {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.write('event: token\ndata: first\n\n');
    held.push(res);
  } else if (req.url?.startsWith('/chunks')) {
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    res.write('{"part":1}\n');
    held.push(res);
  } else if (req.url?.startsWith('/upload')) {
    req.once('data', (chunk: Buffer) => {
      firstRequestChunk.push(chunk.toString());
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('got-first-chunk\n');
      req.on('end', () => res.end('done\n'));
    });
  } else res.end();
});
let proxy: TestProxy;

before(async () => {
  upstream.listen(0, '127.0.0.1');
  await once(upstream, 'listening');
  const target = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  proxy = await startProxy({ routes: [{ name: 'llm', match: { pathPrefix: '/' }, variants: [{ name: 'v', target, weight: 1 }] }] });
});

after(async () => {
  for (const res of held) res.destroy();
  await proxy.close();
  upstream.closeAllConnections();
  upstream.close();
});

test('SSE: the first event reaches the client before the upstream ends the stream', async () => {
  const talk = await converse(proxy.port);
  talk.write('GET /events HTTP/1.1\r\nHost: a\r\nAccept: text/event-stream\r\n\r\n');
  await talk.waitFor(/data: first\n\n/);
  assert.match(talk.text, /content-type: text\/event-stream/i);
  assert.match(talk.text, /x-abproxy-variant: v/i);
  const stream = held.at(-1);
  assert.ok(stream && !stream.writableEnded, 'upstream still open while the client holds the first event');
  stream.write('data: second\n\n');
  await talk.waitFor(/data: second\n\n/);
  stream.end();
  await talk.waitFor(/0\r\n\r\n$/);
  talk.destroy();
});

test('chunked responses pass through unbuffered', async () => {
  const talk = await converse(proxy.port);
  talk.write('GET /chunks HTTP/1.1\r\nHost: a\r\n\r\n');
  await talk.waitFor(/\{"part":1\}\n/);
  assert.match(talk.text, /transfer-encoding: chunked/i);
  const stream = held.at(-1);
  assert.ok(stream && !stream.writableEnded);
  stream.end('{"part":2}\n');
  await talk.waitFor(/\{"part":2\}\n\r\n0\r\n\r\n$/);
  talk.destroy();
});

test('a chunked request body streams to the upstream before the client finishes it', async () => {
  const talk = await converse(proxy.port);
  talk.write('POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nfirst!\r\n');
  await talk.waitFor(/got-first-chunk/);
  assert.equal(firstRequestChunk.at(-1), 'first!');
  talk.write('4\r\nrest\r\n0\r\n\r\n');
  await talk.waitFor(/done\n\r\n0\r\n\r\n$/);
  talk.destroy();
});
