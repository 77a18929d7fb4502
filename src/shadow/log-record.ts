// The shadow log's record: one JSON line per mirrored request, grouped by input, with the primary's and
// every shadow's status, latency, output and comparison. recordLine writes it; the types below are what
// readers get back. The line is written field by field (strings quoted as JSON.stringify would), not by
// serializing objects. A JSON body is written as its own text: checked as JSON without being parsed
// (unless comparison parsed it already), re-serialized only when it spans lines; a gRPC call and answer as
// their OIP messages read as JSON (the answer with its grpc-status); bodies are left out when
// captureBodies is off. Pure (it remembers the last time it wrote as text).
import { hash } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import { grpcRequestBodyJson } from '../grpc/oip-messages.js';
import { decodeGrpcMessage, isGrpc } from '../grpc/status.js';
import { inferenceHeaderLength } from '../http/inference-header.js';
import { NOT_JSON, parseJsonBody, sameAnswerBody, type Answer, type AnswerFields, type ShadowAnswer } from './answer.js';
import { answerContent } from './compare.js';
import { comparisonJson, type Comparison } from './comparison.js';
import { isJsonContainer, jsonNumber, quoted } from './json-text.js';

/** A body as logged: parsed JSON when it is JSON, else UTF-8 text, else base64. */
export interface LoggedBody {
  bytes: number;
  contentType?: string;
  /** Content-Encoding of the body as logged (it is logged as received). */
  contentEncoding?: string;
  /** Length of the JSON part of an OIP binary tensor extension body (its Inference-Header-Content-Length). */
  jsonBytes?: number;
  /** A gRPC answer's status and message; its messages are logged as `json` when they are OIP messages that decode. */
  grpcStatus?: string;
  grpcMessage?: string;
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

/** One shadow's part of a record: its answer (undefined when the copy was dropped at maxInFlight) and comparison. */
export interface ShadowEntry {
  name: string;
  target: string;
  result: ShadowAnswer | undefined;
  comparison: Comparison | undefined;
}

export interface RecordInput {
  route: string;
  requestId: string;
  key: string | undefined;
  variant: string;
  method: string;
  path: string;
  body: Buffer | undefined;
  /** A gRPC call's grpc-encoding: the compression of its request messages flagged compressed. */
  grpcEncoding?: string;
  /** The status the client got, and the captured answer when the primary completed. */
  primary: { status: number; answer: Answer | undefined; latencyMs: number; failure?: string };
  shadows: ShadowEntry[];
  captureBodies: boolean;
}

/** The record as one line of JSON (no newline), in ShadowLogRecord's shape. */
export function recordLine(input: RecordInput, now = new Date()): string {
  const body = input.body ?? EMPTY;
  const { primary, path } = input;
  const capture = input.captureBodies;
  const variant = quoted(input.variant);
  const head =
    `{"time":"${isoTime(now.getTime())}","route":${quoted(input.route)},"requestId":${quoted(input.requestId)},` +
    `"key":${input.key === undefined ? 'null' : quoted(input.key)},"variant":${variant},"method":${quoted(input.method)},"path":${quoted(path)}`;
  const inputJson = `{"digest":"${digestOf(body)}","bytes":${body.length}${capture && body.length > 0 ? `,"body":${inputBodyJson(body, path, input.grpcEncoding)}` : ''}}`;
  const primaryOutput = capture ? outputField(primary.answer, path) : '';
  const primaryJson = `{"variant":${variant},"status":${primary.status},"latencyMs":${latency(primary.latencyMs)}${failureField(primary.failure)}${primaryOutput}}`;
  // A shadow that answered as the primary did, byte for byte, logs the primary's output text.
  const output = (answer: Answer | undefined) => (!capture ? '' : sameAnswerBody(answer, primary.answer) ? primaryOutput : outputField(answer, path));
  const shadows = input.shadows.map((entry) => shadowJson(entry, output)).join(',');
  return `${head},"input":${inputJson},"primary":${primaryJson},"shadows":[${shadows}]}`;
}

/** The last millisecond written and its ISO text: the records of one batch mostly share their millisecond. */
let lastTime = { ms: Number.NaN, iso: '' };

/** `ms` as an ISO 8601 UTC time (Date#toISOString), the last one remembered. */
function isoTime(ms: number): string {
  if (ms !== lastTime.ms) lastTime = { ms, iso: new Date(ms).toISOString() };
  return lastTime.iso;
}

/** First 16 hex digits of the body's SHA-256: equal inputs share a digest. */
export function digestOf(body: Buffer): string {
  return hash('sha256', body, 'hex').slice(0, 16);
}

const EMPTY = Buffer.alloc(0);

function shadowJson({ name, target, result, comparison }: ShadowEntry, output: (answer: Answer | undefined) => string): string {
  const head = `{"name":${quoted(name)},"target":${quoted(target)}`;
  if (!result) return `${head},"outcome":"dropped","status":null,"latencyMs":null}`;
  const { answer } = result;
  return (
    `${head},"outcome":"${result.outcome}","status":${answer ? answer.status : 'null'},"latencyMs":${latency(result.latencyMs)}${failureField(result.failure)}` +
    `${output(answer)}${comparison ? `,"comparison":${comparisonJson(comparison)}` : ''}}`
  );
}

function failureField(failure: string | undefined): string {
  return failure === undefined ? '' : `,"failure":${quoted(failure)}`;
}

function outputField(answer: Answer | undefined, path: string): string {
  if (!answer?.body) return '';
  return `,"output":${isGrpc(answer.contentType) ? grpcBodyJson(answer.body, answer, answerContent(answer, path)) : bodyJson(answer.body, answer, 'parsed' in answer ? answer.parsed : UNPARSED)}`;
}

/** The request body as a LoggedBody; a gRPC OIP call's messages as JSON. */
function inputBodyJson(body: Buffer, path: string, grpcEncoding: string | undefined): string {
  const call = grpcRequestBodyJson(path, body, grpcEncoding);
  return call === undefined ? bodyJson(body, { contentType: undefined }, UNPARSED) : JSON.stringify({ bytes: body.length, json: call });
}

/** A gRPC answer as a LoggedBody: its status, and its messages as JSON when they decode (else the bytes as base64). */
function grpcBodyJson(body: Buffer, answer: Answer, content: unknown): string {
  const { contentType, grpcStatus, grpcMessage } = answer;
  const logged: LoggedBody = { bytes: body.length, ...(contentType ? { contentType } : {}), ...(grpcStatus ? { grpcStatus } : {}), ...(grpcMessage ? { grpcMessage: decodeGrpcMessage(grpcMessage) } : {}) };
  if (content !== NOT_JSON) logged.json = content;
  else if (body.length > 0) logged.base64 = body.toString('base64');
  return JSON.stringify(logged);
}

/** Marks a body not parsed yet (a parsed body is its value, or NOT_JSON). */
const UNPARSED: unique symbol = Symbol('unparsed');

/**
 * A LoggedBody: a JSON object or array as its own text (checked, not parsed, unless it was parsed
 * already; parsed and re-serialized when it spans lines), else text or base64.
 */
function bodyJson(body: Buffer, fields: AnswerFields, parsed: unknown): string {
  const { contentType, contentEncoding } = fields;
  // The JSON part's length counts the body before any Content-Encoding.
  const jsonBytes = inferenceHeaderLength(fields.inferenceHeader, contentEncoding ? Number.MAX_SAFE_INTEGER : body.length);
  const head =
    `{"bytes":${body.length}${contentType ? `,"contentType":${quoted(contentType)}` : ''}` +
    `${contentEncoding ? `,"contentEncoding":${quoted(contentEncoding)}` : ''}${jsonBytes === undefined ? '' : `,"jsonBytes":${jsonBytes}`}`;
  if (body.includes(0x0a) || body.includes(0x0d)) {
    const value = parsed === UNPARSED ? parseJsonBody(body) : parsed;
    if (value !== NOT_JSON) return `${head},"json":${JSON.stringify(value)}}`;
  } else if (parsed === UNPARSED ? isJsonContainer(body) : parsed !== NOT_JSON) return `${head},"json":${body.toString('utf8')}}`;
  if (isUtf8(body)) return `${head},"text":${JSON.stringify(body.toString('utf8'))}}`;
  return `${head},"base64":"${body.toString('base64')}"}`;
}

/** A latency in milliseconds, to the microsecond. */
function latency(ms: number): string {
  return jsonNumber(Math.round(ms * 1000) / 1000);
}
