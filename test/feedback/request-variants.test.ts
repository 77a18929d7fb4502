// The request-id memory behind feedback by request id: the last `max` ids are found (the proxy's own
// UUIDs, held as bits, and any other id a client sent), older ones are dropped and counted, a reload's
// new bound keeps the most recent, and lookups stay right while the ring grows and the index is caught
// up, rebuilt and interleaved with new requests.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { RequestVariants } from '../../src/feedback/request-variants.js';
import { registry } from '../../src/metrics/registry.js';

async function evicted(): Promise<number> {
  const metric = await registry.getSingleMetric('abproxy_feedback_request_ids_evicted_total')?.get();
  return metric?.values[0]?.value ?? 0;
}

const variantOf = (memory: RequestVariants, id: string) => memory.lookup(id)?.variant;

test('the last max ids are known, older ones are dropped and each drop is counted', async () => {
  const before = await evicted();
  const memory = new RequestVariants(3);
  for (let i = 0; i < 5; i++) memory.remember(`id-${i}`, 'r', `v${i}`);
  assert.deepEqual(['id-0', 'id-1', 'id-2', 'id-3', 'id-4'].map((id) => variantOf(memory, id)), [undefined, undefined, 'v2', 'v3', 'v4']);
  assert.deepEqual(memory.lookup('id-4'), { route: 'r', variant: 'v4' });
  assert.equal((await evicted()) - before, 2);
});

test('lookups between requests see every id still held, and none dropped since', () => {
  const memory = new RequestVariants(4);
  for (let i = 0; i < 40; i++) {
    memory.remember(`id-${i}`, 'r', `v${i}`);
    assert.equal(variantOf(memory, `id-${i}`), `v${i}`);
    if (i >= 4) assert.equal(variantOf(memory, `id-${i - 4}`), undefined, `id-${i - 4} was dropped`);
    if (i >= 3) assert.equal(variantOf(memory, `id-${i - 3}`), `v${i - 3}`);
  }
});

test('an id served again answers with its latest variant', () => {
  const memory = new RequestVariants(3);
  memory.remember('same', 'r', 'first');
  memory.remember('other', 'r', 'x');
  memory.remember('same', 'r', 'second');
  assert.equal(variantOf(memory, 'same'), 'second');
  memory.remember('a', 'r', 'x');
  memory.remember('b', 'r', 'x');
  assert.equal(variantOf(memory, 'same'), 'second', 'the older copy dropping out leaves the latest');
  memory.remember('c', 'r', 'x');
  assert.equal(variantOf(memory, 'same'), undefined);
});

test('a new bound keeps the most recent ids: shrinking drops the oldest, growing keeps all and adds room', () => {
  const memory = new RequestVariants(5);
  for (let i = 0; i < 7; i++) memory.remember(`id-${i}`, 'r', `v${i}`);
  memory.resize(3);
  assert.deepEqual([2, 3, 4, 5, 6].map((i) => variantOf(memory, `id-${i}`)), [undefined, undefined, 'v4', 'v5', 'v6']);
  memory.remember('id-7', 'r', 'v7');
  assert.deepEqual([4, 5, 6, 7].map((i) => variantOf(memory, `id-${i}`)), [undefined, 'v5', 'v6', 'v7']);
  memory.resize(6);
  for (let i = 8; i < 11; i++) memory.remember(`id-${i}`, 'r', `v${i}`);
  assert.deepEqual([4, 5, 6, 7, 8, 9, 10].map((i) => variantOf(memory, `id-${i}`)), [undefined, 'v5', 'v6', 'v7', 'v8', 'v9', 'v10']);
  memory.remember('id-11', 'r', 'v11');
  assert.equal(variantOf(memory, 'id-5'), undefined);
  assert.equal(variantOf(memory, 'id-6'), 'v6');
});

test('many requests between two lookups: the stale index is rebuilt and answers stay exact', () => {
  const memory = new RequestVariants(100);
  for (let round = 0; round < 5; round++) {
    for (let i = 0; i < 250; i++) memory.remember(`r${round}-${i}`, 'r', `v${round}`);
    assert.equal(variantOf(memory, `r${round}-149`), undefined);
    assert.equal(variantOf(memory, `r${round}-150`), `v${round}`);
    assert.equal(variantOf(memory, `r${round}-249`), `v${round}`);
    if (round > 0) assert.equal(variantOf(memory, `r${round - 1}-249`), undefined);
  }
});

test('UUID ids and other ids side by side: each is found only as itself', () => {
  const memory = new RequestVariants(8);
  const uuids = Array.from({ length: 4 }, () => randomUUID());
  uuids.forEach((id, i) => memory.remember(id, 'r', `u${i}`));
  const upper = uuids[0]?.toUpperCase() ?? '';
  memory.remember(upper, 'r', 'upper');
  memory.remember('client-id', 'r', 'client');
  assert.deepEqual(uuids.map((id) => variantOf(memory, id)), ['u0', 'u1', 'u2', 'u3']);
  assert.equal(variantOf(memory, upper), 'upper');
  assert.equal(variantOf(memory, 'client-id'), 'client');
  assert.equal(variantOf(memory, randomUUID()), undefined);
  // One hex digit off, or a UUID-shaped id with a stray character: unknown.
  const id = uuids[1] ?? '';
  assert.equal(variantOf(memory, id.slice(0, -1) + (id.endsWith('0') ? '1' : '0')), undefined);
  assert.equal(variantOf(memory, `${id.slice(0, 8)}_${id.slice(9)}`), undefined);
  // A UUID's slot reused by a client id, and a client id's slot reused by a UUID.
  for (let i = 0; i < 8; i++) memory.remember(i % 2 === 0 ? `other-${i}` : randomUUID(), 'r', 'later');
  assert.deepEqual([...uuids, upper, 'client-id'].map((known) => variantOf(memory, known)), [undefined, undefined, undefined, undefined, undefined, undefined]);
});

test('a large bound grows the ring as ids arrive and finds every one of them', () => {
  const memory = new RequestVariants(5000);
  const ids = Array.from({ length: 6000 }, () => randomUUID());
  ids.forEach((id, i) => memory.remember(id, `route-${i % 3}`, `v${i % 7}`));
  assert.equal(memory.lookup(ids[999] ?? ''), undefined);
  for (const i of [1000, 1023, 1024, 2048, 4095, 5999]) assert.deepEqual(memory.lookup(ids[i] ?? ''), { route: `route-${i % 3}`, variant: `v${i % 7}` });
});
