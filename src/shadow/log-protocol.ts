// The messages between the shadow log's main-thread side (log-thread.ts) and its worker (log-worker.ts):
// an exchange whose answers are in but not yet compared goes over; comparison counts, write counts and
// errors come back. Bodies travel as exact-size copies: a Buffer is often a view into a larger pooled
// ArrayBuffer, which structured cloning would copy whole.
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

interface WireAnswer {
  status: number;
  body: Uint8Array | undefined;
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
    body: Uint8Array | undefined;
    primary: Omit<RecordInput['primary'], 'answer'> & { answer: WireAnswer | undefined };
    shadows: WireShadow[];
  };
}

export type ToLogWorker = { type: 'records'; records: WireRecord[] } | { type: 'close'; waitMs: number };

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

/** The exchange as a message. */
export function toWire(input: MirroredExchange, time: number): WireRecord {
  return {
    time,
    input: {
      ...input,
      body: copy(input.body),
      primary: { ...input.primary, answer: wireAnswer(input.primary.answer) },
      shadows: input.shadows.map((s) => ({ ...s, result: s.result && { ...s.result, answer: wireAnswer(s.result.answer) } })),
    },
  };
}

export function fromWire(record: WireRecord): MirroredExchange {
  const { input } = record;
  return {
    ...input,
    body: buffer(input.body),
    primary: { ...input.primary, answer: answerOf(input.primary.answer) },
    shadows: input.shadows.map((s) => ({ ...s, result: s.result && { ...s.result, answer: answerOf(s.result.answer) } })),
  };
}

/** The wire size of a record's bodies, for the sender's bound on records in transit. */
export function wireBytes(record: WireRecord): number {
  const { input } = record;
  let bytes = input.body?.length ?? 0;
  bytes += input.primary.answer?.body?.length ?? 0;
  for (const s of input.shadows) bytes += s.result?.answer?.body?.length ?? 0;
  return bytes;
}

function wireAnswer(answer: Answer | undefined): WireAnswer | undefined {
  return answer && { status: answer.status, body: copy(answer.body), truncated: answer.truncated, contentType: answer.contentType };
}

function answerOf(answer: WireAnswer | undefined): Answer | undefined {
  return answer && { ...answer, body: buffer(answer.body) };
}

function copy(body: Buffer | undefined): Uint8Array | undefined {
  return body && new Uint8Array(body);
}

function buffer(body: Uint8Array | undefined): Buffer | undefined {
  return body && Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}
