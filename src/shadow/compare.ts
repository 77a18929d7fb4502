// Compares a shadow's answer with the primary's once both are in: status first, then Open Inference
// Protocol tensors, other JSON structurally with tolerance, anything else byte for byte. Pure; never throws.
import type { Answer } from './answer.js';
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
    const a = parseJson(primary.body);
    const b = parseJson(shadow.body);
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

const NOT_JSON = Symbol('not json');

/** Bodies already parsed: the primary's body is compared with every shadow's and logged, each parsed once. */
const parsed = new WeakMap<Buffer, unknown>();

/** Parses a body as JSON when it looks like an object or array; NOT_JSON otherwise. The result must not be mutated. */
export function parseJson(body: Buffer): unknown {
  if (parsed.has(body)) return parsed.get(body);
  const value = parseUncached(body);
  parsed.set(body, value);
  return value;
}

function parseUncached(body: Buffer): unknown {
  let i = 0;
  while (i < body.length && (body[i] === 0x20 || body[i] === 0x0a || body[i] === 0x0d || body[i] === 0x09)) i++;
  if (body[i] !== 0x7b /* { */ && body[i] !== 0x5b /* [ */) return NOT_JSON;
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch {
    return NOT_JSON;
  }
}

export function isJson(value: unknown): boolean {
  return value !== NOT_JSON;
}

function incomparable(reason: string): Comparison {
  return { result: 'incomparable', kind: 'none', reason };
}
