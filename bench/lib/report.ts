// Turns measurements into the printed table: medians over rounds, ratios against each row's reference
// and the upstream direct (the median of per-round ratios: a round measures a row shortly after its
// reference, so the machine's drift between rounds cancels), added one-connection p50 over direct, and
// each goal's verdict. Pure.
import type { Goal, GoalMetric, Measurement, Scenario } from './types.js';

export interface ScenarioRuns {
  scenario: Scenario;
  runs: Measurement[];
  /** Why it did not run (tool missing) or failed. */
  skipped?: string;
}

export interface Summary {
  name: string;
  reference: string;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  cpuUsPerReq: number;
  upstreamCpuUsPerReq: number;
  rssMb: number;
  p50OneConnMs: number;
  /** Median over rounds of this row's req/s over its reference's in the same round. */
  vsReference: number | undefined;
  /** The same against the upstream direct. */
  vsDirect: number | undefined;
  /** This row's req/s over its reference's, round by round. */
  vsReferencePerRound: number[];
  addedP50Ms: number | undefined;
  note: string;
  perRound: number[];
}

export const DEFAULT_REFERENCE = 'nginx-split';
export const DIRECT = 'direct';

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export function summarize(all: readonly ScenarioRuns[]): Summary[] {
  const base = all
    .filter((s) => s.runs.length > 0)
    .map((s) => {
      const m = (pick: (r: Measurement) => number) => median(s.runs.map(pick));
      return {
        name: s.scenario.name,
        reference: s.scenario.reference ?? DEFAULT_REFERENCE,
        reqPerSec: m((r) => r.reqPerSec),
        p50Ms: m((r) => r.p50Ms),
        p99Ms: m((r) => r.p99Ms),
        errors: s.runs.reduce((sum, r) => sum + r.errors, 0),
        cpuUsPerReq: m((r) => r.cpuUsPerReq),
        upstreamCpuUsPerReq: m((r) => r.upstreamCpuUsPerReq),
        rssMb: m((r) => r.rssMb),
        p50OneConnMs: m((r) => r.p50OneConnMs),
        note: s.runs[s.runs.length - 1]?.note ?? '',
        perRound: s.runs.map((r) => r.reqPerSec),
      };
    });
  const byName = new Map(base.map((b) => [b.name, b]));
  const direct = byName.get(DIRECT);
  return base.map((b) => {
    const ref = byName.get(b.reference);
    const vsReferencePerRound = ref && b.name !== ref.name ? perRoundRatios(b.perRound, ref.perRound) : [];
    return {
      ...b,
      vsReference: vsReferencePerRound.length > 0 ? median(vsReferencePerRound) : undefined,
      vsDirect: direct && b.name !== DIRECT ? median(perRoundRatios(b.perRound, direct.perRound)) : undefined,
      vsReferencePerRound,
      addedP50Ms: direct && b.name !== DIRECT ? b.p50OneConnMs - direct.p50OneConnMs : undefined,
    };
  });
}

/** `of[i] / to[i]` for every round both rows measured (a row that failed stopped after its last round). */
function perRoundRatios(of: readonly number[], to: readonly number[]): number[] {
  const rounds = Math.min(of.length, to.length);
  return Array.from({ length: rounds }, (_, i) => (of[i] as number) / (to[i] as number));
}

/** "abproxy-split: req/s per round 8699, 10752, 7263 (0.44x, 0.53x, 0.43x nginx-split)" */
export function perRoundLine(s: Summary): string {
  const ratios = s.vsReferencePerRound.length > 0 ? ` (${s.vsReferencePerRound.map((r) => `${r.toFixed(2)}x`).join(', ')} ${s.reference})` : '';
  return `${s.name}: req/s per round ${s.perRound.map((r) => Math.round(r)).join(', ')}${ratios}`;
}

const fixed = (digits: number) => (value: number | undefined) => (value === undefined || Number.isNaN(value) ? '-' : value.toFixed(digits));
const ratio = (value: number | undefined, of: string) => (value === undefined ? '-' : `${value.toFixed(2)}x ${of}`);

export function table(summaries: readonly Summary[]): string {
  const header = ['scenario', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'CPU µs/req', 'upstream CPU µs/req', 'RSS MB', 'vs reference', 'vs direct', 'p50 ms @1 conn', 'added p50 ms', 'check'];
  const rows = summaries.map((s) => [
    s.name,
    Math.round(s.reqPerSec).toString(),
    fixed(2)(s.p50Ms),
    fixed(2)(s.p99Ms),
    String(s.errors),
    fixed(0)(s.cpuUsPerReq),
    fixed(0)(s.upstreamCpuUsPerReq),
    fixed(0)(s.rssMb),
    ratio(s.vsReference, s.reference),
    ratio(s.vsDirect, DIRECT),
    fixed(3)(s.p50OneConnMs),
    s.addedP50Ms === undefined ? '-' : fixed(3)(s.addedP50Ms),
    s.note,
  ]);
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

function metricValue(summary: Summary, metric: GoalMetric): number | undefined {
  return summary[metric];
}

export interface GoalVerdict {
  scenario: string;
  goal: Goal;
  value: number | undefined;
  met: boolean;
}

export function checkGoals(scenarios: readonly Scenario[], summaries: readonly Summary[]): GoalVerdict[] {
  const verdicts: GoalVerdict[] = [];
  for (const scenario of scenarios) {
    const summary = summaries.find((s) => s.name === scenario.name);
    if (!summary) continue;
    for (const goal of scenario.goals ?? []) {
      const value = metricValue(summary, goal.metric);
      const met = value !== undefined && (goal.min === undefined || value >= goal.min) && (goal.max === undefined || value <= goal.max);
      verdicts.push({ scenario: scenario.name, goal, value, met });
    }
  }
  return verdicts;
}

export function formatVerdict(v: GoalVerdict): string {
  const min = v.goal.min === undefined ? undefined : Number(v.goal.min.toFixed(3));
  const max = v.goal.max === undefined ? undefined : Number(v.goal.max.toFixed(3));
  const bounds = [min, max].filter((b): b is number => b !== undefined);
  const bound = [min === undefined ? '' : `>= ${min}`, max === undefined ? '' : `<= ${max}`].filter(Boolean).join(', ');
  const value = v.value === undefined ? 'not measured' : readableValue(v.value, bounds);
  return `${v.met ? 'MET   ' : 'MISSED'} ${v.scenario} ${v.goal.metric} = ${value} (goal ${bound})`;
}

/** The value rounded for reading, with more decimals while it would read as equal to a bound it misses or meets narrowly. */
function readableValue(value: number, bounds: readonly number[]): string {
  let digits = value < 10 ? 3 : 1;
  let text = value.toFixed(digits);
  while (digits < 6 && bounds.includes(Number(text)) && value !== Number(text)) text = value.toFixed(++digits);
  return text;
}
