// The shadow worker thread: sends the HTTP shadow copies of mirrored exchanges over its own undici pools,
// joins their answers with each exchange's primary part (mirror-join.ts), compares every shadow's answer
// with the primary's, turns the exchange into a JSON line (recordLine) and writes it through ShadowLog
// (batched, rotated, bounded). Reports settled copies, comparison counts, and what it took, wrote and
// dropped. Keeps copies, comparison, serialization and disk work off the data plane's thread, and with
// shadowPriority: yield runs below normal CPU priority so that it never takes a core from it.
import { setImmediate as nextTurn } from 'node:timers/promises';
import { parentPort, workerData } from 'node:worker_threads';
import type { Limits } from '../config/schema.js';
import { yieldCpu } from '../threads/thread-priority.js';
import { PoolSet } from '../upstream/pools.js';
import { compareAnswers } from './compare.js';
import type { ComparisonResult } from './comparison.js';
import { sendShadowCopy } from './http-shadow.js';
import { compileIgnoredFields } from './ignored-fields.js';
import type { ShadowEntry } from './log-record.js';
import { recordLine } from './log-record.js';
import { MirrorJoin } from './mirror-join.js';
import { ShadowLog } from './shadow-log.js';
import { readBatch, type ComparisonCount, type ExchangeHead, type FromShadowWorker, type MirroredExchange, type ShadowCopy, type ToShadowWorker } from './shadow-protocol.js';

const port = parentPort;
if (!port) throw new Error('the shadow worker must run in a worker thread');
const send = (message: FromShadowWorker) => port.postMessage(message);
const { path, maxBytes, limits, yieldCpu: yields } = workerData as { path: string; maxBytes: number; limits: Limits; yieldCpu: boolean };

/** Settled copies and comparison counts go back at most this long after they happen. */
const REPORT_DELAY_MS = 2;

const log = new ShadowLog({
  path,
  maxBytes,
  onError: (error) => send({ type: 'error', message: error.message }),
  onCount: (result, count) => {
    report(); // what a record counted reaches the main thread before the record's count
    send({ type: 'count', result, count });
  },
});
const pools = new PoolSet(limits);
const join = new MirrorJoin((exchange, time) => log.append(compareAndSerialize(exchange, time)));
let settled: (string | number)[] = [];
/** One shadow's comparison counts, by result. */
type CountsByResult = Partial<Record<ComparisonResult, ComparisonCount>>;
/** Comparison counts since the last report, by route and shadow. */
let comparisons = new Map<string, Map<string, CountsByResult>>();
let reportTimer: NodeJS.Timeout | undefined;

port.on('message', (message: ToShadowWorker) => {
  switch (message.type) {
    case 'items':
      for (const item of readBatch(message)) {
        if (item.kind === 'exchange') log.append(compareAndSerialize(item.exchange, item.time));
        else if (item.kind === 'mirror') sendCopies(item.id, item.head, item.copies);
        else join.primary(item.id, item.part, item.dropped);
      }
      send({ type: 'taken', count: message.count });
      return;
    case 'pools':
      pools.retain(new Set(message.origins), message.limits).catch((error: unknown) => send({ type: 'error', message: `closing a retired shadow pool failed: ${String(error)}` }));
      return;
    case 'close':
      void close(message.waitMs);
      return;
  }
});
const priorityRefused = yields ? yieldCpu() : undefined;
send(priorityRefused ? { type: 'ready', priorityRefused } : { type: 'ready' });

/** Sends an exchange's copies; its body is copied out of the batch so the batch's buffer is not kept. */
function sendCopies(id: number, head: ExchangeHead, copies: readonly ShadowCopy[]): void {
  const body = head.body && Buffer.from(head.body);
  join.open(id, { ...head, body }, copies.length);
  copies.forEach((copy, index) => {
    void sendShadowCopy(pools, copy, head.method, body).then((answer) => {
      settled.push(head.route, copy.shadow, answer.outcome, answer.latencyMs);
      scheduleReport();
      join.answer(id, index, answer);
    });
  });
}

/** Stops every copy in flight (a shadow never holds up shutdown), logs what that completed, then flushes the log. */
async function close(waitMs: number): Promise<void> {
  await pools.destroyAll();
  await nextTurn(); // the destroyed copies' answers settle
  const unfinished = join.clear();
  if (unfinished > 0) send({ type: 'count', result: 'dropped', count: unfinished });
  report();
  await log.close(waitMs);
  send({ type: 'closed' });
}

function scheduleReport(): void {
  reportTimer ??= setTimeout(report, REPORT_DELAY_MS);
}

function report(): void {
  clearTimeout(reportTimer);
  reportTimer = undefined;
  if (settled.length > 0) send({ type: 'settled', fields: settled });
  if (comparisons.size > 0) send({ type: 'compared', counts: [...comparisons.values()].flatMap((shadows) => [...shadows.values()].flatMap((byResult) => Object.values(byResult))) });
  settled = [];
  comparisons = new Map<string, Map<string, CountsByResult>>();
}

/** Counts one comparison of a route's shadow for the next report. */
function countComparison(route: string, shadow: string, result: ComparisonResult): void {
  let shadows = comparisons.get(route);
  if (!shadows) comparisons.set(route, (shadows = new Map<string, CountsByResult>()));
  let byResult = shadows.get(shadow);
  if (!byResult) shadows.set(shadow, (byResult = {}));
  (byResult[result] ??= { route, shadow, result, count: 0 }).count++;
  scheduleReport();
}

/** Compares every shadow that answered with the primary, counting results per route and shadow, and returns the record's line. */
function compareAndSerialize(exchange: MirroredExchange, time: number): string {
  const shadows = exchange.shadows.map(({ name, target, result, tolerance, ignore }): ShadowEntry => {
    const comparison = result?.answer ? compareAnswers(exchange.primary.answer, result.answer, tolerance, compileIgnoredFields(ignore), exchange.path) : undefined;
    if (comparison) countComparison(exchange.route, name, comparison.result);
    return { name, target, result, comparison };
  });
  return recordLine({ ...exchange, shadows }, new Date(time));
}
