// Reads the newest shadow log records from every file of the log (live and rotated, one pair per
// cluster worker slot) from the end backwards in fixed-size chunks, so showing the last few records
// never loads a large log whole. Read-only; a path that is not a regular file is refused, not waited on.
import { closeSync, constants, existsSync, openSync, readSync, fstatSync } from 'node:fs';
import { logFiles } from './log-files.js';
import type { ShadowLogRecord } from './log-record.js';

const CHUNK_BYTES = 64 * 1024;

export interface ReadOptions {
  limit: number;
  route?: string;
  /** Only records in which some shadow's answer was compared as a mismatch. */
  mismatchesOnly?: boolean;
}

/** The newest `limit` records (optionally of one route, or only mismatches), oldest first. Lines that are not records are skipped. */
export function readLatestRecords(path: string, options: ReadOptions): ShadowLogRecord[] {
  const records: ShadowLogRecord[] = [];
  for (const file of logFiles(path)) {
    if (!existsSync(file)) continue;
    const newestFirst: ShadowLogRecord[] = [];
    for (const line of linesFromEnd(file)) {
      const record = parseRecord(line);
      if (!record || (options.route !== undefined && record.route !== options.route)) continue;
      if (options.mismatchesOnly && !record.shadows.some((shadow) => shadow.comparison?.result === 'mismatch')) continue;
      newestFirst.push(record);
      if (newestFirst.length >= options.limit) break;
    }
    records.push(...newestFirst.reverse());
  }
  // Any record among the newest `limit` overall is among the newest `limit` of its own file.
  return records.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0)).slice(-options.limit);
}

/** Thrown for a log path that cannot be read as a log: a directory, a FIFO, a file without permission. */
export class LogReadError extends Error {}

/** Yields a file's lines last to first; a path that is not a regular file is refused (opened without blocking: a FIFO would wait for a writer). */
function* linesFromEnd(file: string): Generator<string> {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    throw new LogReadError(`cannot read ${file}: ${(error as Error).message}`, { cause: error });
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new LogReadError(`${file} is not a regular file`);
    let position = stat.size;
    let carry = Buffer.alloc(0);
    while (position > 0) {
      const size = Math.min(CHUNK_BYTES, position);
      position -= size;
      const chunk = Buffer.alloc(size);
      readSync(fd, chunk, 0, size, position);
      let buffer = Buffer.concat([chunk, carry]);
      let end = buffer.length;
      for (let i = buffer.length - 1; i >= 0; i--) {
        if (buffer[i] !== 0x0a) continue;
        if (end > i + 1) yield buffer.subarray(i + 1, end).toString('utf8');
        end = i;
      }
      buffer = buffer.subarray(0, end);
      carry = Buffer.from(buffer);
    }
    if (carry.length > 0) yield carry.toString('utf8');
  } finally {
    closeSync(fd);
  }
}

function parseRecord(line: string): ShadowLogRecord | undefined {
  try {
    const value = JSON.parse(line) as Partial<ShadowLogRecord> | null;
    return value && typeof value.route === 'string' && Array.isArray(value.shadows) && value.primary ? (value as ShadowLogRecord) : undefined;
  } catch {
    return undefined;
  }
}
