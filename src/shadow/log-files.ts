// Where the shadow log lives on disk: the configured path, or one file per cluster worker slot
// ("shadow.jsonl" -> "shadow-w1.jsonl") so workers never share a file or race a rotation. Each file
// rotates to FILE.1. Pure naming, plus a read-only directory listing for readers.
import { readdirSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';

/** The file one cluster worker slot writes. */
export function workerLogPath(path: string, slot: number): string {
  const ext = extname(path);
  return join(dirname(path), `${basename(path, ext)}-w${slot}${ext}`);
}

/** Every rotated and live file of the log at `path` (its own pair, then every worker slot's pair), each pair older first. */
export function logFiles(path: string): string[] {
  const ext = extname(path);
  const stem = basename(path, ext);
  const shard = new RegExp(`^${escape(stem)}-w\\d+${escape(ext)}$`);
  let names: string[] = [];
  try {
    names = readdirSync(dirname(path)).filter((name) => shard.test(name)).sort();
  } catch {
    // no directory yet: no files
  }
  return [path, ...names.map((name) => join(dirname(path), name))].flatMap((file) => [`${file}.1`, file]); // older first
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
