// Histogram quantiles (PromQL histogram_quantile semantics) and the verdict line, for fixed inputs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { histogramQuantile } from '../../src/stats/histogram-quantile.js';
import { pText, verdict, type VerdictVariant } from '../../src/stats/verdict.js';

test('histogram quantiles interpolate inside the bucket and stop at the highest finite bound', () => {
  const buckets = [
    { le: 0.001, count: 50 },
    { le: 0.002, count: 90 },
    { le: 1, count: 100 },
    { le: Number.POSITIVE_INFINITY, count: 100 },
  ];
  assert.equal(histogramQuantile(0.5, buckets), 0.001); // rank 50 ends the first bucket
  assert.equal(histogramQuantile(0.7, buckets), 0.001 + 0.001 * (20 / 40)); // rank 70: half-way through (0.001, 0.002]
  assert.equal(histogramQuantile(0.25, buckets), 0.0005); // rank 25 of the first bucket, from 0
  const overflow = [
    { le: 0.5, count: 1 },
    { le: Number.POSITIVE_INFINITY, count: 10 },
  ];
  assert.equal(histogramQuantile(0.99, overflow), 0.5);
  assert.equal(histogramQuantile(0.5, [{ le: Number.POSITIVE_INFINITY, count: 0 }]), null);
  assert.equal(histogramQuantile(0.5, []), null);
});

const control: VerdictVariant = { name: 'control', feedback: 1000, rewardMean: 0.5, lift: null, pValue: null };
const ok = { pValue: 0.6, mismatch: false };

test('verdict names the best challenger, its lift and p-value, and the SRM state', () => {
  const challenger = { name: 'challenger', feedback: 1000, rewardMean: 0.5205, lift: 0.041, pValue: 0.003 };
  assert.equal(verdict([control, challenger], ok), 'challenger +4.1% reward, p = 0.003, no sample-ratio mismatch');
  const worse = { name: 'b', feedback: 900, rewardMean: 0.45, lift: -0.1, pValue: 0.0001 };
  assert.equal(verdict([control, worse, challenger], ok), 'challenger +4.1% reward, p = 0.003, no sample-ratio mismatch');
  assert.equal(verdict([control, worse], ok), 'control ahead: b -10.0% reward, p = 1.0e-4, no sample-ratio mismatch');
  assert.equal(verdict([control, { ...challenger, pValue: 0.31 }], ok), 'no significant difference yet: challenger +4.1% reward, p = 0.310, no sample-ratio mismatch');
  assert.match(verdict([control, challenger], { pValue: 1e-9, mismatch: true }), /^challenger \+4\.1% reward, p = 0\.003, SAMPLE-RATIO MISMATCH \(p < 1e-6\)/);
  assert.match(verdict([control, { ...challenger, pValue: null, lift: null }], ok), /^not enough feedback yet/);
  assert.match(verdict([control], ok), /^one variant only/);
  assert.equal(pText(0.0004), 'p = 4.0e-4');
});
