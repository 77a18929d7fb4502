// The messages between the shadow log's main-thread side (log-thread.ts) and its worker (log-worker.ts):
// a batch of exchanges whose answers are in but not yet compared goes over; comparison counts, write
// counts and errors come back. A batch's bodies are packed into one ArrayBuffer that is transferred,
// not cloned (records name their bodies by offset and length), so a record costs no allocation per body
// on either side.
import type { Answer, ShadowAnswer } from './answer.js';
import type { ComparisonResult } from './comparison.js';
import type { RecordInput, ShadowEntry } from './log-record.js';

/** A shadow's part of an exchange before comparison: its answer and the tolerance to compare it with. */
export interface UncomparedShadow extends Omit<ShadowEntry, 'comparison'> {
  tolerance: number;
}

/** A mirrored exchange with every answer in, as the data plane hands it to the log. */
export interface MirroredExchange extends Omit<RecordInput, 'shadows'> {
  shadows: UncomparedShadow[];
}

/** Where a body sits in its batch's packed bodies; -1 offset: no body. */
interface WireBody {
  offset: number;
  length: number;
}

interface WireAnswer {
  status: number;
  body: WireBody;
  truncated: boolean;
  contentType: string | undefined;
}

interface WireShadow extends Omit<UncomparedShadow, 'result'> {
  result: (Omit<ShadowAnswer, 'answer'> & { answer: WireAnswer | undefined }) | undefined;
}

export interface WireRecord {
  /** When the exchange ended (ms since the epoch): the record's time. */
  time: number;
  input: Omit<MirroredExchange, 'body' | 'primary' | 'shadows'> & {
    body: WireBody;
    primary: Omit<RecordInput['primary'], 'answer'> & { answer: WireAnswer | undefined };
    shadows: WireShadow[];
  };
}

/** `bodies` is transferred with the message: the sender must not touch it afterwards. */
export type ToLogWorker = { type: 'records'; records: WireRecord[]; bodies: ArrayBuffer } | { type: 'close'; waitMs: number };

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

const NO_BODY: WireBody = { offset: -1, length: 0 };
const FIRST_CAPACITY = 64 * 1024;

/** One batch being filled: its records and their bodies, packed into a growing buffer. */
export class WireBatch {
  readonly records: WireRecord[] = [];
  #bodies = new Uint8Array(0);
  #used = 0;

  /** Adds the exchange, its bodies copied into the batch. */
  add(input: MirroredExchange, time: number): void {
    this.records.push({
      time,
      input: {
        ...input,
        body: this.#pack(input.body),
        primary: { ...input.primary, answer: this.#answer(input.primary.answer) },
        shadows: input.shadows.map((s) => ({ ...s, result: s.result && { ...s.result, answer: this.#answer(s.result.answer) } })),
      },
    });
  }

  /** The message carrying this batch; transfer `message.bodies`. */
  message(): ToLogWorker & { type: 'records' } {
    return { type: 'records', records: this.records, bodies: this.#bodies.buffer };
  }

  #answer(answer: Answer | undefined): WireAnswer | undefined {
    return answer && { status: answer.status, body: this.#pack(answer.body), truncated: answer.truncated, contentType: answer.contentType };
  }

  #pack(body: Buffer | undefined): WireBody {
    if (!body) return NO_BODY;
    const offset = this.#used;
    const needed = offset + body.length;
    if (needed > this.#bodies.length) {
      const grown = new Uint8Array(Math.max(FIRST_CAPACITY, this.#bodies.length * 2, needed));
      grown.set(this.#bodies.subarray(0, offset));
      this.#bodies = grown;
    }
    this.#bodies.set(body, offset);
    this.#used = needed;
    return { offset, length: body.length };
  }
}

/** A received record as the exchange it was, its bodies as views into the batch's `bodies`. */
export function fromWire(record: WireRecord, bodies: ArrayBuffer): MirroredExchange {
  const { input } = record;
  const answerOf = (answer: WireAnswer | undefined): Answer | undefined => answer && { ...answer, body: view(bodies, answer.body) };
  return {
    ...input,
    body: view(bodies, input.body),
    primary: { ...input.primary, answer: answerOf(input.primary.answer) },
    shadows: input.shadows.map((s) => ({ ...s, result: s.result && { ...s.result, answer: answerOf(s.result.answer) } })),
  };
}

function view(bodies: ArrayBuffer, body: WireBody): Buffer | undefined {
  return body.offset < 0 ? undefined : Buffer.from(bodies, body.offset, body.length);
}
