// Open Inference Protocol (KServe V2) REST codec: parses and checks an infer request body (JSON, or the
// binary tensor extension's JSON part plus tensor bytes), and writes infer responses (each output as JSON
// data, or as binary tensor data when the request asks for it) and model metadata.
// Pure; knows nothing of sessions or HTTP.
import { ProxyError } from '../http/errors.js';
import { tensorBytes, withBinaryData } from './binary-tensors.js';
import { isOipDatatype, OIP_DATATYPES, oipTypeOf, toJsonArray, type OipDatatype, type TensorData } from './datatypes.js';

/** Nested `data` deeper than this is rejected (Triton accepts 50 and rejects 120). */
export const MAX_DATA_DEPTH = 64;

export interface RequestInput {
  name: string;
  shape: number[];
  datatype: OipDatatype;
  /** Row-major JSON elements, flattened */
  values: unknown[];
}

export interface InferRequest {
  id: string | undefined;
  parameters: Record<string, unknown> | undefined;
  inputs: RequestInput[];
  /** Requested output names, in order; undefined means every output */
  outputs: string[] | undefined;
  /** Which outputs to answer as binary tensor data. */
  binaryOutputs: BinaryOutputs;
}

/**
 * The request's `parameters.binary_data_output` (every output binary), overridden per requested output by
 * its `parameters.binary_data` (the binary tensor extension's two switches).
 */
export interface BinaryOutputs {
  byDefault: boolean;
  byName: ReadonlyMap<string, boolean>;
}

export function isBinaryOutput(forms: BinaryOutputs, name: string): boolean {
  return forms.byName.get(name) ?? forms.byDefault;
}

/** What a model says about one of its tensors: ONNX Runtime type and shape (-1 for a dynamic dim). */
export interface TensorMeta {
  name: string;
  type: string;
  shape: number[];
}

export interface ModelSignature {
  inputs: TensorMeta[];
  outputs: TensorMeta[];
}

export interface OutputTensor {
  type: string;
  dims: readonly number[];
  data: TensorData;
}

export function badInput(message: string): ProxyError {
  return new ProxyError('ABPROXY_MODEL_BAD_INPUT', message);
}

/** `jsonLength`: the body's Inference-Header-Content-Length, when it uses the binary tensor extension. */
export function parseInferRequest(body: Buffer, jsonLength?: number): InferRequest {
  let raw: unknown;
  try {
    raw = JSON.parse(body.toString('utf8', 0, jsonLength));
  } catch (error) {
    throw badInput(`malformed JSON: ${(error as Error).message}`);
  }
  if (!isObject(raw)) throw badInput('the request body must be a JSON object');
  if (jsonLength !== undefined) {
    const binary = body.subarray(jsonLength);
    raw = withBinaryData(raw, 'inputs', binary);
    if (!isObject(raw)) throw badInput(`the ${binary.length} bytes after the JSON part do not match the inputs' binary_data_size and datatypes`);
  }
  const { id, parameters, inputs, outputs } = raw;
  if (id !== undefined && id !== null && typeof id !== 'string') throw badInput('"id" must be a string');
  if (parameters !== undefined && parameters !== null && !isObject(parameters)) throw badInput('"parameters" must be an object');
  if (!Array.isArray(inputs) || inputs.length === 0) throw badInput('"inputs" must be a non-empty array');
  const parsedInputs = inputs.map((input: unknown, i) => parseInput(input, i));
  const byDefault = booleanParameter(parameters, 'binary_data_output', 'parameters.binary_data_output') ?? false;
  const byName = new Map<string, boolean>();
  let requested: string[] | undefined;
  if (outputs !== undefined && outputs !== null) {
    if (!Array.isArray(outputs)) throw badInput('"outputs" must be an array');
    requested = outputs.map((output: unknown, i) => {
      if (!isObject(output) || typeof output.name !== 'string') throw badInput(`outputs[${i}].name must be a string`);
      const { parameters: outputParameters } = output;
      if (outputParameters !== undefined && outputParameters !== null && !isObject(outputParameters)) throw badInput(`outputs[${i}].parameters must be an object`);
      const binary = booleanParameter(outputParameters, 'binary_data', `outputs[${i}].parameters.binary_data`);
      if (binary !== undefined) byName.set(output.name, binary);
      return output.name;
    });
  }
  return { id: id ?? undefined, parameters: (parameters as Record<string, unknown> | null) ?? undefined, inputs: parsedInputs, outputs: requested, binaryOutputs: { byDefault, byName } };
}

function booleanParameter(parameters: unknown, key: string, path: string): boolean | undefined {
  const value = isObject(parameters) ? parameters[key] : undefined;
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw badInput(`${path} must be true or false, got ${JSON.stringify(value)}`);
  return value;
}

function parseInput(input: unknown, i: number): RequestInput {
  if (!isObject(input)) throw badInput(`inputs[${i}] must be an object`);
  const { name, shape, datatype, data } = input;
  if (typeof name !== 'string') throw badInput(`inputs[${i}].name must be a string`);
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
    throw badInput(`input "${name}": shape must be an array of non-negative integers`);
  }
  if (!isOipDatatype(datatype)) {
    throw badInput(`input "${name}": datatype ${JSON.stringify(datatype)} is not one of ${OIP_DATATYPES.join(', ')}`);
  }
  if (!Array.isArray(data)) throw badInput(`input "${name}": data must be an array (flat or nested)`);
  const values = flatten(data, name);
  const expected = (shape as number[]).reduce((n, d) => n * d, 1);
  if (values.length !== expected) {
    throw badInput(`input "${name}": shape [${shape.join(', ')}] needs ${expected} elements, data has ${values.length}`);
  }
  return { name, shape: shape as number[], datatype, values };
}

/** Flattens nested data row-major, iteratively (no recursion on client-controlled depth). */
function flatten(data: unknown[], name: string): unknown[] {
  if (!data.some(Array.isArray)) return data;
  const out: unknown[] = [];
  const stack: { items: unknown[]; next: number }[] = [{ items: data, next: 0 }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1] as { items: unknown[]; next: number };
    if (top.next >= top.items.length) {
      stack.pop();
      continue;
    }
    const item = top.items[top.next++];
    if (Array.isArray(item)) {
      if (stack.length >= MAX_DATA_DEPTH) throw badInput(`input "${name}": data is nested deeper than ${MAX_DATA_DEPTH} levels`);
      stack.push({ items: item, next: 0 });
    } else out.push(item);
  }
  return out;
}

export interface ResponseContext {
  modelName: string;
  modelVersion: string | undefined;
  id: string | undefined;
  /** Output names in answer order */
  outputNames: readonly string[];
  binaryOutputs: BinaryOutputs;
}

/** An encoded infer response; `jsonLength` (its Inference-Header-Content-Length) is set when binary tensor data follows the JSON. */
export interface EncodedResponse {
  body: Buffer;
  jsonLength: number | undefined;
}

export function encodeInferResponse(context: ResponseContext, outputs: Record<string, OutputTensor>): EncodedResponse {
  const binary: Buffer[] = [];
  const tensors = context.outputNames.map((name) => {
    const tensor = outputs[name];
    if (!tensor) throw new ProxyError('ABPROXY_MODEL_FAILED', `the model returned no output "${name}"`);
    const datatype = oipTypeOf(tensor.type);
    if (!datatype) throw new ProxyError('ABPROXY_MODEL_FAILED', `output "${name}" has type ${tensor.type}, which the Open Inference Protocol cannot carry`);
    if (!isBinaryOutput(context.binaryOutputs, name)) return { name, shape: tensor.dims, datatype, data: toJsonArray(tensor.type, tensor.data) };
    const bytes = tensorBytes(tensor.type, tensor.data);
    binary.push(bytes);
    return { name, shape: tensor.dims, datatype, parameters: { binary_data_size: bytes.length } };
  });
  const json = Buffer.from(
    JSON.stringify({
      model_name: context.modelName,
      ...(context.modelVersion === undefined ? {} : { model_version: context.modelVersion }),
      ...(context.id === undefined ? {} : { id: context.id }),
      outputs: tensors,
    }),
  );
  if (binary.length === 0) return { body: json, jsonLength: undefined };
  return { body: Buffer.concat([json, ...binary]), jsonLength: json.length };
}

export function modelMetadata(name: string, version: string | undefined, signature: ModelSignature): unknown {
  const tensor = (meta: TensorMeta) => ({ name: meta.name, datatype: oipTypeOf(meta.type) ?? meta.type.toUpperCase(), shape: meta.shape });
  return {
    name,
    ...(version === undefined ? {} : { versions: [version] }),
    platform: 'onnx_onnxv1',
    inputs: signature.inputs.map(tensor),
    outputs: signature.outputs.map(tensor),
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
