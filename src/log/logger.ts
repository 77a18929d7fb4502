// The process logger (pino, JSON lines on stdout). Never logs bodies or sticky keys at info level.
// Lines are written asynchronously and never block the process: while stdout is not read (a stalled log
// pipe), up to maxBufferBytes of lines wait, and lines beyond are dropped and counted. At exit the waiting
// lines are written if stdout takes them, and let go if it does not, so a stalled pipe never holds the exit.
import { pino, type Logger } from 'pino';
import { logLinesDroppedTotal } from '../metrics/registry.js';

export type { Logger };

const outputs = new Set<ReturnType<typeof pino.destination>>();
let exiting = false;
// Registered before pino's own exit flush (which would retry a full pipe forever): a full pipe now ends it.
process.on('exit', () => {
  exiting = true;
  for (const output of outputs) {
    try {
      output.flushSync();
    } catch {
      output.destroy();
    }
  }
});

export function createLogger(level: string, maxBufferBytes: number): Logger {
  // process.stdout.fd as pino's default does: opening process.stdout makes a pipe non-blocking, so a full pipe
  // answers EAGAIN (retried later, or at exit given up) instead of blocking a thread in write().
  const stdout = pino.destination({ dest: process.stdout.fd, sync: false, maxLength: maxBufferBytes, retryEAGAIN: () => !exiting });
  stdout.on('drop', () => logLinesDroppedTotal.inc());
  outputs.add(stdout);
  return pino({ level, base: { service: 'abproxy' }, timestamp: pino.stdTimeFunctions.isoTime }, stdout);
}
