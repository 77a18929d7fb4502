// Distribution functions against closed forms worked by hand and against reference values
// (scipy.special / scipy.stats 1.17 for the same inputs, quoted to the digits asserted).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  betaRegularized,
  chiSquareSurvival,
  gammaP,
  gammaQ,
  lnGamma,
  normalTwoSided,
  studentTQuantile,
  studentTTwoSided,
} from '../../src/stats/distributions.js';

function close(actual: number, expected: number, relative = 1e-9, label = ''): void {
  const scale = Math.max(Math.abs(expected), 1e-300);
  assert.ok(Math.abs(actual - expected) / scale <= relative, `${label} expected ${expected}, got ${actual}`);
}

test('lnGamma matches factorials and reference values, including below 0.5 (reflection)', () => {
  assert.ok(Math.abs(lnGamma(1)) < 1e-14, 'ln Γ(1) = 0');
  close(Math.exp(lnGamma(6)), 120, 1e-12, 'Γ(6) = 5!');
  close(Math.exp(lnGamma(0.5)), Math.sqrt(Math.PI), 1e-12, 'Γ(1/2) = √π');
  close(lnGamma(0.3), 1.0957979948180756, 1e-12);
  close(lnGamma(10.5), 13.940625219403763, 1e-12);
  close(lnGamma(171.5), 709.1431630309283, 1e-12);
});

test('regularized incomplete gamma: closed forms and reference values on both algorithm branches', () => {
  // P(1, x) = 1 - e^-x (exponential distribution)
  close(gammaP(1, 0.5), 1 - Math.exp(-0.5), 1e-12);
  close(gammaQ(1, 7), Math.exp(-7), 1e-12);
  close(gammaP(2.5, 1.7), 0.36143007689620493, 1e-10); // series branch
  close(gammaQ(10, 3), 0.9988975118698845, 1e-10); // series branch, upper tail
  close(gammaQ(0.5, 8), 6.334248366623988e-5, 1e-9); // continued-fraction branch
  assert.equal(gammaP(3, 0), 0);
  assert.equal(gammaQ(3, Number.POSITIVE_INFINITY), 0);
  assert.ok(Number.isNaN(gammaP(-1, 2)));
});

test('regularized incomplete beta: binomial identity by hand and reference values', () => {
  // I_0.4(2, 3) = Σ_{j=2..4} C(4,j) 0.4^j 0.6^(4-j) = 0.3456 + 0.1536 + 0.0256
  close(betaRegularized(0.4, 2, 3), 0.5248, 1e-12);
  close(betaRegularized(0.05, 0.5, 7.5), 0.6117140988441078, 1e-10);
  close(betaRegularized(0.97, 30, 0.5), 0.17821754497024148, 1e-9); // symmetry branch
  assert.equal(betaRegularized(0, 2, 3), 0);
  assert.equal(betaRegularized(1, 2, 3), 1);
});

test('chi-square survival: 3.841 at 1 df is 0.05; df 2 is exp(-x/2)', () => {
  close(chiSquareSurvival(3.841458820694124, 1), 0.05, 1e-9);
  close(chiSquareSurvival(10, 2), Math.exp(-5), 1e-12);
  close(chiSquareSurvival(25.3, 7), 0.0006712440753544802, 1e-9);
  assert.equal(chiSquareSurvival(0, 3), 1);
});

test('Student t: Cauchy and df-2 closed forms, fractional df, and quantiles', () => {
  // df = 1 is the Cauchy distribution: P(|T| >= t) = 1 - (2/π) atan t
  close(studentTTwoSided(1.5, 1), 1 - (2 / Math.PI) * Math.atan(1.5), 1e-12);
  // df = 2: P(|T| >= t) = 1 - t / √(2 + t²)
  close(studentTTwoSided(3, 2), 1 - 3 / Math.sqrt(11), 1e-12);
  close(studentTTwoSided(2.1, 9.7), 0.06292229211360999, 1e-9);
  close(studentTTwoSided(-2.1, 9.7), 0.06292229211360999, 1e-9);
  close(studentTQuantile(0.975, 1), Math.tan(0.475 * Math.PI), 1e-9);
  close(studentTQuantile(0.975, 9), 2.262157162798205, 1e-9);
  close(studentTQuantile(0.975, 999), 1.9623414611334493, 1e-9);
  close(studentTQuantile(0.975, 3.5), 2.9400886379827282, 1e-9);
  assert.equal(studentTQuantile(0.5, 4), 0);
});

test('normal two-sided tail: 1.959964 gives 0.05, 0 gives 1', () => {
  close(normalTwoSided(1.959963984540054), 0.05, 1e-9);
  close(normalTwoSided(-1.959963984540054), 0.05, 1e-9);
  close(normalTwoSided(0), 1, 1e-12);
});
