// The benchmark's report: ratios are medians of per-round ratios (a row against its reference in the same
// round), goal lines print bounds rounded, never a missing (or narrowly met) value as equal to its bound,
// and the table shows the upstream's CPU per request beside the row's own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatVerdict, perRoundLine, summarize, table, type ScenarioRuns } from '../../bench/lib/report.js';
import type { Measurement, Scenario } from '../../bench/lib/types.js';

function rows(reqPerSec: Record<string, number[]>): ScenarioRuns[] {
  const measurement = (r: number): Measurement => ({ reqPerSec: r, p50Ms: 1, p99Ms: 2, errors: 0, cpuUsPerReq: 50, upstreamCpuUsPerReq: 40, rssMb: 10, p50OneConnMs: 0.1, note: '' });
  const reference: Record<string, string> = { candidate: 'baseline' };
  return Object.entries(reqPerSec).map(([name, rounds]) => ({
    scenario: { name, title: name, reference: reference[name] ?? name, start: () => Promise.reject(new Error('not started')) } satisfies Scenario,
    runs: rounds.map(measurement),
  }));
}

test('a ratio is the median of per-round ratios, so drift between rounds cancels', () => {
  // A real run's rows (2026-12-02): the machine was slowest in round 1. The ratio of the medians,
  // 4 713 / 5 500 = 0.857, pairs the candidate's round 3 with the baseline's round 3 by chance only.
  const summaries = summarize(rows({ direct: [31_204, 27_304, 27_350], baseline: [3_392, 5_893, 5_500], candidate: [3_259, 5_531, 4_713] }));
  const candidate = summaries.find((s) => s.name === 'candidate');
  assert.ok(candidate);
  assert.deepEqual(candidate.vsReferencePerRound.map((r) => r.toFixed(3)), ['0.961', '0.939', '0.857']);
  assert.equal(candidate.vsReference?.toFixed(3), '0.939');
  assert.equal(candidate.vsDirect?.toFixed(3), '0.172');
  assert.equal(perRoundLine(candidate), 'candidate: req/s per round 3259, 5531, 4713 (0.96x, 0.94x, 0.86x baseline)');
  const baseline = summaries.find((s) => s.name === 'baseline');
  assert.equal(baseline?.vsReference, undefined, 'a reference row has no ratio of its own');
  assert.equal(baseline && perRoundLine(baseline), 'baseline: req/s per round 3392, 5893, 5500');
});

test('a row that stopped early is paired only for the rounds it ran', () => {
  const summaries = summarize(rows({ baseline: [10_000, 20_000, 10_000], candidate: [5_000, 30_000] }));
  const candidate = summaries.find((s) => s.name === 'candidate');
  assert.deepEqual(candidate?.vsReferencePerRound, [0.5, 1.5]);
  assert.equal(candidate?.vsReference, 1);
});

test('a near miss prints enough decimals to differ from its bound; bounds print rounded', () => {
  const goal = { metric: 'vsReference', min: 0.8 } as const;
  assert.equal(formatVerdict({ scenario: 'model-local', goal, value: 0.79996, met: false }), 'MISSED model-local vsReference = 0.79996 (goal >= 0.8)');
  assert.equal(formatVerdict({ scenario: 'model-local', goal, value: 0.8, met: true }), 'MET    model-local vsReference = 0.800 (goal >= 0.8)');
  assert.equal(formatVerdict({ scenario: 'model-local', goal, value: 0.81444, met: true }), 'MET    model-local vsReference = 0.814 (goal >= 0.8)');
  const ratio = { metric: 'vsReference', max: 1 / 1.5 } as const;
  assert.equal(formatVerdict({ scenario: 'model-remote', goal: ratio, value: 0.678, met: false }), 'MISSED model-remote vsReference = 0.678 (goal <= 0.667)');
  const cpu = { metric: 'cpuUsPerReq', max: 80 } as const;
  assert.equal(formatVerdict({ scenario: 'abproxy-split', goal: cpu, value: 99.04, met: false }), 'MISSED abproxy-split cpuUsPerReq = 99.0 (goal <= 80)');
  assert.equal(formatVerdict({ scenario: 'abproxy-split', goal: cpu, value: undefined, met: false }), 'MISSED abproxy-split cpuUsPerReq = not measured (goal <= 80)');
});

test('the table carries what each row cost the upstream process beside its own CPU', () => {
  const [header, , row] = table(summarize(rows({ baseline: [10_000] }))).split('\n');
  const columns = header?.split(' | ') ?? [];
  const cells = row?.split(' | ') ?? [];
  assert.equal(cells[columns.indexOf('CPU µs/req')], '50');
  assert.equal(cells[columns.indexOf('upstream CPU µs/req')], '40');
});
