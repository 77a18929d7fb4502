// The shadow log writer (run by the shadow worker thread, shadow-worker.ts): JSON lines appended through a
// byte-bounded queue and written in batches (one write per batchMs window, or back to back while the disk is busy).
// The live file rotates to PATH.1 at half of maxBytes, so both together stay under maxBytes.
// Never blocks a caller: when the disk falls behind, the queue fills and records are dropped and counted.
// The log is a regular file: a FIFO or device at its path is refused (opening one could block forever).
// A last line cut short by a crash is ended before the first new record.
import { constants } from 'node:fs';
import { open, rename, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openRegularFile } from '../files/regular-file.js';
import { makeDirectory } from './log-directory.js';

const APPEND = constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND;

export interface ShadowLogOptions {
  path: string;
  /** Bound on the live file plus its one rotated predecessor. */
  maxBytes: number;
  /** Bound on records waiting for the disk (default: the smaller of maxBytes / 2 and 8 MiB). */
  maxQueueBytes?: number;
  /** Called when a write fails (the records in it are dropped and counted). */
  onError?: (error: Error) => void;
  /** Records arriving within this window go to disk in one write (default 10 ms). */
  batchMs?: number;
  /** Told how many records were written or dropped, as it happens (for metrics). */
  onCount?: (result: 'written' | 'dropped', count: number) => void;
}

export class ShadowLog {
  readonly path: string;
  readonly maxBytes: number;
  readonly #segmentBytes: number;
  readonly #maxQueueBytes: number;
  readonly #onError: (error: Error) => void;
  readonly #onCount: (result: 'written' | 'dropped', count: number) => void;
  /** Lines waiting for the disk, each already encoded (its newline included): a line leaves the JavaScript heap at once. */
  #queue: Buffer[] = [];
  #queuedBytes = 0;
  #flushing: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  readonly #batchMs: number;
  #handle: FileHandle | undefined;
  #fileBytes = 0;
  #closed = false;
  written = 0;
  dropped = 0;

  constructor(options: ShadowLogOptions) {
    this.path = options.path;
    this.maxBytes = options.maxBytes;
    this.#segmentBytes = Math.floor(options.maxBytes / 2);
    this.#maxQueueBytes = options.maxQueueBytes ?? Math.min(this.#segmentBytes, 8 * 1024 * 1024);
    this.#onError = options.onError ?? (() => undefined);
    this.#batchMs = options.batchMs ?? 10;
    this.#onCount = options.onCount ?? (() => undefined);
  }

  /** Queues one record (a line of JSON without its newline); returns at once. False when the record was dropped. */
  append(record: string): boolean {
    const bytes = Buffer.byteLength(record) + 1;
    if (this.#closed || bytes > this.#segmentBytes || this.#queuedBytes + bytes > this.#maxQueueBytes) return this.#drop(1);
    const line = Buffer.allocUnsafe(bytes);
    line.write(record);
    line[bytes - 1] = 0x0a;
    this.#queue.push(line);
    this.#queuedBytes += bytes;
    if (!this.#flushing && !this.#timer) this.#timer = setTimeout(() => this.#startFlush(), this.#batchMs).unref();
    return true;
  }

  #startFlush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#flushing) return;
    this.#flushing = this.#flush().finally(() => {
      this.#flushing = undefined;
      // A record queued after the last write (in the same microtask run) waits for the next batch.
      if (this.#queue.length > 0 && !this.#closed) this.#timer = setTimeout(() => this.#startFlush(), this.#batchMs).unref();
    });
  }

  /** Writes what is queued (waiting at most waitMs), then closes the file. Later appends are dropped. */
  async close(waitMs = 2_000): Promise<void> {
    this.#closed = true;
    const deadline = performance.now() + waitMs;
    while ((this.#queue.length > 0 || this.#flushing) && performance.now() < deadline) {
      this.#startFlush();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.#flushing, new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - performance.now()))))]);
      clearTimeout(timer);
    }
    if (this.#flushing) return; // the disk is stuck: the pending write closes nothing we wait for
    await this.#handle?.close().catch(() => undefined);
    this.#handle = undefined;
  }

  async #flush(): Promise<void> {
    while (this.#queue.length > 0) {
      const lines = this.#queue;
      this.#queue = [];
      let chunk: Buffer[] = [];
      let chunkBytes = 0;
      for (const line of lines) {
        const bytes = line.length;
        if (chunkBytes > 0 && this.#fileBytes + chunkBytes + bytes > this.#segmentBytes) {
          await this.#write(chunk, chunkBytes);
          chunk = [];
          chunkBytes = 0;
        }
        chunk.push(line);
        chunkBytes += bytes;
      }
      await this.#write(chunk, chunkBytes);
    }
  }

  /** Writes one chunk (at most one segment); a failed write drops and counts its records. */
  async #write(lines: Buffer[], bytes: number): Promise<void> {
    if (lines.length === 0) return;
    try {
      await this.#append(lines, bytes);
    } catch (error) {
      this.#drop(lines.length);
      await this.#reset();
      this.#onError(error as Error);
    } finally {
      this.#queuedBytes -= bytes;
    }
  }

  /** Appends lines, rotating first when the live file would pass its bound. */
  async #append(lines: Buffer[], bytes: number): Promise<void> {
    let handle = await this.#open();
    if (this.#fileBytes + bytes > this.#segmentBytes) {
      await this.#rotate();
      handle = await this.#open();
      if (this.#fileBytes + bytes > this.#segmentBytes) throw new Error(`${this.path} could not be rotated`);
    }
    await handle.write(Buffer.concat(lines, bytes));
    this.#fileBytes += bytes;
    this.written += lines.length;
    this.#onCount('written', lines.length);
  }

  async #open(): Promise<FileHandle> {
    if (this.#handle) return this.#handle;
    await makeDirectory(dirname(this.path));
    // Opened without blocking: a FIFO without a reader fails at once (ENXIO) instead of holding a thread and the worker's exit.
    const file = await openRegularFile(this.path, APPEND);
    if (!file) throw new Error(`${this.path} is not a regular file`);
    const { handle, size } = file;
    this.#fileBytes = size;
    // A line cut short (a crash mid-write) is ended first, so the next record starts a line of its own.
    if (size > 0 && !(await endsWithNewline(this.path, size))) {
      await handle.write('\n');
      this.#fileBytes++;
    }
    this.#handle = handle;
    return handle;
  }

  async #rotate(): Promise<void> {
    await this.#reset();
    await rename(this.path, `${this.path}.1`);
  }

  async #reset(): Promise<void> {
    const handle = this.#handle;
    this.#handle = undefined;
    this.#fileBytes = 0;
    await handle?.close().catch(() => undefined);
  }

  #drop(count: number): false {
    this.dropped += count;
    this.#onCount('dropped', count);
    return false;
  }
}

/** Whether the regular file at `path`, `size` bytes long, ends with a newline. */
async function endsWithNewline(path: string, size: number): Promise<boolean> {
  const reader = await open(path, 'r');
  try {
    const { buffer } = await reader.read(Buffer.alloc(1), 0, 1, size - 1);
    return buffer[0] === 0x0a;
  } finally {
    await reader.close();
  }
}
