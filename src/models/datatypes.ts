// Open Inference Protocol datatypes and their ONNX Runtime tensor types: element conversion from JSON
// values into typed arrays and back, FP16 included (held as IEEE 754 binary16 bits, as ONNX Runtime
// takes them). Pure; never touches a session.

export type OipDatatype = 'BOOL' | 'UINT8' | 'UINT16' | 'UINT32' | 'UINT64' | 'INT8' | 'INT16' | 'INT32' | 'INT64' | 'FP16' | 'FP32' | 'FP64' | 'BYTES';
export type OrtType = 'bool' | 'uint8' | 'uint16' | 'uint32' | 'uint64' | 'int8' | 'int16' | 'int32' | 'int64' | 'float16' | 'float32' | 'float64' | 'string';

export type TensorData = Float32Array | Float64Array | Int8Array | Int16Array | Int32Array | BigInt64Array | Uint8Array | Uint16Array | Uint32Array | BigUint64Array | string[];

export const OIP_DATATYPES: readonly OipDatatype[] = ['BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64', 'BYTES'];

const ORT_OF: Record<OipDatatype, OrtType> = {
  BOOL: 'bool',
  UINT8: 'uint8',
  UINT16: 'uint16',
  UINT32: 'uint32',
  UINT64: 'uint64',
  INT8: 'int8',
  INT16: 'int16',
  INT32: 'int32',
  INT64: 'int64',
  FP16: 'float16',
  FP32: 'float32',
  FP64: 'float64',
  BYTES: 'string',
};

const OIP_OF = Object.fromEntries(Object.entries(ORT_OF).map(([oip, ort]) => [ort, oip])) as Record<OrtType, OipDatatype>;

export function isOipDatatype(value: unknown): value is OipDatatype {
  return typeof value === 'string' && (OIP_DATATYPES as readonly string[]).includes(value);
}

export function ortTypeOf(datatype: OipDatatype): OrtType {
  return ORT_OF[datatype];
}

/** The OIP datatype of an ONNX Runtime type, or undefined for types OIP cannot carry. */
export function oipTypeOf(type: string): OipDatatype | undefined {
  return OIP_OF[type as OrtType];
}

const INTEGER_RANGE: Partial<Record<OrtType, [number, number]>> = {
  uint8: [0, 255],
  int8: [-128, 127],
  uint16: [0, 65_535],
  int16: [-32_768, 32_767],
  uint32: [0, 4_294_967_295],
  int32: [-2_147_483_648, 2_147_483_647],
  uint64: [0, Number.MAX_SAFE_INTEGER],
  int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

/** Allocates the typed array (or string list) that holds `count` elements of `type`. */
export function allocate(type: OrtType, count: number): TensorData {
  switch (type) {
    case 'float32':
      return new Float32Array(count);
    case 'float64':
      return new Float64Array(count);
    case 'int8':
      return new Int8Array(count);
    case 'int16':
      return new Int16Array(count);
    case 'int32':
      return new Int32Array(count);
    case 'int64':
      return new BigInt64Array(count);
    case 'uint8':
    case 'bool':
      return new Uint8Array(count);
    case 'uint16':
    case 'float16':
      return new Uint16Array(count);
    case 'uint32':
      return new Uint32Array(count);
    case 'uint64':
      return new BigUint64Array(count);
    case 'string':
      return new Array<string>(count).fill('');
  }
}

/**
 * Writes one JSON element into `out[index]`; returns a problem text when the value does not fit the type.
 * Numbers must be finite in the tensor's type (a double that FP32 or FP16 would round to infinity is
 * refused, as an out-of-range integer is) and, for integers, whole and within range (FP16 rounds to the
 * nearest binary16, ties to even); BOOL takes true/false (or 0/1).
 */
export function writeElement(type: OrtType, out: TensorData, index: number, value: unknown): string | undefined {
  if (type === 'string') {
    if (typeof value !== 'string') return `expected a string, got ${describe(value)}`;
    (out as string[])[index] = value;
    return undefined;
  }
  if (type === 'bool') {
    if (value === true || value === 1) (out as Uint8Array)[index] = 1;
    else if (value === false || value === 0) (out as Uint8Array)[index] = 0;
    else return `expected true or false, got ${describe(value)}`;
    return undefined;
  }
  if (typeof value !== 'number' || !Number.isFinite(value)) return `expected a number, got ${describe(value)}`;
  const range = INTEGER_RANGE[type];
  if (range) {
    if (!Number.isInteger(value) || value < range[0] || value > range[1]) return `expected an integer in [${range[0]}, ${range[1]}], got ${value}`;
    if (type === 'int64' || type === 'uint64') (out as BigInt64Array | BigUint64Array)[index] = BigInt(value);
    else (out as Int32Array)[index] = value;
    return undefined;
  }
  if (type === 'float16') {
    const bits = numberToHalf(value);
    if ((bits & 0x7fff) === 0x7c00) return `${value} is beyond FP16's range (±65504)`;
    (out as Uint16Array)[index] = bits;
  } else if (type === 'float32' && !Number.isFinite(Math.fround(value))) return `${value} is beyond FP32's range (±3.4028235e38)`;
  else (out as Float32Array)[index] = value;
  return undefined;
}

/** Tensor data as JSON values (BOOL as booleans, 64-bit integers and FP16 as numbers). */
export function toJsonArray(type: string, data: ArrayLike<unknown>): unknown[] {
  if (type === 'bool') return Array.from(data as Uint8Array, (v) => v !== 0);
  if (type === 'int64' || type === 'uint64') return Array.from(data as BigInt64Array, (v) => Number(v));
  if (type === 'float16') return Array.from(data as Uint16Array, halfToNumber);
  return Array.from(data);
}

/** IEEE 754 binary16 bits to a number. */
export function halfToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : Number.NaN;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

/** A number to the nearest IEEE 754 binary16 (ties to even), as bits; beyond the largest half it is infinity. */
export function numberToHalf(value: number): number {
  if (Number.isNaN(value)) return 0x7e00;
  const sign = value < 0 || Object.is(value, -0) ? 0x8000 : 0;
  const magnitude = Math.abs(value);
  if (magnitude < 2 ** -14) return sign | roundHalfToEven(magnitude * 2 ** 24); // subnormal; 1024 is the smallest normal's bits
  let exponent = Math.floor(Math.log2(magnitude));
  if (2 ** exponent > magnitude) exponent--;
  else if (2 ** (exponent + 1) <= magnitude) exponent++;
  let fraction = roundHalfToEven((magnitude / 2 ** exponent - 1) * 1024);
  if (fraction === 1024) {
    fraction = 0;
    exponent++;
  }
  if (exponent > 15) return sign | 0x7c00;
  return sign | ((exponent + 15) << 10) | fraction;
}

function roundHalfToEven(x: number): number {
  const floor = Math.floor(x);
  const rest = x - floor;
  return rest > 0.5 || (rest === 0.5 && floor % 2 === 1) ? floor + 1 : floor;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a nested array';
  return typeof value === 'string' ? `"${value.slice(0, 40)}"` : typeof value === 'number' || typeof value === 'boolean' ? String(value) : typeof value;
}
