// The shadow log's worker thread: compares each mirrored exchange's shadow answers with the primary's,
// turns the exchange into a JSON line (recordLine) and writes it through ShadowLog (batched, rotated,
// bounded), reporting comparison counts, what it took, wrote and dropped. Keeps comparison,
// serialization and disk work off the data plane's thread.
import { parentPort, workerData } from 'node:worker_threads';
import { compareAnswers } from './compare.js';
import { compileIgnoredFields } from './ignored-fields.js';
import type { ShadowEntry } from './log-record.js';
import { recordLine } from './log-record.js';
import { readBatch, type ComparisonCount, type FromLogWorker, type ReceivedExchange, type ToLogWorker } from './log-protocol.js';
import { ShadowLog } from './shadow-log.js';

const port = parentPort;
if (!port) throw new Error('the shadow log worker must run in a worker thread');
const send = (message: FromLogWorker) => port.postMessage(message);
const { path, maxBytes } = workerData as { path: string; maxBytes: number };

const log = new ShadowLog({
  path,
  maxBytes,
  onError: (error) => send({ type: 'error', message: error.message }),
  onCount: (result, count) => send({ type: 'count', result, count }),
});

port.on('message', (message: ToLogWorker) => {
  if (message.type === 'records') {
    const counts = new Map<string, ComparisonCount>();
    for (const received of readBatch(message)) log.append(compareAndSerialize(received, counts));
    send({ type: 'compared', counts: [...counts.values()] });
    send({ type: 'taken', count: message.count });
  } else {
    void log.close(message.waitMs).then(() => send({ type: 'closed' }));
  }
});

/** Compares every shadow that answered with the primary, counting results per route and shadow, and returns the record's line. */
function compareAndSerialize({ time, exchange }: ReceivedExchange, counts: Map<string, ComparisonCount>): string {
  const shadows = exchange.shadows.map(({ name, target, result, tolerance, ignore }): ShadowEntry => {
    const comparison = result?.answer ? compareAnswers(exchange.primary.answer, result.answer, tolerance, compileIgnoredFields(ignore), exchange.path) : undefined;
    if (comparison) {
      const id = `${exchange.route}\u0000${name}\u0000${comparison.result}`;
      const count = counts.get(id) ?? { route: exchange.route, shadow: name, result: comparison.result, count: 0 };
      count.count++;
      counts.set(id, count);
    }
    return { name, target, result, comparison };
  });
  return recordLine({ ...exchange, shadows }, new Date(time));
}
