// Reads an Open Inference Protocol answer in the binary tensor extension (Triton extension_binary_data):
// every output whose parameters.binary_data_size is set has its data in the bytes after the JSON part,
// little-endian and row-major, in output order (BYTES elements as a 4-byte length then the bytes). The
// result is the JSON part with each such output's data as a JSON array, so it compares like any OIP
// answer. Pure; undefined when the sizes do not add up.
import { NOT_JSON, parseJsonBody } from './answer.js';

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

interface BinaryOutput {
  datatype?: unknown;
  parameters?: { binary_data_size?: unknown };
  data?: unknown;
}

/** A whole binary-extension body (JSON part of `jsonLength` bytes, then tensor bytes) as an OIP answer with every output's data, or undefined. */
export function readBinaryAnswer(body: Buffer, jsonLength: number): unknown {
  const json = parseJsonBody(body.subarray(0, jsonLength));
  return json === NOT_JSON ? undefined : withBinaryOutputs(json, body.subarray(jsonLength));
}

/** The JSON part with the binary outputs' data filled in, or undefined when it is not such an answer. */
export function withBinaryOutputs(json: unknown, binary: Buffer): unknown {
  if (json === null || typeof json !== 'object' || !('outputs' in json) || !Array.isArray(json.outputs)) return undefined;
  let offset = 0;
  const outputs: unknown[] = [];
  for (const output of json.outputs as unknown[]) {
    const size = (output as BinaryOutput | null)?.parameters?.binary_data_size;
    if (size === undefined) {
      outputs.push(output);
      continue;
    }
    if (typeof size !== 'number' || !Number.isInteger(size) || size < 0 || offset + size > binary.length) return undefined;
    const data = decode(String((output as BinaryOutput).datatype), binary.subarray(offset, offset + size));
    if (!data) return undefined;
    outputs.push({ ...(output as object), data });
    offset += size;
  }
  return offset === binary.length ? { ...json, outputs } : undefined;
}

function decode(datatype: string, bytes: Buffer): unknown[] | undefined {
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

/** IEEE 754 binary16 to a number. */
function halfToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : Number.NaN;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}
