// Framing of the Open Inference Protocol binary tensor extension (Triton's extension_binary_data, also
// served by KServe and MLServer): `Inference-Header-Content-Length: N` says the first N bytes of the body
// are the JSON object and raw little-endian tensor bytes follow. Pure; never changes a body.

export const INFERENCE_HEADER = 'inference-header-content-length';

/** A plain decimal byte count, as the field must be. */
const BYTE_COUNT = /^\d{1,15}$/;

/**
 * The JSON length the field declares, when it is a plain decimal within a body of `bodyBytes`;
 * undefined when the field is absent or unusable (then the whole body is taken as it is).
 */
export function inferenceHeaderLength(value: string | string[] | undefined, bodyBytes: number): number | undefined {
  if (typeof value !== 'string' || !BYTE_COUNT.test(value)) return undefined;
  const length = Number(value);
  return length <= bodyBytes ? length : undefined;
}

/** Why a field that is present cannot frame a body of `bodyBytes`, or undefined when it can (or is absent). */
export function inferenceHeaderProblem(value: string | string[] | undefined, bodyBytes: number): string | undefined {
  if (value === undefined || inferenceHeaderLength(value, bodyBytes) !== undefined) return undefined;
  const text = Array.isArray(value) ? value.join(', ') : value;
  if (!BYTE_COUNT.test(text)) return `Inference-Header-Content-Length ${JSON.stringify(text.slice(0, 40))} is not a byte count`;
  return `Inference-Header-Content-Length ${text} is beyond the body's ${bodyBytes} bytes`;
}

/** The JSON part of a body: its first `length` bytes under the extension, else the whole body. */
export function jsonPart(body: Buffer, length: number | undefined): Buffer {
  return length === undefined ? body : body.subarray(0, length);
}
