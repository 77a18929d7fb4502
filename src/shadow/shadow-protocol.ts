// The messages between the shadow thread's main-thread side (shadow-thread.ts) and its worker
// (shadow-worker.ts). Items go over in batches:
// - a mirror: an exchange's request (route, ids, method, path, body) and the HTTP copies the worker sends;
// - a primary part: that exchange's primary answer and every shadow's place in its record, once the
//   primary has ended (the worker joins it with the copies' answers, then compares and logs);
// - a whole exchange, when no copy went to the worker (local-model shadows answer on the main thread).
// Comparison counts, settled copies, write counts and errors come back. A batch travels as one flat array
// of primitives (each item's fields in a fixed order, see WireBatch) plus its bodies packed into one
// ArrayBuffer that is transferred, not cloned (items name their bodies by offset and length): cloning one
// dense array costs a fraction of cloning an object per item, on both threads. Strings that repeat from
// item to item (names, methods, paths, content types) go once per batch, in its string table, and items
// name them by index; an answer's rarer fields are flagged and sent only when present.
import type { Limits } from '../config/schema.js';
import type { Answer, ShadowAnswer, ShadowOutcome } from './answer.js';
import type { ComparisonResult } from './comparison.js';
import type { RecordInput, ShadowEntry } from './log-record.js';

/** A shadow's part of an exchange before comparison: its answer, and the tolerance and ignored fields to compare it with. */
export interface UncomparedShadow extends Omit<ShadowEntry, 'comparison'> {
  tolerance: number;
  /** The shadow's `ignore` paths. */
  ignore: readonly string[];
}

/** A mirrored exchange with every answer in, as the log takes it. */
export interface MirroredExchange extends Omit<RecordInput, 'shadows'> {
  shadows: UncomparedShadow[];
}

/** What an exchange's record says of the request. */
export type ExchangeHead = Pick<MirroredExchange, 'route' | 'requestId' | 'key' | 'variant' | 'method' | 'path' | 'captureBodies' | 'body' | 'grpcEncoding'>;

/** One HTTP copy for the worker to send (the exchange's body is its body). */
export interface ShadowCopy {
  /** The shadow's name (its metrics and in-flight slot). */
  shadow: string;
  origin: string;
  path: string;
  /** Over HTTP/2 (a gRPC call's copy). */
  http2: boolean;
  /** Flat [name, value, ...], hop-by-hop fields already removed. */
  headers: string[];
  timeoutMs: number;
  /** Keep at most this many answer bytes. */
  maxBytes: number;
}

/** A shadow in a primary part: `copy` is the index of its copy in the exchange's mirror (its result is then the worker's). */
export interface PrimaryShadow extends UncomparedShadow {
  copy?: number;
}

/**
 * A shadow as its record takes it, with `result` in place and without the wire's copy index. A fixed-shape
 * literal: a rest pattern ({ copy, ...shadow }) builds a dictionary-mode object, ~15x slower here.
 */
export function uncomparedShadow({ name, target, tolerance, ignore }: UncomparedShadow, result: ShadowAnswer | undefined): UncomparedShadow {
  return { name, target, tolerance, ignore, result };
}

/**
 * A whole exchange from its request's head, its primary and its shadows. A literal: a spread followed by
 * fields the head lacks ({ ...head, primary, shadows }) takes V8's slow path, about 1 us an exchange.
 */
export function mirroredExchange(head: ExchangeHead, primary: MirroredExchange['primary'], shadows: UncomparedShadow[]): MirroredExchange {
  const { route, requestId, key, variant, method, path, captureBodies, body, grpcEncoding } = head;
  const exchange: MirroredExchange = { route, requestId, key, variant, method, path, captureBodies, body, primary, shadows };
  if (grpcEncoding !== undefined) exchange.grpcEncoding = grpcEncoding;
  return exchange;
}

/** An exchange's record once its primary has ended: the primary, and every shadow (results of copies still to come). */
export interface PrimaryPart {
  /** ms since the epoch the primary ended: the record's time. */
  time: number;
  primary: MirroredExchange['primary'];
  shadows: PrimaryShadow[];
}

/** A field of a batch's flat item array. */
export type WireField = string | number | boolean | null;

/** `bodies` is transferred with the message: the sender must not touch it afterwards. */
export type ToShadowWorker =
  | { type: 'items'; count: number; fields: WireField[]; strings: string[]; bodies: ArrayBuffer }
  /** Keep pools for these origins (closing the others); pools made from now on get these limits. */
  | { type: 'pools'; origins: string[]; limits: Limits }
  | { type: 'close'; waitMs: number };

export type ReceivedItem =
  | { kind: 'exchange'; time: number; exchange: MirroredExchange }
  | { kind: 'mirror'; id: number; head: ExchangeHead; copies: ShadowCopy[] }
  /** `dropped`: the record does not fit the bound; its bodies were left out and it is not written. */
  | { kind: 'primary'; id: number; dropped: boolean; part: PrimaryPart };

export type FromShadowWorker =
  /** The worker has loaded and takes items; `priorityRefused` says why it could not lower its CPU priority. */
  | { type: 'ready'; priorityRefused?: string }
  | { type: 'taken'; count: number }
  | { type: 'count'; result: 'written' | 'dropped'; count: number }
  | { type: 'compared'; counts: ComparisonCount[] }
  /** Copies that ended: route, shadow, outcome, latency in ms, for each in turn. */
  | { type: 'settled'; fields: (string | number)[] }
  | { type: 'error'; message: string }
  | { type: 'closed' };

/** Comparisons of one batch: how many of each result per route and shadow. */
export interface ComparisonCount {
  route: string;
  shadow: string;
  result: ComparisonResult;
  count: number;
}

/** Reads a 'settled' message's fields back. */
export function* settledCopies(fields: readonly (string | number)[]): Generator<{ route: string; shadow: string; outcome: Exclude<ShadowOutcome, 'dropped'>; latencyMs: number }> {
  for (let i = 0; i + 3 < fields.length; i += 4) {
    yield { route: String(fields[i]), shadow: String(fields[i + 1]), outcome: fields[i + 2] as Exclude<ShadowOutcome, 'dropped'>, latencyMs: Number(fields[i + 3]) };
  }
}

const FIRST_CAPACITY = 4 * 1024;
const EXCHANGE = 0;
const MIRROR = 1;
const PRIMARY = 2;

/** An answer's fields sent only when present, and the flag of each in its `present` field. */
const RARE_ANSWER_FIELDS = ['contentEncoding', 'inferenceHeader', 'grpcStatus', 'grpcMessage', 'grpcEncoding'] as const;

/** One batch being filled: its items' fields, its string table, and their bodies packed into a growing buffer. */
export class WireBatch {
  #count = 0;
  readonly #fields: WireField[] = [];
  readonly #strings: string[] = [];
  readonly #stringIndex = new Map<string, number>();
  #bodies = new Uint8Array(0);
  #used = 0;

  /**
   * A whole exchange. Field order (FieldReader reads the same): kind, time, head, primary part.
   * Head: route*, requestId, key, variant*, method*, path*, captureBodies, body, grpcEncoding. Primary part:
   * status, latencyMs, failure, answer; shadow count, then per shadow name*, target*, tolerance, ignore* (its
   * paths joined by line breaks, null: none), copy (-1: none), outcome (null: dropped), latencyMs, failure,
   * answer. A body is offset, length (offset -1: none); an answer is status (-1: none, and nothing follows),
   * body, truncated, contentType* (null: none), the flags of the RARE_ANSWER_FIELDS present, then those.
   * Fields marked * are indexes into the batch's string table.
   */
  add(input: MirroredExchange, time: number): void {
    this.#fields.push(EXCHANGE, time);
    this.#head(input);
    this.#primary(input.primary, input.shadows);
    this.#count++;
  }

  /**
   * The exchange's request and the copies to send: kind, id, head, copy count, then per copy shadow*, origin*,
   * path, http2, header count, headers (names*, values), timeoutMs, maxBytes.
   */
  addMirror(id: number, head: ExchangeHead, copies: readonly ShadowCopy[]): void {
    const f = this.#fields;
    f.push(MIRROR, id);
    this.#head(head);
    f.push(copies.length);
    for (const copy of copies) {
      f.push(this.#string(copy.shadow), this.#string(copy.origin), copy.path, copy.http2, copy.headers.length);
      copy.headers.forEach((field, i) => f.push(i % 2 === 0 ? this.#string(field) : field));
      f.push(copy.timeoutMs, copy.maxBytes);
    }
    this.#count++;
  }

  /** An exchange's primary part: kind, id, dropped, time, primary part (with no answer body when dropped). */
  addPrimary(id: number, part: PrimaryPart, dropped: boolean): void {
    this.#fields.push(PRIMARY, id, dropped, part.time);
    this.#primary(part.primary, part.shadows, dropped);
    this.#count++;
  }

  /** Items added so far. */
  get count(): number {
    return this.#count;
  }

  /** The message carrying this batch; transfer `message.bodies`. */
  message(): ToShadowWorker & { type: 'items' } {
    return { type: 'items', count: this.#count, fields: this.#fields, strings: this.#strings, bodies: this.#bodies.buffer };
  }

  /** The index of `value` in the batch's string table (added the first time). */
  #string(value: string): number {
    let index = this.#stringIndex.get(value);
    if (index === undefined) {
      index = this.#strings.push(value) - 1;
      this.#stringIndex.set(value, index);
    }
    return index;
  }

  #head(head: ExchangeHead): void {
    this.#fields.push(this.#string(head.route), head.requestId, head.key ?? null, this.#string(head.variant), this.#string(head.method), this.#string(head.path), head.captureBodies);
    this.#body(head.body);
    this.#fields.push(head.grpcEncoding ?? null);
  }

  #primary(primary: MirroredExchange['primary'], shadows: readonly PrimaryShadow[], withoutBodies = false): void {
    const f = this.#fields;
    f.push(primary.status, primary.latencyMs, primary.failure ?? null);
    this.#answer(primary.answer, withoutBodies);
    f.push(shadows.length);
    for (const { name, target, tolerance, ignore, copy, result } of shadows) {
      f.push(this.#string(name), this.#string(target), tolerance, ignore.length > 0 ? this.#string(ignore.join('\n')) : null, copy ?? -1, result?.outcome ?? null, result?.latencyMs ?? null, result?.failure ?? null);
      this.#answer(result?.answer, withoutBodies);
    }
  }

  #answer(answer: Answer | undefined, withoutBody = false): void {
    const f = this.#fields;
    if (!answer) {
      f.push(-1);
      return;
    }
    f.push(answer.status);
    this.#body(withoutBody ? undefined : answer.body);
    f.push(answer.truncated, answer.contentType === undefined ? null : this.#string(answer.contentType));
    let present = 0;
    RARE_ANSWER_FIELDS.forEach((name, bit) => {
      if (answer[name] !== undefined) present |= 1 << bit;
    });
    f.push(present);
    if (present !== 0) for (const name of RARE_ANSWER_FIELDS) if (answer[name] !== undefined) f.push(answer[name]);
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

/** The items of a received batch, in the order they were added; bodies are views into `bodies`. */
export function readBatch(message: ToShadowWorker & { type: 'items' }): ReceivedItem[] {
  const reader = new FieldReader(message.fields, message.strings, message.bodies);
  const out: ReceivedItem[] = [];
  for (let i = 0; i < message.count; i++) out.push(reader.item());
  return out;
}

/** Reads WireBatch's fields back, in the same order. */
class FieldReader {
  #at = 0;
  constructor(
    private readonly fields: readonly WireField[],
    private readonly strings: readonly string[],
    private readonly bodies: ArrayBuffer,
  ) {}

  item(): ReceivedItem {
    const kind = this.#number();
    if (kind === MIRROR) {
      const id = this.#number();
      const head = this.#head();
      const copies: ShadowCopy[] = [];
      for (let n = this.#number(); n > 0; n--) copies.push(this.#copy());
      return { kind: 'mirror', id, head, copies };
    }
    if (kind === PRIMARY) {
      const id = this.#number();
      const dropped = this.#next() === true;
      const time = this.#number();
      return { kind: 'primary', id, dropped, part: { time, ...this.#primary() } };
    }
    const time = this.#number();
    const head = this.#head();
    const { primary, shadows } = this.#primary();
    return { kind: 'exchange', time, exchange: mirroredExchange(head, primary, shadows.map((shadow) => uncomparedShadow(shadow, shadow.result))) };
  }

  #head(): ExchangeHead {
    const route = this.#tabled();
    const requestId = this.#string();
    const key = this.#optionalString();
    const variant = this.#tabled();
    const method = this.#tabled();
    const path = this.#tabled();
    const captureBodies = this.#next() === true;
    const body = this.#body();
    const head: ExchangeHead = { route, requestId, key, variant, method, path, captureBodies, body };
    const grpcEncoding = this.#optionalString();
    if (grpcEncoding !== undefined) head.grpcEncoding = grpcEncoding;
    return head;
  }

  #copy(): ShadowCopy {
    const shadow = this.#tabled();
    const origin = this.#tabled();
    const path = this.#string();
    const http2 = this.#next() === true;
    const headers: string[] = [];
    for (let n = this.#number(); n > 0; n -= 2) headers.push(this.#tabled(), this.#string());
    return { shadow, origin, path, http2, headers, timeoutMs: this.#number(), maxBytes: this.#number() };
  }

  #primary(): Omit<PrimaryPart, 'time'> {
    const status = this.#number();
    const latencyMs = this.#number();
    const failure = this.#optionalString();
    const primary: MirroredExchange['primary'] = { status, latencyMs, answer: this.#answer() };
    if (failure !== undefined) primary.failure = failure;
    const shadows: PrimaryShadow[] = [];
    for (let n = this.#number(); n > 0; n--) shadows.push(this.#shadow());
    return { primary, shadows };
  }

  #shadow(): PrimaryShadow {
    const name = this.#tabled();
    const target = this.#tabled();
    const tolerance = this.#number();
    const ignore = this.#optionalTabled()?.split('\n') ?? [];
    const copy = this.#number();
    const outcome = this.#next() as ShadowAnswer['outcome'] | null;
    const latencyMs = this.#next() as number | null;
    const failure = this.#optionalString();
    const answer = this.#answer();
    const shadow: PrimaryShadow = { name, target, tolerance, ignore, result: undefined };
    if (copy >= 0) shadow.copy = copy;
    if (outcome === null) return shadow;
    shadow.result = { outcome, latencyMs: latencyMs ?? 0, answer };
    if (failure !== undefined) shadow.result.failure = failure;
    return shadow;
  }

  #answer(): Answer | undefined {
    const status = this.#number();
    if (status < 0) return undefined;
    const body = this.#body();
    const truncated = this.#next() === true;
    const answer: Answer = { status, body, truncated, contentType: this.#optionalTabled() };
    const present = this.#number();
    if (present !== 0) RARE_ANSWER_FIELDS.forEach((name, bit) => {
      if (present & (1 << bit)) answer[name] = this.#string();
    });
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

  /** A string sent as its index in the batch's string table. */
  #tabled(): string {
    return this.strings[this.#number()] ?? '';
  }

  #optionalTabled(): string | undefined {
    const value = this.#next();
    return value === null ? undefined : (this.strings[Number(value)] ?? '');
  }
}
