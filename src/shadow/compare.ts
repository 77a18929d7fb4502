// Compares a shadow's answer with the primary's once both are in: status first, then Open Inference
// Protocol tensors (also from binary tensor extension answers), other JSON structurally with tolerance,
// anything else byte for byte. Pure; never throws.
import { inferenceHeaderLength } from '../http/inference-header.js';
import { readBinaryBody } from '../models/binary-tensors.js';
import { answerJson, NOT_JSON, type Answer } from './answer.js';
import { compareJson } from './compare-json.js';
import { compareOip, isOipResponse } from './compare-oip.js';
import type { Comparison } from './comparison.js';

export function compareAnswers(primary: Answer | undefined, shadow: Answer, tolerance: number): Comparison {
  if (!primary) return incomparable('the primary failed before answering');
  if (primary.body === undefined) return incomparable('the primary body was not captured');
  if (primary.truncated) return incomparable('the primary body exceeded the capture bound');
  if (shadow.truncated || shadow.body === undefined) return incomparable('the shadow body exceeded the capture bound');
  if (primary.status !== shadow.status) return { result: 'mismatch', kind: 'status', reason: `status ${primary.status} vs ${shadow.status}` };
  try {
    const a = comparable(primary);
    const b = comparable(shadow);
    if (a !== NOT_JSON && b !== NOT_JSON) {
      return isOipResponse(a) && isOipResponse(b) ? compareOip(a, b, tolerance) : compareJson(a, b, tolerance);
    }
  } catch (error) {
    return incomparable(`comparison failed: ${(error as Error).message}`);
  }
  const same = primary.body.equals(shadow.body);
  return {
    result: same ? 'match' : 'mismatch',
    kind: 'bytes',
    ...(same ? {} : { reason: `bodies differ (${primary.body.length} vs ${shadow.body.length} bytes)` }),
  };
}

function incomparable(reason: string): Comparison {
  return { result: 'incomparable', kind: 'none', reason };
}

/** The answer as compared: its JSON, or for a binary tensor extension answer its JSON part with the binary outputs' data read in. */
function comparable(answer: Answer): unknown {
  const { body } = answer;
  const jsonLength = body && inferenceHeaderLength(answer.inferenceHeader, body.length);
  if (!body || jsonLength === undefined) return answerJson(answer);
  return readBinaryBody(body, jsonLength, 'outputs') ?? NOT_JSON;
}
