// The messages between the shadow log's main-thread side (log-thread.ts) and its worker (log-worker.ts):
// a batch of exchanges whose answers are in but not yet compared goes over; comparison counts, write
// counts and errors come back. A batch travels as one flat array of primitives (each record's fields in a
// fixed order, see WireBatch.add) plus its bodies packed into one ArrayBuffer that is transferred, not
// cloned (records name their bodies by offset and length): cloning one dense array costs a fraction of
// cloning an object per record, on both threads.
import type { Answer, ShadowAnswer } from './answer.js';
import type { ComparisonResult } from './comparison.js';
import type { RecordInput, ShadowEntry } from './log-record.js';

/** A shadow's part of an exchange before comparison: its answer, and the tolerance and ignored fields to compare it with. */
export interface UncomparedShadow extends Omit<ShadowEntry, 'comparison'> {
  tolerance: number;
  /** The shadow's `ignore` paths. */
  ignore: readonly string[];
}

/** A mirrored exchange with every answer in, as the data plane hands it to the log. */
export interface MirroredExchange extends Omit<RecordInput, 'shadows'> {
  shadows: UncomparedShadow[];
}

/** A field of a batch's flat record array. */
export type WireField = string | number | boolean | null;

/** `bodies` is transferred with the message: the sender must not touch it afterwards. */
export type ToLogWorker = { type: 'records'; count: number; fields: WireField[]; bodies: ArrayBuffer } | { type: 'close'; waitMs: number };

/** A received exchange, with the time (ms since the epoch) it ended: its record's time. */
export interface ReceivedExchange {
  time: number;
  exchange: MirroredExchange;
}

export type FromLogWorker =
  | { type: 'taken'; count: number }
  | { type: 'count'; result: 'written' | 'dropped'; count: number }
  | { type: 'compared'; counts: ComparisonCount[] }
  | { type: 'error'; message: string }
  | { type: 'closed' };

/** Comparisons of one batch: how many of each result per route and shadow. */
export interface ComparisonCount {
  route: string;
  shadow: string;
  result: ComparisonResult;
  count: number;
}

const FIRST_CAPACITY = 64 * 1024;

/** One batch being filled: its records' fields, and their bodies packed into a growing buffer. */
export class WireBatch {
  #count = 0;
  readonly #fields: WireField[] = [];
  #bodies = new Uint8Array(0);
  #used = 0;

  /**
   * Adds the exchange, its bodies copied into the batch. Field order (FieldReader.exchange reads the same):
   * time, route, requestId, key, variant, method, path, captureBodies, body; primary status, latencyMs,
   * failure, answer; shadow count, then per shadow name, target, tolerance, ignore (its paths joined by
   * line breaks, null: none), outcome (null: dropped), latencyMs, failure, answer. A body is offset,
   * length (offset -1: none); an answer is status (-1: none), body, truncated, contentType,
   * contentEncoding, inferenceHeader, grpcStatus, grpcMessage.
   */
  add(input: MirroredExchange, time: number): void {
    const f = this.#fields;
    const { primary } = input;
    f.push(time, input.route, input.requestId, input.key ?? null, input.variant, input.method, input.path, input.captureBodies);
    this.#body(input.body);
    f.push(primary.status, primary.latencyMs, primary.failure ?? null);
    this.#answer(primary.answer);
    f.push(input.shadows.length);
    for (const { name, target, tolerance, ignore, result } of input.shadows) {
      f.push(name, target, tolerance, ignore.length > 0 ? ignore.join('\n') : null, result?.outcome ?? null, result?.latencyMs ?? null, result?.failure ?? null);
      this.#answer(result?.answer);
    }
    this.#count++;
  }

  /** Exchanges added so far. */
  get count(): number {
    return this.#count;
  }

  /** The message carrying this batch; transfer `message.bodies`. */
  message(): ToLogWorker & { type: 'records' } {
    return { type: 'records', count: this.#count, fields: this.#fields, bodies: this.#bodies.buffer };
  }

  #answer(answer: Answer | undefined): void {
    if (!answer) {
      this.#fields.push(-1, -1, 0, false, null, null, null, null, null);
      return;
    }
    this.#fields.push(answer.status);
    this.#body(answer.body);
    this.#fields.push(answer.truncated, answer.contentType ?? null, answer.contentEncoding ?? null, answer.inferenceHeader ?? null, answer.grpcStatus ?? null, answer.grpcMessage ?? null);
  }

  #body(body: Buffer | undefined): void {
    if (!body) {
      this.#fields.push(-1, 0);
      return;
    }
    const offset = this.#used;
    const needed = offset + body.length;
    if (needed > this.#bodies.length) {
      const grown = new Uint8Array(Math.max(FIRST_CAPACITY, this.#bodies.length * 2, needed));
      grown.set(this.#bodies.subarray(0, offset));
      this.#bodies = grown;
    }
    this.#bodies.set(body, offset);
    this.#used = needed;
    this.#fields.push(offset, body.length);
  }
}

/** The exchanges of a received batch, in the order they were added; bodies are views into `bodies`. */
export function readBatch(message: ToLogWorker & { type: 'records' }): ReceivedExchange[] {
  const reader = new FieldReader(message.fields, message.bodies);
  const out: ReceivedExchange[] = [];
  for (let i = 0; i < message.count; i++) out.push(reader.exchange());
  return out;
}

/** Reads WireBatch.add's fields back, in the same order. */
class FieldReader {
  #at = 0;
  constructor(
    private readonly fields: readonly WireField[],
    private readonly bodies: ArrayBuffer,
  ) {}

  exchange(): ReceivedExchange {
    const time = this.#number();
    const route = this.#string();
    const requestId = this.#string();
    const key = this.#optionalString();
    const variant = this.#string();
    const method = this.#string();
    const path = this.#string();
    const captureBodies = this.#next() === true;
    const body = this.#body();
    const status = this.#number();
    const latencyMs = this.#number();
    const failure = this.#optionalString();
    const primary: MirroredExchange['primary'] = { status, latencyMs, answer: this.#answer() };
    if (failure !== undefined) primary.failure = failure;
    const shadows: UncomparedShadow[] = [];
    for (let n = this.#number(); n > 0; n--) shadows.push(this.#shadow());
    return { time, exchange: { route, requestId, key, variant, method, path, captureBodies, body, primary, shadows } };
  }

  #shadow(): UncomparedShadow {
    const name = this.#string();
    const target = this.#string();
    const tolerance = this.#number();
    const ignore = this.#optionalString()?.split('\n') ?? [];
    const outcome = this.#next() as ShadowAnswer['outcome'] | null;
    const latencyMs = this.#next() as number | null;
    const failure = this.#optionalString();
    const answer = this.#answer();
    if (outcome === null) return { name, target, tolerance, ignore, result: undefined };
    const result: ShadowAnswer = { outcome, latencyMs: latencyMs ?? 0, answer };
    if (failure !== undefined) result.failure = failure;
    return { name, target, tolerance, ignore, result };
  }

  #answer(): Answer | undefined {
    const status = this.#number();
    const body = this.#body();
    const truncated = this.#next() === true;
    const contentType = this.#optionalString();
    const contentEncoding = this.#optionalString();
    const inferenceHeader = this.#optionalString();
    const grpcStatus = this.#optionalString();
    const grpcMessage = this.#optionalString();
    if (status < 0) return undefined;
    const answer: Answer = { status, body, truncated, contentType };
    if (contentEncoding !== undefined) answer.contentEncoding = contentEncoding;
    if (inferenceHeader !== undefined) answer.inferenceHeader = inferenceHeader;
    if (grpcStatus !== undefined) answer.grpcStatus = grpcStatus;
    if (grpcMessage !== undefined) answer.grpcMessage = grpcMessage;
    return answer;
  }

  #body(): Buffer | undefined {
    const offset = this.#number();
    const length = this.#number();
    return offset < 0 ? undefined : Buffer.from(this.bodies, offset, length);
  }

  #next(): WireField {
    return this.fields[this.#at++] ?? null;
  }

  #number(): number {
    return Number(this.#next());
  }

  #string(): string {
    return String(this.#next());
  }

  #optionalString(): string | undefined {
    const value = this.#next();
    return value === null ? undefined : String(value);
  }
}
