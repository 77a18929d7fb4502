// The experiment tests (Welch t, two-proportion z, confidence interval, sample-ratio mismatch) for fixed
// inputs, against the textbook formulas worked by hand and scipy.stats 1.17 reference values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { twoProportionZTest, welchTTest } from '../../src/stats/hypothesis.js';
import { sampleRatioMismatch } from '../../src/stats/srm.js';
import { mean, meanCi95, sampleVariance, type RewardSummary } from '../../src/stats/summary.js';

function close(actual: number | null | undefined, expected: number, relative = 1e-9): void {
  assert.ok(typeof actual === 'number', `expected ${expected}, got ${actual}`);
  assert.ok(Math.abs(actual - expected) <= relative * Math.abs(expected), `expected ${expected}, got ${actual}`);
}

function summarize(values: number[]): RewardSummary {
  return { count: values.length, sum: values.reduce((s, v) => s + v, 0), sumSquares: values.reduce((s, v) => s + v * v, 0) };
}

const control = summarize([0.2, 0.5, 0.4, 0.9, 0.1, 0.3, 0.6]);
const challenger = summarize([0.7, 0.8, 0.4, 1.0, 0.9, 0.6]);

test('mean and sample variance from count, sum and sum of squares', () => {
  close(mean(control), 3 / 7);
  // s² = (Σx² - (Σx)²/n) / (n - 1) = (1.72 - 9/7) / 6
  close(sampleVariance(control), (1.72 - 9 / 7) / 6);
  assert.equal(sampleVariance({ count: 1, sum: 1, sumSquares: 1 }), null);
  assert.equal(mean({ count: 0, sum: 0, sumSquares: 0 }), null);
});

test('95% confidence interval uses t(0.975, n-1): scipy.stats.t.interval', () => {
  const ci = meanCi95(control);
  assert.ok(ci);
  close(ci[0], 0.17975362561430736);
  close(ci[1], 0.6773892315285497);
  assert.equal(meanCi95({ count: 1, sum: 0.5, sumSquares: 0.25 }), null);
});

test('Welch t-test: statistic by hand, Welch–Satterthwaite df and p-value (scipy ttest_ind equal_var=False)', () => {
  const result = welchTTest(control, challenger);
  assert.ok(result);
  const va = (1.72 - 9 / 7) / 6 / 7;
  const vb = (3.46 - 4.4 ** 2 / 6) / 5 / 6;
  close(result.t, (4.4 / 6 - 3 / 7) / Math.sqrt(va + vb));
  close(result.t, 2.26415724056712);
  close(result.df, 10.97176630724335);
  close(result.pValue, 0.04482249970062889, 1e-8);
  assert.equal(welchTTest(control, { count: 1, sum: 1, sumSquares: 1 }), null);
  assert.equal(welchTTest({ count: 3, sum: 3, sumSquares: 3 }, { count: 3, sum: 3, sumSquares: 3 }), null, 'no variance at all');
});

test('two-proportion z-test: 500/1000 vs 560/1000', () => {
  const result = twoProportionZTest({ count: 1000, sum: 500, sumSquares: 500 }, { count: 1000, sum: 560, sumSquares: 560 });
  assert.ok(result);
  const pooled = 1060 / 2000;
  close(result.z, 0.06 / Math.sqrt(pooled * (1 - pooled) * (2 / 1000)));
  close(result.z, 2.6881245598254755);
  close(result.pValue, 0.007185458758132356, 1e-8);
  assert.equal(twoProportionZTest({ count: 10, sum: 10, sumSquares: 10 }, { count: 10, sum: 10, sumSquares: 10 }), null);
});

test('sample-ratio mismatch: chi-square goodness of fit (scipy.stats.chisquare) and the 0.001 threshold', () => {
  const forced = sampleRatioMismatch([1300, 1000], [0.5, 0.5]);
  close(forced.chiSquare, 39.130434782608695);
  close(forced.pValue, 3.9641597078900225e-10, 1e-7);
  assert.equal(forced.mismatch, true);
  assert.equal(forced.df, 1);

  const healthy = sampleRatioMismatch([9050, 950], [0.9, 0.1]);
  close(healthy.chiSquare, 2.7777777777777777);
  close(healthy.pValue, 0.09558070454562936, 1e-8);
  assert.equal(healthy.mismatch, false);

  const three = sampleRatioMismatch([480, 510, 1010], [0.25, 0.25, 0.5]);
  close(three.chiSquare, 1.1);
  close(three.pValue, 0.5769498103804868, 1e-8);
  assert.equal(three.df, 2);
});

test('sample-ratio mismatch edge cases: no traffic, a zero-weight variant with and without traffic', () => {
  assert.deepEqual(sampleRatioMismatch([0, 0], [0.5, 0.5]), { chiSquare: null, df: 1, pValue: null, mismatch: false });
  const zeroIdle = sampleRatioMismatch([600, 400, 0], [0.6, 0.4, 0]);
  assert.equal(zeroIdle.chiSquare, 0);
  assert.equal(zeroIdle.df, 1);
  assert.equal(zeroIdle.mismatch, false);
  const zeroServed = sampleRatioMismatch([600, 400, 5], [0.6, 0.4, 0]);
  assert.equal(zeroServed.mismatch, true);
  assert.equal(zeroServed.chiSquare, null);
});
