// Makes the demo fraud models from synthetic data this script generates itself (no real transactions):
// fraud-a.onnx (logistic regression) and fraud-b.onnx (a small MLP), both trained here by gradient descent,
// and on request a heavy MLP for benchmarks. Run: node --import tsx models/make-demo-models.ts [--heavy FILE]
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeModel, type GraphSpec } from './onnx-proto.js';

export const FEATURES = 29;
const INPUT = 'transaction';
const OUTPUT = 'fraud_probability';

/** Deterministic PRNG (mulberry32), so the models and data are the same on every run. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function normal(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
}

/**
 * Synthetic transactions: 28 standard-normal components plus a log-scaled amount. The hidden rule that
 * labels fraud is logistic in a few components with one interaction term (so the MLP can beat the linear model).
 */
export function syntheticTransactions(rows: number, seed: number): { x: Float32Array; y: Uint8Array } {
  const rand = prng(seed);
  const x = new Float32Array(rows * FEATURES);
  const y = new Uint8Array(rows);
  for (let r = 0; r < rows; r++) {
    const row = x.subarray(r * FEATURES, (r + 1) * FEATURES);
    for (let f = 0; f < FEATURES - 1; f++) row[f] = normal(rand);
    row[FEATURES - 1] = Math.log1p(Math.exp(normal(rand) * 1.2 + 3)) / 4;
    const v = (i: number) => row[i] ?? 0;
    const logit = -4.2 - 1.6 * v(2) + 1.2 * v(3) - 0.9 * v(9) + 0.7 * v(13) * v(13) - 1.1 * v(0) * v(1) + 0.8 * v(FEATURES - 1);
    y[r] = rand() < 1 / (1 + Math.exp(-logit)) ? 1 : 0;
  }
  return { x, y };
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

/** A dense MLP: weights[l] is [in, out] row-major; no hidden layer means logistic regression. */
interface Mlp {
  sizes: number[];
  weights: Float32Array[];
  biases: Float32Array[];
}

function initMlp(sizes: number[], rand: () => number): Mlp {
  const weights: Float32Array[] = [];
  const biases: Float32Array[] = [];
  for (let l = 0; l + 1 < sizes.length; l++) {
    const fanIn = sizes[l] ?? 1;
    const fanOut = sizes[l + 1] ?? 1;
    weights.push(Float32Array.from({ length: fanIn * fanOut }, () => normal(rand) * Math.sqrt(2 / fanIn) * 0.5));
    biases.push(new Float32Array(fanOut));
  }
  return { sizes, weights, biases };
}

/** Forward pass for one row; returns every layer's activations (ReLU hidden, sigmoid output). */
function forward(net: Mlp, row: Float32Array): Float64Array[] {
  const acts: Float64Array[] = [Float64Array.from(row)];
  for (let l = 0; l < net.weights.length; l++) {
    const input = acts[l] as Float64Array;
    const w = net.weights[l] as Float32Array;
    const b = net.biases[l] as Float32Array;
    const out = new Float64Array(b.length);
    for (let o = 0; o < out.length; o++) {
      let z = b[o] ?? 0;
      for (let i = 0; i < input.length; i++) z += (input[i] ?? 0) * (w[i * out.length + o] ?? 0);
      out[o] = l === net.weights.length - 1 ? sigmoid(z) : Math.max(0, z);
    }
    acts.push(out);
  }
  return acts;
}

/** Mini-batch SGD on log loss, with the positive class up-weighted for the rare fraud label. */
function train(net: Mlp, data: { x: Float32Array; y: Uint8Array }, epochs: number, rate: number, rand: () => number): void {
  const rows = data.y.length;
  const order = Array.from({ length: rows }, (_, i) => i);
  for (let epoch = 0; epoch < epochs; epoch++) {
    for (let i = rows - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [order[i], order[j]] = [order[j] ?? 0, order[i] ?? 0];
    }
    for (const r of order) {
      const acts = forward(net, data.x.subarray(r * FEATURES, (r + 1) * FEATURES));
      const label = data.y[r] ?? 0;
      let delta = Float64Array.of(((acts[acts.length - 1] as Float64Array)[0] ?? 0) - label).map((d) => d * (label ? 3 : 1));
      for (let l = net.weights.length - 1; l >= 0; l--) {
        const input = acts[l] as Float64Array;
        const w = net.weights[l] as Float32Array;
        const b = net.biases[l] as Float32Array;
        const prev = new Float64Array(input.length);
        for (let i = 0; i < input.length; i++) {
          for (let o = 0; o < delta.length; o++) {
            const k = i * delta.length + o;
            prev[i] = (prev[i] ?? 0) + (w[k] ?? 0) * (delta[o] ?? 0);
            w[k] = (w[k] ?? 0) - rate * (delta[o] ?? 0) * (input[i] ?? 0);
          }
        }
        for (let o = 0; o < delta.length; o++) b[o] = (b[o] ?? 0) - rate * (delta[o] ?? 0);
        if (l > 0) delta = prev.map((d, i) => ((input[i] ?? 0) > 0 ? d : 0));
      }
    }
  }
}

/** Area under the ROC curve (rank statistic). */
function auc(net: Mlp, data: { x: Float32Array; y: Uint8Array }): number {
  const scored = Array.from(data.y, (label, r) => ({ label, score: (forward(net, data.x.subarray(r * FEATURES, (r + 1) * FEATURES)).at(-1) as Float64Array)[0] ?? 0 }));
  scored.sort((a, b) => a.score - b.score);
  let positives = 0;
  let rankSum = 0;
  scored.forEach((s, i) => {
    if (s.label) {
      positives++;
      rankSum += i + 1;
    }
  });
  const negatives = scored.length - positives;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** The ONNX graph of an MLP: MatMul + Add per layer, Relu between, Sigmoid at the end. */
export function mlpGraph(net: Mlp, name: string, docString: string): GraphSpec {
  const spec: GraphSpec = {
    name,
    producer: 'abproxy make-demo-models',
    docString,
    opsets: { '': 13 },
    inputs: [{ name: INPUT, elem: 'float', shape: ['batch', FEATURES] }],
    outputs: [{ name: OUTPUT, elem: 'float', shape: ['batch', 1] }],
    initializers: [],
    nodes: [],
  };
  let current = INPUT;
  net.weights.forEach((w, l) => {
    const fanIn = net.sizes[l] ?? 0;
    const fanOut = net.sizes[l + 1] ?? 0;
    spec.initializers.push({ name: `w${l}`, elem: 'float', dims: [fanIn, fanOut], values: w }, { name: `b${l}`, elem: 'float', dims: [fanOut], values: net.biases[l] ?? [] });
    spec.nodes.push({ op: 'MatMul', inputs: [current, `w${l}`], outputs: [`mm${l}`] }, { op: 'Add', inputs: [`mm${l}`, `b${l}`], outputs: [`z${l}`] });
    const last = l === net.weights.length - 1;
    spec.nodes.push({ op: last ? 'Sigmoid' : 'Relu', inputs: [`z${l}`], outputs: [last ? OUTPUT : `h${l}`] });
    current = `h${l}`;
  });
  return spec;
}

/** An untrained MLP with wide hidden layers, for benchmarks: one run costs about a millisecond or more. */
export function heavyModel(hidden = 1536, layers = 2): Buffer {
  const net = initMlp([FEATURES, ...Array<number>(layers).fill(hidden), 1], prng(7));
  return encodeModel(mlpGraph(net, 'fraud-heavy', 'Benchmark model: random weights, not trained; its scores mean nothing.'));
}

export function makeDemoModels(outDir: string, log: (line: string) => void): void {
  const trainSet = syntheticTransactions(12_000, 1);
  const testSet = syntheticTransactions(4_000, 2);
  const fraudRate = trainSet.y.reduce((n, v) => n + v, 0) / trainSet.y.length;
  log(`synthetic data: ${trainSet.y.length} training rows, ${testSet.y.length} test rows, fraud rate ${(fraudRate * 100).toFixed(1)}%`);
  const synthetic = 'Trained by abproxy models/make-demo-models.ts on synthetic transactions the script generates; not a real fraud model.';

  const linear = initMlp([FEATURES, 1], prng(11));
  train(linear, trainSet, 4, 0.01, prng(12));
  log(`fraud-a (logistic regression): test AUC ${auc(linear, testSet).toFixed(3)}`);
  writeFileSync(join(outDir, 'fraud-a.onnx'), encodeModel(mlpGraph(linear, 'fraud-a', synthetic)));

  const mlp = initMlp([FEATURES, 16, 1], prng(21));
  train(mlp, trainSet, 6, 0.005, prng(22));
  log(`fraud-b (MLP 29-16-1): test AUC ${auc(mlp, testSet).toFixed(3)}`);
  writeFileSync(join(outDir, 'fraud-b.onnx'), encodeModel(mlpGraph(mlp, 'fraud-b', synthetic)));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const heavyAt = process.argv.indexOf('--heavy');
  if (heavyAt !== -1) {
    const file = process.argv[heavyAt + 1] ?? 'fraud-heavy.onnx';
    writeFileSync(file, heavyModel());
    console.log(`wrote ${file}`);
  } else {
    makeDemoModels(dirname(fileURLToPath(import.meta.url)), (line) => console.log(line));
  }
}
