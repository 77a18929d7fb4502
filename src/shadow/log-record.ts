// The shadow log's record: one line per mirrored request, grouped by input, with the primary's and
// every shadow's status, latency, output and comparison. Pure; bodies are left out when captureBodies is off.
import { createHash } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import type { Answer, ShadowAnswer } from './answer.js';
import { isJson, parseJson } from './compare.js';
import type { Comparison } from './comparison.js';

/** A body as logged: parsed JSON when it is JSON, else UTF-8 text, else base64. */
export interface LoggedBody {
  bytes: number;
  contentType?: string;
  json?: unknown;
  text?: string;
  base64?: string;
}

export interface LoggedShadow {
  name: string;
  target: string;
  outcome: ShadowAnswer['outcome'] | 'dropped';
  status: number | null;
  latencyMs: number | null;
  failure?: string;
  output?: LoggedBody;
  comparison?: Comparison;
}

export interface ShadowLogRecord {
  time: string;
  route: string;
  requestId: string;
  key: string | null;
  variant: string;
  method: string;
  path: string;
  input: { digest: string; bytes: number; body?: LoggedBody };
  primary: { variant: string; status: number; latencyMs: number; failure?: string; output?: LoggedBody };
  shadows: LoggedShadow[];
}

export interface RecordInput {
  route: string;
  requestId: string;
  key: string | undefined;
  variant: string;
  method: string;
  path: string;
  body: Buffer | undefined;
  /** The status the client got, and the captured answer when the primary completed. */
  primary: { status: number; answer: Answer | undefined; latencyMs: number; failure?: string };
  shadows: LoggedShadow[];
  captureBodies: boolean;
}

export function buildRecord(input: RecordInput, now = new Date()): ShadowLogRecord {
  const body = input.body ?? Buffer.alloc(0);
  const { answer } = input.primary;
  return {
    time: now.toISOString(),
    route: input.route,
    requestId: input.requestId,
    key: input.key ?? null,
    variant: input.variant,
    method: input.method,
    path: input.path,
    input: { digest: digestOf(body), bytes: body.length, ...(input.captureBodies && body.length > 0 ? { body: loggedBody(body, undefined) } : {}) },
    primary: {
      variant: input.variant,
      status: input.primary.status,
      latencyMs: round(input.primary.latencyMs),
      ...(input.primary.failure ? { failure: input.primary.failure } : {}),
      ...(input.captureBodies && answer?.body ? { output: loggedBody(answer.body, answer.contentType) } : {}),
    },
    shadows: input.shadows,
  };
}

/** The logged form of one shadow's answer and comparison. */
export function loggedShadow(name: string, target: string, result: ShadowAnswer, comparison: Comparison | undefined, captureBodies: boolean): LoggedShadow {
  const { answer } = result;
  return {
    name,
    target,
    outcome: result.outcome,
    status: answer?.status ?? null,
    latencyMs: round(result.latencyMs),
    ...(result.failure ? { failure: result.failure } : {}),
    ...(captureBodies && answer?.body ? { output: loggedBody(answer.body, answer.contentType) } : {}),
    ...(comparison ? { comparison } : {}),
  };
}

export function droppedShadow(name: string, target: string): LoggedShadow {
  return { name, target, outcome: 'dropped', status: null, latencyMs: null };
}

/** First 16 hex digits of the body's SHA-256: equal inputs share a digest. */
export function digestOf(body: Buffer): string {
  return createHash('sha256').update(body).digest('hex').slice(0, 16);
}

function loggedBody(body: Buffer, contentType: string | undefined): LoggedBody {
  const base = { bytes: body.length, ...(contentType ? { contentType } : {}) };
  const json = parseJson(body);
  if (isJson(json)) return { ...base, json };
  if (isUtf8(body)) return { ...base, text: body.toString('utf8') };
  return { ...base, base64: body.toString('base64') };
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
