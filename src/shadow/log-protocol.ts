// The messages between the shadow log's main-thread side (log-thread.ts) and its worker (log-worker.ts),
// and the conversion of a record's input to and from them. Bodies travel as exact-size copies: a Buffer
// is often a view into a larger pooled ArrayBuffer, which structured cloning would copy whole.
import type { Answer, ShadowAnswer } from './answer.js';
import type { RecordInput, ShadowEntry } from './log-record.js';

interface WireAnswer {
  status: number;
  body: Uint8Array | undefined;
  truncated: boolean;
  contentType: string | undefined;
}

interface WireShadow {
  name: string;
  target: string;
  result: (Omit<ShadowAnswer, 'answer'> & { answer: WireAnswer | undefined }) | undefined;
  comparison: ShadowEntry['comparison'];
}

export interface WireRecord {
  /** When the exchange ended (ms since the epoch): the record's time. */
  time: number;
  input: Omit<RecordInput, 'body' | 'primary' | 'shadows'> & {
    body: Uint8Array | undefined;
    primary: Omit<RecordInput['primary'], 'answer'> & { answer: WireAnswer | undefined };
    shadows: WireShadow[];
  };
}

export type ToLogWorker = { type: 'records'; records: WireRecord[] } | { type: 'close'; waitMs: number };

export type FromLogWorker =
  | { type: 'taken'; count: number }
  | { type: 'count'; result: 'written' | 'dropped'; count: number }
  | { type: 'error'; message: string }
  | { type: 'closed' };

/** The record input as a message; answer bodies only travel when the log keeps bodies. */
export function toWire(input: RecordInput, time: number): WireRecord {
  const keepBodies = input.captureBodies;
  return {
    time,
    input: {
      ...input,
      body: copy(input.body),
      primary: { ...input.primary, answer: wireAnswer(input.primary.answer, keepBodies) },
      shadows: input.shadows.map((s) => ({ ...s, result: s.result && { ...s.result, answer: wireAnswer(s.result.answer, keepBodies) } })),
    },
  };
}

export function fromWire(record: WireRecord): RecordInput {
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

function wireAnswer(answer: Answer | undefined, keepBody: boolean): WireAnswer | undefined {
  if (!answer) return undefined;
  return { status: answer.status, body: keepBody ? copy(answer.body) : undefined, truncated: answer.truncated, contentType: answer.contentType };
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
