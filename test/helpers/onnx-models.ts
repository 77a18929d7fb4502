// Small ONNX models for tests, written with the repository's own ONNX writer into a temp directory:
// a sum model (MLServer's example), an iris-shaped classifier, an identity model for every datatype,
// a deliberately slow model, and one whose answer is large. Each returns the file path.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeModel, type ElemName, type GraphSpec } from '../../models/onnx-proto.js';

export function modelDir(): string {
  return mkdtempSync(join(tmpdir(), 'abproxy-models-'));
}

function write(dir: string, file: string, spec: Omit<GraphSpec, 'producer' | 'opsets'> & Partial<Pick<GraphSpec, 'opsets'>>): string {
  const path = join(dir, file);
  writeFileSync(path, encodeModel({ producer: 'abproxy tests', opsets: { '': 13 }, ...spec }));
  return path;
}

/** input-0 INT32 [-1, 3] -> output-0 and requested-output-0, FP32 [-1]: the row sums. */
export function sumModel(dir: string): string {
  return write(dir, 'sum.onnx', {
    name: 'sum',
    inputs: [{ name: 'input-0', elem: 'int32', shape: ['batch', 3] }],
    outputs: [
      { name: 'output-0', elem: 'float', shape: ['batch'] },
      { name: 'requested-output-0', elem: 'float', shape: ['batch'] },
    ],
    initializers: [{ name: 'axes', elem: 'int64', dims: [1], values: [1] }],
    nodes: [
      { op: 'Cast', inputs: ['input-0'], outputs: ['as_float'], attrs: { to: { i: 1 } } },
      { op: 'ReduceSum', inputs: ['as_float', 'axes'], outputs: ['output-0'], attrs: { keepdims: { i: 0 } } },
      { op: 'Identity', inputs: ['output-0'], outputs: ['requested-output-0'] },
    ],
  });
}

/** input-0 FP32 [-1, 4] -> output-0 INT64 [-1]: class 0/1/2 by the third feature (cut at 2.5 and 5.0). */
export function irisModel(dir: string): string {
  return write(dir, 'iris.onnx', {
    name: 'iris',
    inputs: [{ name: 'input-0', elem: 'float', shape: ['batch', 4] }],
    outputs: [{ name: 'output-0', elem: 'int64', shape: ['batch'] }],
    initializers: [
      { name: 'w', elem: 'float', dims: [4, 3], values: [0, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 0] },
      { name: 'b', elem: 'float', dims: [3], values: [0, -2.5, -7.5] },
    ],
    nodes: [
      { op: 'MatMul', inputs: ['input-0', 'w'], outputs: ['mm'] },
      { op: 'Add', inputs: ['mm', 'b'], outputs: ['scores'] },
      { op: 'ArgMax', inputs: ['scores'], outputs: ['output-0'], attrs: { axis: { i: 1 }, keepdims: { i: 0 } } },
    ],
  });
}

export const ALL_TYPES: Record<string, ElemName> = {
  BOOL: 'bool',
  INT8: 'int8',
  INT16: 'int16',
  INT32: 'int32',
  INT64: 'int64',
  UINT8: 'uint8',
  UINT16: 'uint16',
  UINT32: 'uint32',
  UINT64: 'uint64',
  FP16: 'float16',
  FP32: 'float',
  FP64: 'float64',
  BYTES: 'string',
};

/** One input `in_<DATATYPE>` [-1] per datatype, each copied to `out_<DATATYPE>`. */
export function identityModel(dir: string): string {
  const types = Object.entries(ALL_TYPES);
  return write(dir, 'identity.onnx', {
    name: 'identity',
    inputs: types.map(([oip, elem]) => ({ name: `in_${oip}`, elem, shape: ['n'] })),
    outputs: types.map(([oip, elem]) => ({ name: `out_${oip}`, elem, shape: ['n'] })),
    initializers: [],
    nodes: types.map(([oip]) => ({ op: 'Identity', inputs: [`in_${oip}`], outputs: [`out_${oip}`] })),
  });
}

/** input-0 INT32 [-1, 2] copied to output-0 (KServe's parameters-echo test model). */
export function echoModel(dir: string): string {
  return write(dir, 'echo.onnx', {
    name: 'echo',
    inputs: [{ name: 'input-0', elem: 'int32', shape: ['batch', 2] }],
    outputs: [{ name: 'output-0', elem: 'int32', shape: ['batch', 2] }],
    initializers: [],
    nodes: [{ op: 'Identity', inputs: ['input-0'], outputs: ['output-0'] }],
  });
}

/**
 * x FP32 [1] -> y FP32 [1, 1]: squares a size x size matrix scaled by x (input-dependent, so never
 * constant-folded). size 900 (two 900 x 900 matrix products) ran 35-60 ms a request on an idle 2-core
 * machine, but only 23-25 ms on a faster one, under the 25 ms the isolation test needs to tell blocking
 * apart from scheduling noise; 1200 (2.4x the work) ran 69 ms a request there.
 */
export function slowModel(dir: string, size = 1200): string {
  const values = Float32Array.from({ length: size * size }, (_, i) => ((i * 7919) % 101) / 101 - 0.5);
  return write(dir, `slow-${size}.onnx`, {
    name: 'slow',
    inputs: [{ name: 'x', elem: 'float', shape: [1] }],
    outputs: [{ name: 'y', elem: 'float', shape: [1, 1] }],
    initializers: [{ name: 'a', elem: 'float', dims: [size, size], values }],
    nodes: [
      { op: 'Mul', inputs: ['a', 'x'], outputs: ['ax'] },
      { op: 'MatMul', inputs: ['ax', 'ax'], outputs: ['sq'] },
      { op: 'MatMul', inputs: ['sq', 'ax'], outputs: ['cube'] },
      { op: 'ReduceSum', inputs: ['cube'], outputs: ['y'], attrs: { keepdims: { i: 1 } } },
    ],
  });
}

/** x FP32 [1] -> y FP32 [n]: x repeated n times (Expand), a large answer to a tiny request. */
export function expandModel(dir: string, n: number): string {
  return write(dir, `expand-${n}.onnx`, {
    name: 'expand',
    inputs: [{ name: 'x', elem: 'float', shape: [1] }],
    outputs: [{ name: 'y', elem: 'float', shape: [n] }],
    initializers: [{ name: 'shape', elem: 'int64', dims: [1], values: [n] }],
    nodes: [{ op: 'Expand', inputs: ['x', 'shape'], outputs: ['y'] }],
  });
}
