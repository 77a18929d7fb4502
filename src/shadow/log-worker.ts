// The shadow log's worker thread: turns the records the data plane sends into JSON lines (recordLine)
// and writes them through ShadowLog (batched, rotated, bounded), reporting what it took, wrote and
// dropped. Keeps serialization and disk work off the data plane's thread.
import { parentPort, workerData } from 'node:worker_threads';
import { recordLine } from './log-record.js';
import { fromWire, type FromLogWorker, type ToLogWorker } from './log-protocol.js';
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
    for (const record of message.records) log.append(recordLine(fromWire(record), new Date(record.time)));
    send({ type: 'taken', count: message.records.length });
  } else {
    void log.close(message.waitMs).then(() => send({ type: 'closed' }));
  }
});
