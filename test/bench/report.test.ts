// The benchmark's goal lines: bounds are printed rounded, and a value that misses (or narrowly meets) a
// bound never prints as equal to it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatVerdict } from '../../bench/lib/report.js';

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
