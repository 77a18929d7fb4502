// The result types of comparing a shadow's answer with the primary's, their JSON for the shadow log, and
// the numeric tolerance rule shared by the tensor and JSON comparators. Pure.
import { jsonNumber, quoted } from './json-text.js';

/** Result label of abproxy_shadow_comparisons_total. */
export type ComparisonResult = 'match' | 'mismatch' | 'incomparable';

export const COMPARISON_RESULTS: readonly ComparisonResult[] = ['match', 'mismatch', 'incomparable'];

export interface TensorComparison {
  primary: string;
  shadow: string;
  elements: number;
  maxAbsDiff: number | null;
  maxRelDiff: number | null;
  /** Share of rows whose argmax agrees, for class outputs (last dimension >= 2); null otherwise. */
  argmaxAgreement: number | null;
  match: boolean;
  reason?: string;
}

export interface Comparison {
  result: ComparisonResult;
  /** How the answers were compared. */
  kind: 'oip' | 'predictions' | 'json' | 'bytes' | 'status' | 'none';
  reason?: string;
  maxAbsDiff?: number | null;
  maxRelDiff?: number | null;
  argmaxAgreement?: number | null;
  tensors?: TensorComparison[];
}

/** The comparison as JSON.stringify writes it (fields in the order declared above), without its cost. */
export function comparisonJson(comparison: Comparison): string {
  const { result, kind, reason, maxAbsDiff, maxRelDiff, argmaxAgreement, tensors } = comparison;
  return (
    `{"result":"${result}","kind":"${kind}"${reasonField(reason)}` +
    `${maxAbsDiff === undefined ? '' : `,"maxAbsDiff":${jsonNumber(maxAbsDiff)}`}` +
    `${maxRelDiff === undefined ? '' : `,"maxRelDiff":${jsonNumber(maxRelDiff)}`}` +
    `${argmaxAgreement === undefined ? '' : `,"argmaxAgreement":${jsonNumber(argmaxAgreement)}`}` +
    `${tensors === undefined ? '' : `,"tensors":[${tensors.map(tensorComparisonJson).join(',')}]`}}`
  );
}

function tensorComparisonJson(tensor: TensorComparison): string {
  return (
    `{"primary":${quoted(tensor.primary)},"shadow":${quoted(tensor.shadow)},"elements":${jsonNumber(tensor.elements)},` +
    `"maxAbsDiff":${jsonNumber(tensor.maxAbsDiff)},"maxRelDiff":${jsonNumber(tensor.maxRelDiff)},` +
    `"argmaxAgreement":${jsonNumber(tensor.argmaxAgreement)},"match":${tensor.match}${reasonField(tensor.reason)}}`
  );
}

function reasonField(reason: string | undefined): string {
  return reason === undefined ? '' : `,"reason":${quoted(reason)}`;
}

/**
 * Two numbers agree when |a - b| <= tolerance * (1 + |a|): an absolute tolerance near zero and a
 * relative one for large values (numpy's isclose with atol = rtol = tolerance, against the primary).
 */
export function withinTolerance(primary: number, shadow: number, tolerance: number): boolean {
  if (Number.isNaN(primary) || Number.isNaN(shadow)) return Number.isNaN(primary) && Number.isNaN(shadow);
  if (primary === shadow) return true;
  return Math.abs(primary - shadow) <= tolerance * (1 + Math.abs(primary));
}

/** |a - b| / max(|a|, |b|), 0 when both are 0. */
export function relativeDifference(a: number, b: number): number {
  const scale = Math.max(Math.abs(a), Math.abs(b));
  return scale === 0 ? 0 : Math.abs(a - b) / scale;
}

/** Running maxima of absolute and relative differences over numeric pairs. */
export class DiffTracker {
  maxAbsDiff: number | null = null;
  maxRelDiff: number | null = null;

  add(a: number, b: number): void {
    const abs = Math.abs(a - b);
    if (Number.isNaN(abs)) return;
    if (this.maxAbsDiff === null || abs > this.maxAbsDiff) this.maxAbsDiff = abs;
    const rel = relativeDifference(a, b);
    if (this.maxRelDiff === null || rel > this.maxRelDiff) this.maxRelDiff = rel;
  }
}
