// Compares predict answers in the row format of KServe's V1 protocol and TensorFlow Serving
// (`{"predictions": [...]}`, as SageMaker's TensorFlow and scikit-learn containers answer too): the
// predictions as one tensor whose shape is their nesting, so rows of class scores get argmax agreement
// beside the largest differences. Only rectangular arrays of numbers, strings or booleans qualify;
// anything else (objects per row, ragged rows) is left to the structural JSON comparison. Pure.
import type { Comparison } from './comparison.js';
import { compareOip, type OipTensor } from './compare-oip.js';

/** A predict answer's predictions as one tensor, its shape their nesting; undefined when the value is not such an answer. */
export function predictionsTensor(value: unknown): OipTensor | undefined {
  if (value === null || typeof value !== 'object' || !('predictions' in value)) return undefined;
  const { predictions } = value;
  if (!Array.isArray(predictions) || predictions.length === 0) return undefined;
  const shape = shapeOf(predictions);
  return shape && { name: 'predictions', shape, data: predictions };
}

export function comparePredictions(primary: OipTensor, shadow: OipTensor, tolerance: number): Comparison {
  return { ...compareOip({ outputs: [primary] }, { outputs: [shadow] }, tolerance), kind: 'predictions' };
}

/** The dimensions of a rectangular nested array with primitive leaves; undefined when it is ragged or holds objects. Iterative. */
function shapeOf(data: unknown[]): number[] | undefined {
  const shape: number[] = [];
  for (let level: unknown = data; Array.isArray(level); level = (level as unknown[])[0]) shape.push(level.length);
  const stack: { items: unknown[]; depth: number }[] = [{ items: data, depth: 0 }];
  while (stack.length > 0) {
    const { items, depth } = stack.pop() as { items: unknown[]; depth: number };
    if (items.length !== shape[depth]) return undefined;
    const inner = depth + 1 < shape.length;
    for (const item of items) {
      if (inner) {
        if (!Array.isArray(item)) return undefined;
        stack.push({ items: item, depth: depth + 1 });
      } else if (item === null || typeof item === 'object') return undefined;
    }
  }
  return shape;
}
