// The process logger (pino, JSON lines on stdout). Never logs bodies or sticky keys at info level.
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'abproxy' }, timestamp: pino.stdTimeFunctions.isoTime });
}
