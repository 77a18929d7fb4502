// What one side of a comparison answered: status, the captured body (bounded) and the response fields
// that say how to read it, plus the outcome and latency of a shadow copy. Plain data shared by dispatch,
// comparison and the log, with the body parsed as JSON at most once per answer (answerJson).
import { httpStatusOfGrpc } from '../grpc/status.js';
import { INFERENCE_HEADER } from '../http/inference-header.js';

/** The response fields a comparison reads the body by. */
export interface AnswerFields {
  contentType: string | undefined;
  /** Content-Encoding (gzip, deflate, br), when the body is encoded. */
  contentEncoding?: string | undefined;
  /** Inference-Header-Content-Length (OIP binary tensor extension), when it had one. */
  inferenceHeader?: string | undefined;
  /** A gRPC answer's status and message, from its trailers (or its head, in a Trailers-Only answer). */
  grpcStatus?: string | undefined;
  grpcMessage?: string | undefined;
  /** A gRPC answer's grpc-encoding: the compression of its messages flagged compressed. */
  grpcEncoding?: string | undefined;
}

/** Lower-case names of the AnswerFields, with their property. */
export const ANSWER_FIELD_NAMES: ReadonlyMap<string, keyof AnswerFields> = new Map([
  ['content-type', 'contentType'],
  ['content-encoding', 'contentEncoding'],
  [INFERENCE_HEADER, 'inferenceHeader'],
  ['grpc-status', 'grpcStatus'],
  ['grpc-message', 'grpcMessage'],
  ['grpc-encoding', 'grpcEncoding'],
]);

/** Lengths of the AnswerFields' names: any other field is skipped without a look at its name. */
export const ANSWER_FIELD_NAME_LENGTHS: ReadonlySet<number> = new Set([...ANSWER_FIELD_NAMES.keys()].map((name) => name.length));

/** The AnswerFields of a response head, the first value of each (`name(i)` and `value(i)` read field i). */
export function answerFields(count: number, name: (i: number) => string | undefined, value: (i: number) => string | undefined): AnswerFields {
  const fields: AnswerFields = { contentType: undefined };
  for (let i = 0; i < count; i++) {
    const raw = name(i);
    if (raw === undefined || !ANSWER_FIELD_NAME_LENGTHS.has(raw.length)) continue;
    const key = ANSWER_FIELD_NAMES.get(raw.toLowerCase());
    if (key && fields[key] === undefined) fields[key] = value(i);
  }
  return fields;
}

/** Adds a gRPC answer's trailers (node's header object, as undici hands them over HTTP/2) to its fields. */
export function withGrpcTrailers(fields: AnswerFields, trailers: unknown): void {
  if (trailers === null || typeof trailers !== 'object' || Array.isArray(trailers)) return;
  const { 'grpc-status': status, 'grpc-message': message } = trailers as Record<string, unknown>;
  if (typeof status === 'string') fields.grpcStatus = status;
  if (typeof message === 'string') fields.grpcMessage = message;
}

/** An HTTP-equivalent answer whose body was captured up to a byte bound. */
export interface Answer extends AnswerFields {
  status: number;
  /** Captured body; undefined when nothing was captured. */
  body: Buffer | undefined;
  /** True when the body was longer than the capture bound (so it cannot be compared). */
  truncated: boolean;
  /** answerJson's memo: the body parsed as JSON (NOT_JSON when it is not JSON); unset until first asked. */
  parsed?: unknown;
  /** A gRPC answer's memo: its messages read as JSON (NOT_JSON when they do not decode); unset until first asked. */
  grpcParsed?: unknown;
}

/** Whether two answers carry the same body bytes, to be read the same way (content type, encodings, OIP and gRPC fields). */
export function sameAnswerBody(a: Answer | undefined, b: Answer | undefined): boolean {
  return (
    a?.body !== undefined && b?.body !== undefined &&
    a.contentType === b.contentType && a.contentEncoding === b.contentEncoding && a.inferenceHeader === b.inferenceHeader &&
    a.grpcStatus === b.grpcStatus && a.grpcMessage === b.grpcMessage && a.grpcEncoding === b.grpcEncoding && a.body.equals(b.body)
  );
}

/** Marks a body that is not a JSON object or array. */
export const NOT_JSON: unique symbol = Symbol('not json');

/** Parses a body as JSON when it looks like an object or array; NOT_JSON otherwise. */
export function parseJsonBody(body: Buffer): unknown {
  let i = 0;
  while (i < body.length && (body[i] === 0x20 || body[i] === 0x0a || body[i] === 0x0d || body[i] === 0x09)) i++;
  if (body[i] !== 0x7b /* { */ && body[i] !== 0x5b /* [ */) return NOT_JSON;
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch {
    return NOT_JSON;
  }
}

/** The answer's body as JSON (NOT_JSON when it is not, or was not captured), parsed once and kept on the answer. Must not be mutated. */
export function answerJson(answer: Answer): unknown {
  if (!('parsed' in answer)) answer.parsed = answer.body === undefined ? NOT_JSON : parseJsonBody(answer.body);
  return answer.parsed;
}

/** Outcome label of abproxy_shadow_requests_total. */
export type ShadowOutcome = 'ok' | 'error' | 'timeout' | 'dropped';

export const SHADOW_OUTCOMES: readonly ShadowOutcome[] = ['ok', 'error', 'timeout', 'dropped'];

/** A shadow copy's answer; `answer` is undefined when the copy failed before a response (error, timeout). */
export interface ShadowAnswer {
  outcome: Exclude<ShadowOutcome, 'dropped'>;
  latencyMs: number;
  answer: Answer | undefined;
  /** Why the copy failed (error code or message), for the shadow log. */
  failure?: string;
}

/** A shadow answer's outcome: transport failures and 5xx answers (a gRPC answer: by the HTTP status its grpc-status stands for) are errors; any other is ok. */
export function outcomeOfStatus(status: number, grpcStatus?: string): 'ok' | 'error' {
  return (grpcStatus === undefined ? status : httpStatusOfGrpc(grpcStatus)) >= 500 ? 'error' : 'ok';
}
