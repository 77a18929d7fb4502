// Compares a shadow's answer with the primary's once both are in: status (and grpc-status) first, then
// (after undoing any Content-Encoding) Open Inference Protocol tensors (also from binary tensor
// extension answers and OIP gRPC messages),
// KServe V1 / TF Serving predictions as a tensor, other JSON (a server-sent events stream read as JSON)
// structurally with tolerance (minus the ignored fields), anything else byte for byte. Pure; never throws.
import { grpcAnswerJson } from '../grpc/oip-messages.js';
import { isGrpc } from '../grpc/status.js';
import { inferenceHeaderLength } from '../http/inference-header.js';
import { readBinaryBody } from '../models/binary-tensors.js';
import { answerJson, NOT_JSON, sameAnswerBody, type Answer } from './answer.js';
import { compareJson } from './compare-json.js';
import { compareOip, isOipResponse } from './compare-oip.js';
import { comparePredictions, predictionsTensor } from './compare-predictions.js';
import type { Comparison } from './comparison.js';
import { decodedBody } from '../http/content-decoding.js';
import { eventStreamJson, isEventStream } from './event-stream.js';
import type { IgnoredFields } from './ignored-fields.js';

/**
 * `ignored`: JSON fields left out of a structural comparison (tensors and predictions are compared on
 * their own). `path`: the request's path, which for a gRPC answer names the method its messages answer.
 */
export function compareAnswers(primary: Answer | undefined, shadow: Answer, tolerance: number, ignored?: IgnoredFields, path = ''): Comparison {
  if (!primary) return incomparable('the primary failed before answering');
  if (primary.body === undefined) return incomparable('the primary body was not captured');
  if (primary.truncated) return incomparable('the primary body exceeded the capture bound');
  if (shadow.truncated || shadow.body === undefined) return incomparable('the shadow body exceeded the capture bound');
  if (primary.status !== shadow.status) return { result: 'mismatch', kind: 'status', reason: `status ${primary.status} vs ${shadow.status}` };
  if (primary.grpcStatus !== shadow.grpcStatus) {
    return { result: 'mismatch', kind: 'status', reason: `grpc-status ${primary.grpcStatus ?? 'none'} vs ${shadow.grpcStatus ?? 'none'}` };
  }
  const a = decoded(primary, primary.body);
  const b = decoded(shadow, shadow.body);
  if (!a) return incomparable(`the primary body could not be decoded (Content-Encoding: ${primary.contentEncoding})`);
  if (!b) return incomparable(`the shadow body could not be decoded (Content-Encoding: ${shadow.contentEncoding})`);
  try {
    const ja = comparable(a, a.body, path);
    sharePlainJson(a, b);
    const jb = comparable(b, b.body, path);
    if (ja !== NOT_JSON && jb !== NOT_JSON) {
      if (isOipResponse(ja) && isOipResponse(jb)) return compareOip(ja, jb, tolerance);
      const pa = predictionsTensor(ja);
      const pb = pa && predictionsTensor(jb);
      if (pa && pb) return comparePredictions(pa, pb, tolerance);
      return compareJson(ja, jb, tolerance, ignored);
    }
  } catch (error) {
    return incomparable(`comparison failed: ${(error as Error).message}`);
  }
  const same = a.body.equals(b.body);
  return {
    result: same ? 'match' : 'mismatch',
    kind: 'bytes',
    ...(same ? {} : { reason: `bodies differ (${a.body.length} vs ${b.body.length} bytes)` }),
  };
}

/** An answer's content as comparison reads it: JSON (binary tensors read in), or NOT_JSON when it is not JSON or does not decode. */
export function answerContent(answer: Answer, path = ''): unknown {
  const plain = answer.body && decoded(answer, answer.body);
  return plain ? comparable(plain, plain.body, path) : NOT_JSON;
}

/** The answer with its body as sent before any Content-Encoding (the answer itself, memo and all, when it had none). */
function decoded(answer: Answer, body: Buffer): (Answer & { body: Buffer }) | undefined {
  if (answer.contentEncoding === undefined) return answer as Answer & { body: Buffer }; // `body` is answer.body
  const plain = decodedBody(body, answer.contentEncoding);
  return plain && { status: answer.status, body: plain, truncated: false, contentType: answer.contentType, inferenceHeader: answer.inferenceHeader };
}

/**
 * A shadow answer byte for byte the primary's, both plain JSON, reads as the primary's: it takes the primary's
 * parsed body (answerJson's memo, which the log reads too) instead of parsing the same bytes again.
 */
function sharePlainJson(primary: Answer & { body: Buffer }, shadow: Answer & { body: Buffer }): void {
  if ('parsed' in shadow || !('parsed' in primary) || primary.inferenceHeader !== undefined || !sameAnswerBody(primary, shadow)) return;
  shadow.parsed = primary.parsed;
}

function incomparable(reason: string): Comparison {
  return { result: 'incomparable', kind: 'none', reason };
}

/**
 * The answer as compared: its JSON; for a binary tensor extension answer its JSON part with the binary
 * outputs' data read in; for an event stream its events read as JSON; for a gRPC answer of an OIP
 * method its messages read as JSON (memoized on the answer, which the log reads too).
 */
function comparable(answer: Answer, body: Buffer, path: string): unknown {
  if (isGrpc(answer.contentType)) {
    if (!('grpcParsed' in answer)) answer.grpcParsed = grpcAnswerJson(path, body, answer.grpcEncoding) ?? NOT_JSON;
    return answer.grpcParsed;
  }
  const jsonLength = inferenceHeaderLength(answer.inferenceHeader, body.length);
  if (jsonLength !== undefined) return readBinaryBody(body, jsonLength, 'outputs') ?? NOT_JSON;
  if (isEventStream(answer.contentType)) return eventStreamJson(body) ?? NOT_JSON;
  return answerJson(answer);
}
