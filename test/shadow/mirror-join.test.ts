// The shadow worker's join of an exchange's copies with its primary part: whole once both are in,
// whichever comes first, each copy's answer in its shadow's place; a dropped part is let go; clear()
// forgets what still waits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ShadowAnswer } from '../../src/shadow/answer.js';
import { MirrorJoin } from '../../src/shadow/mirror-join.js';
import type { ExchangeHead, MirroredExchange, PrimaryPart } from '../../src/shadow/shadow-protocol.js';

const head: ExchangeHead = { route: 'fraud', requestId: 'r1', key: 'k', variant: 'champion', method: 'POST', path: '/v2/models/fraud/infer', captureBodies: true, body: Buffer.from('{}') };
const answer = (latencyMs: number): ShadowAnswer => ({ outcome: 'ok', latencyMs, answer: { status: 200, body: Buffer.from('{}'), truncated: false, contentType: 'application/json' } });
const part: PrimaryPart = {
  time: 1_700_000_000_000,
  primary: { status: 200, latencyMs: 1, answer: undefined },
  shadows: [
    { name: 'a', target: 'http://127.0.0.1:1', tolerance: 0, ignore: [], result: undefined, copy: 1 },
    { name: 'local', target: 'model:m', tolerance: 0, ignore: [], result: answer(9) },
    { name: 'b', target: 'http://127.0.0.1:2', tolerance: 0, ignore: [], result: undefined, copy: 0 },
    { name: 'busy', target: 'http://127.0.0.1:3', tolerance: 0, ignore: [], result: undefined },
  ],
};

function joined(): { join: MirrorJoin; whole: { exchange: MirroredExchange; time: number }[] } {
  const whole: { exchange: MirroredExchange; time: number }[] = [];
  return { join: new MirrorJoin((exchange, time) => whole.push({ exchange, time })), whole };
}

test('whole once the copies and the primary part are in, in either order, each answer in its shadow\'s place', () => {
  for (const primaryFirst of [true, false]) {
    const { join, whole } = joined();
    join.open(7, head, 2);
    if (primaryFirst) join.primary(7, part, false);
    join.answer(7, 0, answer(2));
    assert.equal(whole.length, 0, 'one copy still out');
    join.answer(7, 0, answer(99)); // a second settle of the same copy is ignored
    join.answer(7, 1, answer(1));
    if (!primaryFirst) {
      assert.equal(whole.length, 0, 'the primary part has not come');
      join.primary(7, part, false);
    }
    assert.equal(whole.length, 1);
    const [{ exchange, time }] = whole as [{ exchange: MirroredExchange; time: number }];
    assert.equal(time, part.time);
    assert.equal(exchange.requestId, 'r1');
    assert.deepEqual(exchange.shadows.map((s) => [s.name, s.result?.latencyMs]), [['a', 1], ['local', 9], ['b', 2], ['busy', undefined]]);
    assert.ok(exchange.shadows.every((s) => !('copy' in s)), 'copy indexes are the wire\'s, not the record\'s');
    join.primary(7, part, false);
    assert.equal(whole.length, 1, 'a finished exchange is gone');
  }
});

test('a dropped primary part lets the exchange go unlogged; clear() forgets what waits', () => {
  const { join, whole } = joined();
  join.open(1, head, 1);
  join.primary(1, part, true);
  join.answer(1, 0, answer(1));
  join.open(2, head, 1);
  join.open(3, head, 2);
  assert.equal(join.clear(), 2);
  join.answer(2, 0, answer(1));
  join.primary(2, part, false);
  assert.equal(whole.length, 0);
});
