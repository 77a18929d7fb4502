// Compares two Open Inference Protocol responses tensor by tensor: outputs pair by name, or by
// position when the names differ but the counts match (model families name outputs differently).
// Reports max absolute/relative difference and argmax agreement for class outputs. Pure.
import { DiffTracker, withinTolerance, type Comparison, type TensorComparison } from './comparison.js';

export interface OipTensor {
  name: string;
  shape?: number[];
  data: unknown[];
}

export interface OipResponse {
  outputs: OipTensor[];
}

export function isOipResponse(value: unknown): value is OipResponse {
  if (value === null || typeof value !== 'object' || !('outputs' in value)) return false;
  const { outputs } = value;
  return Array.isArray(outputs) && outputs.length > 0 && outputs.every(isTensor);
}

function isTensor(value: unknown): value is OipTensor {
  if (value === null || typeof value !== 'object') return false;
  const t = value as { name?: unknown; data?: unknown; shape?: unknown };
  return typeof t.name === 'string' && Array.isArray(t.data) && (t.shape === undefined || (Array.isArray(t.shape) && t.shape.every((d) => typeof d === 'number')));
}

export function compareOip(primary: OipResponse, shadow: OipResponse, tolerance: number): Comparison {
  const pairs = pairOutputs(primary.outputs, shadow.outputs);
  if (!pairs) {
    return { result: 'mismatch', kind: 'oip', reason: `outputs do not pair: [${names(primary.outputs)}] vs [${names(shadow.outputs)}]` };
  }
  const tensors = pairs.map(([p, s]) => compareTensor(p, s, tolerance));
  const failed = tensors.find((t) => !t.match);
  return {
    result: failed ? 'mismatch' : 'match',
    kind: 'oip',
    ...(failed ? { reason: `${failed.primary} vs ${failed.shadow}: ${failed.reason ?? 'differs'}` } : {}),
    maxAbsDiff: extreme(tensors.map((t) => t.maxAbsDiff), Math.max),
    maxRelDiff: extreme(tensors.map((t) => t.maxRelDiff), Math.max),
    argmaxAgreement: extreme(tensors.map((t) => t.argmaxAgreement), Math.min),
    tensors,
  };
}

function pairOutputs(primary: OipTensor[], shadow: OipTensor[]): [OipTensor, OipTensor][] | undefined {
  if (primary.length !== shadow.length) return undefined;
  const byPosition = primary.map((t, i): [OipTensor, OipTensor] => [t, shadow[i] as OipTensor]);
  if (byPosition.every(([p, s]) => p.name === s.name)) return byPosition;
  const byName = new Map(shadow.map((t) => [t.name, t]));
  if (primary.every((t) => byName.has(t.name))) return primary.map((t) => [t, byName.get(t.name) as OipTensor]);
  return byPosition;
}

function compareTensor(p: OipTensor, s: OipTensor, tolerance: number): TensorComparison {
  const a = flatten(p.data);
  const b = flatten(s.data);
  if (a.length !== b.length) {
    return { primary: p.name, shadow: s.name, elements: a.length, maxAbsDiff: null, maxRelDiff: null, argmaxAgreement: null, match: false, reason: `${a.length} elements vs ${b.length}` };
  }
  const diffs = new DiffTracker();
  let unequal = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (typeof x === 'number' && typeof y === 'number') {
      diffs.add(x, y);
      if (!withinTolerance(x, y, tolerance)) unequal++;
    } else if (x !== y) unequal++;
  }
  const reason =
    unequal > 0 ? `${unequal} of ${a.length} elements differ beyond tolerance ${tolerance}`
    : shapesDiffer(p.shape, s.shape) ? `shape [${p.shape?.join(',')}] vs [${s.shape?.join(',')}]`
    : undefined;
  const comparison: TensorComparison = {
    primary: p.name,
    shadow: s.name,
    elements: a.length,
    maxAbsDiff: diffs.maxAbsDiff,
    maxRelDiff: diffs.maxRelDiff,
    argmaxAgreement: argmaxAgreement(a, b, p.shape),
    match: reason === undefined,
  };
  if (reason) comparison.reason = reason;
  return comparison;
}

function shapesDiffer(a: number[] | undefined, b: number[] | undefined): boolean {
  if (a === undefined || b === undefined) return false;
  return a.length !== b.length || a.some((d, i) => d !== b[i]);
}

/** Rows whose largest element sits at the same index, for tensors shaped [..., classes >= 2]. */
function argmaxAgreement(a: unknown[], b: unknown[], shape: number[] | undefined): number | null {
  const classes = shape && shape.length >= 2 ? shape[shape.length - 1] : undefined;
  if (classes === undefined || classes < 2 || a.length === 0 || a.length % classes !== 0) return null;
  const rows = a.length / classes;
  let agree = 0;
  for (let row = 0; row < rows; row++) {
    const ia = argmax(a, row * classes, classes);
    if (ia < 0) return null;
    if (ia === argmax(b, row * classes, classes)) agree++;
  }
  return agree / rows;
}

function argmax(values: unknown[], start: number, count: number): number {
  let best = -1;
  let bestValue = -Infinity;
  for (let i = 0; i < count; i++) {
    const v = values[start + i];
    if (typeof v !== 'number') return -1;
    if (v > bestValue) {
      bestValue = v;
      best = i;
    }
  }
  return best;
}

/** OIP `data` may be flat or nested (row-major); flattens iteratively so deep nesting cannot overflow the stack. Flat data is returned as is. */
function flatten(data: unknown[]): unknown[] {
  if (!data.some(Array.isArray)) return data;
  const out: unknown[] = [];
  const stack: { items: unknown[]; index: number }[] = [{ items: data, index: 0 }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1] as { items: unknown[]; index: number };
    if (top.index >= top.items.length) {
      stack.pop();
      continue;
    }
    const item = top.items[top.index++];
    if (Array.isArray(item)) stack.push({ items: item, index: 0 });
    else out.push(item);
  }
  return out;
}

function extreme(values: (number | null)[], pick: (a: number, b: number) => number): number | null {
  let out: number | null = null;
  for (const v of values) if (v !== null) out = out === null ? v : pick(out, v);
  return out;
}

function names(tensors: OipTensor[]): string {
  return tensors.map((t) => t.name).join(', ');
}
