// Open Inference Protocol bodies in the binary tensor extension (Triton extension_binary_data): every
// input (of a request) or output (of an answer) whose parameters.binary_data_size is set has its data in
// the bytes after the JSON part, little-endian and row-major, in tensor order (BYTES elements as a 4-byte
// length then the bytes). Reading gives the JSON part with each such tensor's data as a JSON array, so it
// binds or compares like any OIP body (undefined when the sizes do not add up); tensorBytes writes a
// model output's data in that form. Pure.
import { halfToNumber, type TensorData } from './datatypes.js';

type Reader = (bytes: Buffer, offset: number) => unknown;

/** Element size and reader per fixed-size OIP datatype. */
const FIXED: Record<string, [number, Reader]> = {
  BOOL: [1, (b, o) => b[o] !== 0],
  UINT8: [1, (b, o) => b.readUInt8(o)],
  INT8: [1, (b, o) => b.readInt8(o)],
  UINT16: [2, (b, o) => b.readUInt16LE(o)],
  INT16: [2, (b, o) => b.readInt16LE(o)],
  UINT32: [4, (b, o) => b.readUInt32LE(o)],
  INT32: [4, (b, o) => b.readInt32LE(o)],
  UINT64: [8, (b, o) => Number(b.readBigUInt64LE(o))],
  INT64: [8, (b, o) => Number(b.readBigInt64LE(o))],
  FP16: [2, (b, o) => halfToNumber(b.readUInt16LE(o))],
  FP32: [4, (b, o) => b.readFloatLE(o)],
  FP64: [8, (b, o) => b.readDoubleLE(o)],
};

interface BinaryTensor {
  datatype?: unknown;
  parameters?: { binary_data_size?: unknown };
  data?: unknown;
}

/** Which tensors a body carries: a request's inputs or an answer's outputs. */
export type TensorList = 'inputs' | 'outputs';

/** A whole binary-extension body (a JSON part of `jsonLength` bytes, then tensor bytes) with every tensor's data, or undefined. */
export function readBinaryBody(body: Buffer, jsonLength: number, list: TensorList): unknown {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8', 0, jsonLength));
  } catch {
    return undefined;
  }
  return withBinaryData(json, list, body.subarray(jsonLength));
}

/** The JSON part with its binary tensors' data filled in, or undefined when the sizes do not add up. */
export function withBinaryData(json: unknown, list: TensorList, binary: Buffer): unknown {
  if (json === null || typeof json !== 'object' || !(list in json)) return undefined;
  const tensors = (json as Record<TensorList, unknown>)[list];
  if (!Array.isArray(tensors)) return undefined;
  let offset = 0;
  const filled: unknown[] = [];
  for (const tensor of tensors as unknown[]) {
    const size = (tensor as BinaryTensor | null)?.parameters?.binary_data_size;
    if (size === undefined) {
      filled.push(tensor);
      continue;
    }
    if (typeof size !== 'number' || !Number.isInteger(size) || size < 0 || offset + size > binary.length) return undefined;
    const data = tensorData(String((tensor as BinaryTensor).datatype), binary.subarray(offset, offset + size));
    if (!data) return undefined;
    filled.push({ ...(tensor as object), data });
    offset += size;
  }
  return offset === binary.length ? { ...json, [list]: filled } : undefined;
}

/** One tensor's data from its raw little-endian bytes (as a JSON array), or undefined when they do not fit the datatype. */
export function tensorData(datatype: string, bytes: Buffer): unknown[] | undefined {
  if (datatype === 'BYTES') return decodeBytes(bytes);
  const fixed = FIXED[datatype];
  if (!fixed) return undefined;
  const [width, read] = fixed;
  if (bytes.length % width !== 0) return undefined;
  const out = new Array<unknown>(bytes.length / width);
  for (let i = 0; i < out.length; i++) out[i] = read(bytes, i * width);
  return out;
}

/** BYTES elements: each a 4-byte little-endian length followed by that many bytes (read as UTF-8). */
function decodeBytes(bytes: Buffer): string[] | undefined {
  const out: string[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    if (offset + 4 > bytes.length) return undefined;
    const length = bytes.readUInt32LE(offset);
    offset += 4;
    if (offset + length > bytes.length) return undefined;
    out.push(bytes.toString('utf8', offset, offset + length));
    offset += length;
  }
  return out;
}

/**
 * A model output's data as binary tensor bytes (`type` is its ONNX Runtime type). Typed arrays are used
 * as they lie in memory: every platform onnxruntime-node ships for (x64, arm64) is little-endian.
 */
export function tensorBytes(type: string, data: TensorData): Buffer {
  if (Array.isArray(data)) {
    const parts: Buffer[] = [];
    for (const element of data) {
      const bytes = Buffer.from(element, 'utf8');
      const length = Buffer.allocUnsafe(4);
      length.writeUInt32LE(bytes.length);
      parts.push(length, bytes);
    }
    return Buffer.concat(parts);
  }
  if (type === 'bool') return Buffer.from(Uint8Array.from(data as Uint8Array, (v) => (v !== 0 ? 1 : 0)));
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}
