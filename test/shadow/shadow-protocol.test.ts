// The shadow worker's batch wire format: what the data plane adds to a batch (whole exchanges, mirrors
// with their copies, primary parts) is what the worker reads back, field for field and byte for byte,
// through a real structured clone with the bodies' buffer transferred.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { MessageChannel } from 'node:worker_threads';
import { readBatch, WireBatch, type MirroredExchange, type ReceivedItem, type ToShadowWorker } from '../../src/shadow/shadow-protocol.js';

const json = (value: unknown) => Buffer.from(JSON.stringify(value));

const exchanges: MirroredExchange[] = [
  {
    route: 'fraud',
    requestId: 'req-1',
    key: 'user-42',
    variant: 'champion',
    method: 'POST',
    path: '/v2/models/fraud/infer',
    body: json({ inputs: [{ name: 'tx', shape: [1, 2], datatype: 'FP32', data: [0.5, 1] }] }),
    primary: { status: 200, latencyMs: 1.25, answer: { status: 200, body: json({ outputs: [] }), truncated: false, contentType: 'application/json' } },
    shadows: [
      { name: 'fast', target: 'http://127.0.0.1:1', tolerance: 1e-6, ignore: [], result: { outcome: 'ok', latencyMs: 2.5, answer: { status: 200, body: Buffer.from('plain ü'), truncated: false, contentType: undefined } } },
      {
        name: 'triton',
        target: 'http://127.0.0.1:4',
        tolerance: 0,
        ignore: ['id', 'choices.*.created'],
        result: { outcome: 'ok', latencyMs: 3, answer: { status: 200, body: Buffer.concat([json({ outputs: [] }), Buffer.from([0, 1])]), truncated: false, contentType: 'application/octet-stream', contentEncoding: 'identity', inferenceHeader: '14' } },
      },
      { name: 'slow', target: 'model:fraud-b', tolerance: 0.01, ignore: ['usage'], result: { outcome: 'timeout', latencyMs: 250, answer: undefined, failure: 'ABPROXY_SHADOW_TIMEOUT' } },
      { name: 'busy', target: 'http://127.0.0.1:2', tolerance: 0, ignore: [], result: undefined },
    ],
    captureBodies: true,
  },
  {
    route: 'other',
    requestId: 'req-2',
    key: undefined,
    variant: 'challenger',
    method: 'GET',
    path: '/v1/x',
    body: undefined,
    primary: { status: 502, latencyMs: 3, answer: undefined, failure: 'UND_ERR_SOCKET' },
    shadows: [{ name: 'big', target: 'http://127.0.0.1:3', tolerance: 0, ignore: [], result: { outcome: 'ok', latencyMs: 4, answer: { status: 200, body: undefined, truncated: true, contentType: 'application/json' } } }],
    captureBodies: false,
  },
];

/** Sends the message through a real MessageChannel (structured clone, bodies transferred) and returns what arrives. */
async function overTheWire(message: ToShadowWorker & { type: 'items' }): Promise<ReceivedItem[]> {
  const { port1, port2 } = new MessageChannel();
  const arrived = once(port2, 'message');
  port1.postMessage(message, [message.bodies]);
  const [received] = (await arrived) as [ToShadowWorker];
  port1.close();
  port2.close();
  assert.equal(received.type, 'items');
  return received.type === 'items' ? readBatch(received) : [];
}

/** The whole exchanges among received items. */
const wholeExchanges = (items: ReceivedItem[]) => items.flatMap((item) => (item.kind === 'exchange' ? [item] : []));

test('a batch reads back as the exchanges that were added, bodies included', async () => {
  const batch = new WireBatch();
  exchanges.forEach((exchange, i) => batch.add(exchange, 1_700_000_000_000 + i));
  assert.equal(batch.count, 2);
  batch.add(exchanges[0] as MirroredExchange, 1_700_000_000_002);
  const sent = batch.message();
  assert.equal(new Set(sent.strings).size, sent.strings.length, 'a repeated string travels once, in the string table');
  assert.ok(!sent.fields.includes('fraud') && !sent.fields.includes('application/json'));
  const read = wholeExchanges(await overTheWire(sent));
  assert.equal(sent.bodies.byteLength, 0, 'the bodies buffer was transferred, not copied');
  assert.deepEqual(
    read.map((r) => r.time),
    [1_700_000_000_000, 1_700_000_000_001, 1_700_000_000_002],
  );
  assert.deepEqual(
    read.map((r) => r.exchange),
    [...exchanges, exchanges[0]],
  );
});

test('bodies past the first buffer size survive the buffer growing', async () => {
  const batch = new WireBatch();
  const big = Buffer.alloc(100_000, 7);
  const exchange = exchanges[0] as MirroredExchange;
  for (let i = 0; i < 3; i++) batch.add({ ...exchange, requestId: `big-${i}`, body: big }, i);
  const read = wholeExchanges(await overTheWire(batch.message()));
  assert.deepEqual(
    read.map((r) => r.exchange.requestId),
    ['big-0', 'big-1', 'big-2'],
  );
  for (const r of read) {
    assert.ok(r.exchange.body?.equals(big));
    assert.ok(r.exchange.primary.answer?.body?.equals(exchange.primary.answer?.body as Buffer));
  }
});

test('a mirror carries its copies, and a primary part each shadow\'s place; a dropped part carries no bodies', async () => {
  const exchange = exchanges[0] as MirroredExchange;
  const { primary, shadows, ...head } = exchange;
  const copies = [
    { shadow: 'fast', origin: 'http://127.0.0.1:1', path: '/v2/models/fraud/infer?x=1', http2: false, headers: ['content-type', 'application/json', 'x-request-id', 'req-1'], timeoutMs: 5_000, maxBytes: 1_048_576 },
    { shadow: 'triton', origin: 'http://127.0.0.1:4', path: '/inference.GRPCInferenceService/ModelInfer', http2: true, headers: [], timeoutMs: 250, maxBytes: 64 },
  ];
  const placed = shadows.map((shadow, i) => (i < 2 ? { ...shadow, result: undefined, copy: i } : shadow));
  const batch = new WireBatch();
  batch.addMirror(7, head, copies);
  batch.addPrimary(7, { time: 1_700_000_000_000, primary, shadows: placed }, false);
  batch.addPrimary(8, { time: 1_700_000_000_001, primary, shadows: placed }, true);
  const [mirror, part, dropped] = await overTheWire(batch.message());
  assert.deepEqual(mirror, { kind: 'mirror', id: 7, head, copies });
  assert.deepEqual(part, { kind: 'primary', id: 7, dropped: false, part: { time: 1_700_000_000_000, primary, shadows: placed } });
  assert.equal(dropped?.kind, 'primary');
  if (dropped?.kind !== 'primary') return;
  assert.equal(dropped.dropped, true);
  assert.equal(dropped.part.primary.answer?.body, undefined, 'no body travels with a dropped part');
  assert.equal(dropped.part.primary.answer?.status, 200);
  assert.deepEqual(
    dropped.part.shadows.map((s) => s.result?.answer?.body),
    shadows.map(() => undefined),
  );
});
