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

/** Room for queued lines is taken this much at a time (more for a line that needs it). */
const SLAB_BYTES = 256 * 1024;

/** Encoded lines back to back: `used` bytes so far, the first `taken` of them handed to a write, and where each line not taken yet ends. */
class LineSlab {
  readonly bytes: Buffer;
  used = 0;
  taken = 0;
  ends: number[] = [];
  constructor(size: number) {
    this.bytes = Buffer.allocUnsafeSlow(size);
  }
}

export class ShadowLog {
  readonly path: string;
  readonly maxBytes: number;
  readonly #segmentBytes: number;
  readonly #maxQueueBytes: number;
  readonly #onError: (error: Error) => void;
  readonly #onCount: (result: 'written' | 'dropped', count: number) => void;
  /** Lines waiting for the disk, encoded back to back into slabs (newlines included): a line leaves the JavaScript heap at once. */
  #slabs: LineSlab[] = [];
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
    // A line takes at least one byte per UTF-16 code unit, and at most three.
    if (this.#closed || !this.#fits(record.length + 1)) return this.#drop(1);
    let slab = this.#slabs.at(-1);
    const room = record.length * 3 + 1;
    if (!slab || slab.bytes.length - slab.used < room) this.#slabs.push((slab = new LineSlab(Math.max(SLAB_BYTES, room))));
    const start = slab.used;
    const bytes = slab.bytes.write(record, start) + 1;
    if (!this.#fits(bytes)) return this.#drop(1); // the next line takes its place
    slab.bytes[start + bytes - 1] = 0x0a;
    slab.used = start + bytes;
    slab.ends.push(slab.used);
    this.#queuedBytes += bytes;
    if (!this.#flushing && !this.#timer) this.#timer = setTimeout(() => this.#startFlush(), this.#batchMs).unref();
    return true;
  }

  /** Whether a line of `bytes` fits a file segment and the queue. */
  #fits(bytes: number): boolean {
    return bytes <= this.#segmentBytes && this.#queuedBytes + bytes <= this.#maxQueueBytes;
  }

  #startFlush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#flushing) return;
    this.#flushing = this.#flush().finally(() => {
      this.#flushing = undefined;
      // A record queued after the last write (in the same microtask run) waits for the next batch.
      if (this.#pending() && !this.#closed) this.#timer = setTimeout(() => this.#startFlush(), this.#batchMs).unref();
    });
  }

  /** Writes what is queued (waiting at most waitMs), then closes the file. Later appends are dropped. */
  async close(waitMs = 2_000): Promise<void> {
    this.#closed = true;
    const deadline = performance.now() + waitMs;
    while ((this.#pending() || this.#flushing) && performance.now() < deadline) {
      this.#startFlush();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.#flushing, new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - performance.now()))))]);
      clearTimeout(timer);
    }
    if (this.#flushing) return; // the disk is stuck: the pending write closes nothing we wait for
    await this.#handle?.close().catch(() => undefined);
    this.#handle = undefined;
  }

  /** Writes the queued lines, a chunk per write (never past a file segment: rotation falls between chunks). */
  async #flush(): Promise<void> {
    while (this.#pending()) {
      const slabs = this.#slabs;
      // The last slab takes the next lines after these (the write reads only what it was handed).
      this.#slabs = slabs.slice(-1);
      let chunk: Buffer[] = [];
      let chunkBytes = 0;
      let chunkLines = 0;
      for (const slab of slabs) {
        const { ends } = slab;
        slab.ends = [];
        let from = slab.taken;
        let to = from;
        slab.taken = ends.at(-1) ?? from;
        for (const end of ends) {
          if (chunkLines > 0 && this.#fileBytes + chunkBytes + (end - to) > this.#segmentBytes) {
            if (to > from) chunk.push(slab.bytes.subarray(from, to));
            await this.#write(chunk, chunkBytes, chunkLines);
            chunk = [];
            chunkBytes = 0;
            chunkLines = 0;
            from = to;
          }
          chunkBytes += end - to;
          chunkLines++;
          to = end;
        }
        if (to > from) chunk.push(slab.bytes.subarray(from, to));
      }
      await this.#write(chunk, chunkBytes, chunkLines);
    }
  }

  /** Whether lines wait for a write. */
  #pending(): boolean {
    return this.#slabs.some((slab) => slab.ends.length > 0);
  }

  /** Writes one chunk of `count` lines (at most one segment); a failed write drops and counts its records. */
  async #write(chunk: Buffer[], bytes: number, count: number): Promise<void> {
    if (count === 0) return;
    try {
      await this.#append(chunk, bytes, count);
    } catch (error) {
      this.#drop(count);
      await this.#reset();
      this.#onError(error as Error);
    } finally {
      this.#queuedBytes -= bytes;
    }
  }

  /** Appends lines, rotating first when the live file would pass its bound. */
  async #append(chunk: Buffer[], bytes: number, count: number): Promise<void> {
    let handle = await this.#open();
    if (this.#fileBytes + bytes > this.#segmentBytes) {
      await this.#rotate();
      handle = await this.#open();
      if (this.#fileBytes + bytes > this.#segmentBytes) throw new Error(`${this.path} could not be rotated`);
    }
    await handle.writev(chunk);
    this.#fileBytes += bytes;
    this.written += count;
    this.#onCount('written', count);
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
