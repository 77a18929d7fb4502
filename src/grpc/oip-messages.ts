// Open Inference Protocol gRPC messages read into the JSON shape of the REST protocol, so a gRPC answer
// compares and logs like a REST one and a request's fields serve a `body:` sticky key: tensors from typed
// `contents` or from `raw_*_contents` (little-endian bytes), parameters as plain values. Never throws.
import { tensorData } from '../models/binary-tensors.js';
import { isOipDatatype } from '../models/datatypes.js';
import { grpcMessages } from './framing.js';
import { decodeMessage, MODEL_INFER, MODEL_STREAM_INFER, OIP_SERVICE, oipType } from './oip-schema.js';

const REQUEST = oipType('ModelInferRequest');
const RESPONSE = oipType('ModelInferResponse');
const STREAM_RESPONSE = oipType('ModelStreamInferResponse');
const MODEL_READY_REQUEST = oipType('ModelReadyRequest');

/** The OIP methods whose request names a model (in field 1: model_name, or name). */
const MODEL_METHODS: ReadonlySet<string> = new Set([MODEL_INFER, MODEL_STREAM_INFER, `${OIP_SERVICE}ModelReady`, `${OIP_SERVICE}ModelMetadata`]);

/**
 * The model a call of an OIP method names (ModelInfer, ModelStreamInfer, ModelReady, ModelMetadata), for
 * routing it like its REST path /v2/models/NAME; undefined for other methods, or a name that cannot be a path segment.
 */
export function grpcModelName(method: string, message: Buffer): string | undefined {
  if (!MODEL_METHODS.has(method)) return undefined;
  try {
    // All four requests keep the model's name in field 1 as a string, which ModelReadyRequest reads as `name`.
    const { name } = decodeMessage(MODEL_READY_REQUEST, message) as { name?: string };
    return name && !/[/?#%]/.test(name) ? name : undefined;
  } catch {
    return undefined;
  }
}

export type Parameters = Record<string, { bool_param?: boolean; int64_param?: number; string_param?: string }>;

/** A decoded tensor message (InferInputTensor or InferOutputTensor). */
export interface TensorMessage {
  name: string;
  datatype: string;
  shape?: number[];
  parameters?: Parameters;
  contents?: Partial<Record<ContentsField, unknown[]>>;
}

type ContentsField = 'bool_contents' | 'int_contents' | 'int64_contents' | 'uint_contents' | 'uint64_contents' | 'fp32_contents' | 'fp64_contents' | 'bytes_contents';

/** Which InferTensorContents field holds each datatype (FP16 travels only as raw bytes). */
const CONTENTS_OF: Record<string, ContentsField> = {
  BOOL: 'bool_contents',
  INT8: 'int_contents',
  INT16: 'int_contents',
  INT32: 'int_contents',
  INT64: 'int64_contents',
  UINT8: 'uint_contents',
  UINT16: 'uint_contents',
  UINT32: 'uint_contents',
  UINT64: 'uint64_contents',
  FP32: 'fp32_contents',
  FP64: 'fp64_contents',
  BYTES: 'bytes_contents',
};

/**
 * A captured gRPC answer body of an OIP method read as JSON: ModelInfer's one ModelInferResponse as
 * a REST infer response, ModelStreamInfer's messages as an array of `{error_message, infer_response}`
 * (`encoding`: the answer's grpc-encoding). Undefined for other methods and bodies that do not decode.
 */
export function grpcAnswerJson(method: string, body: Buffer, encoding?: string): unknown {
  const messages = grpcMessages(body, encoding);
  if (!messages) return undefined;
  try {
    if (method === MODEL_INFER) return messages.length === 1 && messages[0] ? inferJson(decodeMessage(RESPONSE, messages[0]), 'outputs', 'raw_output_contents') : undefined;
    if (method === MODEL_STREAM_INFER) return messages.map(streamAnswerJson);
  } catch {
    return undefined;
  }
  return undefined;
}

/**
 * A captured gRPC request body of an OIP method read as JSON, for the shadow log: ModelInfer's one
 * ModelInferRequest as a REST infer request, ModelStreamInfer's as an array of them (`encoding`: the
 * call's grpc-encoding). Undefined for other paths and bodies that do not decode.
 */
export function grpcRequestBodyJson(method: string, body: Buffer, encoding?: string): unknown {
  if (method !== MODEL_INFER && method !== MODEL_STREAM_INFER) return undefined;
  const messages = grpcMessages(body, encoding);
  if (!messages || messages.length === 0) return undefined;
  const requests = messages.map(inferRequestJson);
  if (requests.includes(undefined)) return undefined;
  return method === MODEL_INFER ? (messages.length === 1 ? requests[0] : undefined) : requests;
}

/** The first request message of an OIP method (ModelInfer, ModelStreamInfer) read as a REST infer request, for a `body:` sticky key; undefined for other methods. */
export function grpcRequestJson(method: string, message: Buffer): unknown {
  return method === MODEL_INFER || method === MODEL_STREAM_INFER ? inferRequestJson(message) : undefined;
}

/** A ModelInferRequest message read as a REST infer request (inputs with their data), or undefined when it does not decode. */
export function inferRequestJson(message: Buffer): unknown {
  try {
    return inferJson(decodeMessage(REQUEST, message), 'inputs', 'raw_input_contents');
  } catch {
    return undefined;
  }
}

function streamAnswerJson(message: Buffer): unknown {
  const decoded = decodeMessage(STREAM_RESPONSE, message);
  const answer = decoded.infer_response as Record<string, unknown> | undefined;
  return { error_message: decoded.error_message ?? '', infer_response: answer ? inferJson(answer, 'outputs', 'raw_output_contents') : null };
}

/** A decoded request or response as its REST JSON: the tensors of `list` with their data, from `rawList` when the sender used raw bytes. */
function inferJson(decoded: Record<string, unknown>, list: 'inputs' | 'outputs', rawList: 'raw_input_contents' | 'raw_output_contents'): Record<string, unknown> {
  const raw = (decoded[rawList] as Uint8Array[] | undefined) ?? [];
  const tensors = ((decoded[list] as TensorMessage[] | undefined) ?? []).map((tensor, i) => tensorJson(tensor, raw[i]));
  const json: Record<string, unknown> = { model_name: decoded.model_name ?? '' };
  if (decoded.model_version) json.model_version = decoded.model_version;
  if (decoded.id) json.id = decoded.id;
  if (decoded.parameters) json.parameters = parametersJson(decoded.parameters as Parameters);
  json[list] = tensors;
  if (list === 'inputs' && decoded.outputs) {
    const requested = decoded.outputs as { name: string; parameters?: Parameters }[];
    json.outputs = requested.map((o) => ({ name: o.name, ...(o.parameters ? { parameters: parametersJson(o.parameters) } : {}) }));
  }
  return json;
}

function tensorJson(tensor: TensorMessage, raw: Uint8Array | undefined): Record<string, unknown> {
  const json: Record<string, unknown> = { name: tensor.name ?? '', datatype: tensor.datatype ?? '', shape: tensor.shape ?? [] };
  if (tensor.parameters) json.parameters = parametersJson(tensor.parameters);
  json.data = raw ? tensorData(tensor.datatype, Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength)) : contentsData(tensor);
  return json;
}

/**
 * Why a ModelInferRequest's tensor data breaks the protocol's rules, or undefined: raw_input_contents
 * holds one entry per input and then no input has contents; otherwise each input's values are in its
 * datatype's contents field.
 */
export function inputContentsProblem(inputs: readonly TensorMessage[], rawCount: number): string | undefined {
  const filled = (tensor: TensorMessage) => Object.entries(tensor.contents ?? {}).filter(([, values]) => (values?.length ?? 0) > 0).map(([field]) => field);
  if (rawCount > 0) {
    if (rawCount !== inputs.length) return `raw_input_contents has ${rawCount} entries for ${inputs.length} input${inputs.length === 1 ? '' : 's'}; it takes one per input`;
    const both = inputs.find((tensor) => filled(tensor).length > 0);
    return both && `input "${both.name}" has contents beside raw_input_contents; send one or the other`;
  }
  for (const tensor of inputs) {
    if (!isOipDatatype(tensor.datatype)) continue; // the model's checks name the datatype itself
    const wanted = CONTENTS_OF[tensor.datatype];
    const other = filled(tensor).find((field) => field !== wanted);
    if (other !== undefined) return `input "${tensor.name}": datatype ${tensor.datatype} takes ${wanted ?? 'raw_input_contents'}, not ${other}`;
  }
  return undefined;
}

/** A tensor's typed contents as a JSON array (empty when the datatype's field is unset). */
export function contentsData(tensor: TensorMessage): unknown[] {
  const field = CONTENTS_OF[tensor.datatype];
  const values = (field && tensor.contents?.[field]) ?? [];
  return field === 'bytes_contents' ? values.map((v) => Buffer.from(v as Uint8Array).toString('utf8')) : values;
}

/** InferParameter values as plain JSON values. */
export function parametersJson(parameters: Parameters): Record<string, unknown> {
  const json: Record<string, unknown> = {};
  for (const [name, p] of Object.entries(parameters)) json[name] = p.string_param ?? p.int64_param ?? p.bool_param ?? null;
  return json;
}
