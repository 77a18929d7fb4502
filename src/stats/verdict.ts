// The report's one-line verdict ("challenger +4.1% reward, p = 0.003, no sample-ratio mismatch"):
// the best challenger against the control at alpha = 0.05, and the sample-ratio check. Pure.

export const ALPHA = 0.05;

export interface VerdictVariant {
  name: string;
  feedback: number;
  rewardMean: number | null;
  lift: number | null;
  pValue: number | null;
}

export interface VerdictSrm {
  pValue: number | null;
  mismatch: boolean;
}

/** "p = 0.003", "p = 2.1e-4", "p < 1e-6" */
export function pText(p: number): string {
  if (p >= 0.001) return `p = ${p.toFixed(3)}`;
  if (p < 1e-6) return 'p < 1e-6';
  return `p = ${p.toExponential(1)}`;
}

function formatLift(lift: number): string {
  return `${lift >= 0 ? '+' : ''}${(lift * 100).toFixed(1)}%`;
}

export function verdict(variants: readonly VerdictVariant[], srm: VerdictSrm): string {
  const srmText =
    srm.mismatch ? `SAMPLE-RATIO MISMATCH (${pText(srm.pValue ?? 0)}): the realized split differs from the configured one, so the comparison is not trustworthy`
    : 'no sample-ratio mismatch';
  const control = variants[0];
  const challengers = variants.slice(1);
  if (!control || challengers.length === 0) return `one variant only, nothing to compare; ${srmText}`;
  const tested = challengers.filter((v) => v.pValue !== null && v.lift !== null);
  if (tested.length === 0) {
    return `not enough feedback yet (${control.name}: ${control.feedback} rewards; a test needs at least 2 rewards with some variance on ${control.name} and a challenger); ${srmText}`;
  }
  const best = tested.reduce((a, b) => ((b.rewardMean ?? -Infinity) > (a.rewardMean ?? -Infinity) ? b : a));
  const lift = best.lift ?? 0;
  const p = best.pValue ?? 1;
  const figures = `${best.name} ${formatLift(lift)} reward, ${pText(p)}`;
  if (p >= ALPHA) return `no significant difference yet: ${figures}, ${srmText}`;
  if (lift < 0) return `${control.name} ahead: ${figures}, ${srmText}`;
  return `${figures}, ${srmText}`;
}
