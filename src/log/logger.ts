// The process logger (pino, JSON lines on stdout). Never logs bodies or sticky keys at info level.
// Lines are written asynchronously and never block the process: while stdout is not read (a stalled log
// pipe), up to maxBufferBytes of lines wait, and lines beyond are dropped and counted.
import { pino, type Logger } from 'pino';
import { logLinesDroppedTotal } from '../metrics/registry.js';

export type { Logger };

export function createLogger(level: string, maxBufferBytes: number): Logger {
  const stdout = pino.destination({ dest: 1, sync: false, maxLength: maxBufferBytes });
  stdout.on('drop', () => logLinesDroppedTotal.inc());
  return pino({ level, base: { service: 'abproxy' }, timestamp: pino.stdTimeFunctions.isoTime }, stdout);
}
