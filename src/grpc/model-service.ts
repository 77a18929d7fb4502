// Local models over gRPC: the Open Inference Protocol's GRPCInferenceService answered in-process for a
// `model:NAME` variant (the variant's model, whatever name the message gives, as over REST). ModelInfer
// goes through the REST binary tensor extension both ways, so raw tensor bytes are never turned into
// JSON numbers: raw_input_contents in as binary inputs, binary outputs back as raw_output_contents.
// ModelStreamInfer answers each request message with a ModelStreamInferResponse (a failed inference in
// its error_message, as Triton does, and the stream goes on). Health and metadata methods answer from
// the same service.
import { frameMessage, grpcMessages } from './framing.js';
import { contentsData, inputContentsProblem, parametersJson, type Parameters, type TensorMessage } from './oip-messages.js';
import { decodeMessage, OIP_SERVICE, oipType } from './oip-schema.js';
import { GRPC_STATUS, grpcStatusOf } from './status.js';
import type { OipAnswer, OipService } from '../models/oip-service.js';

/** What one call answered: its gRPC status (and message), and the framed response messages. */
export interface GrpcAnswer {
  grpcStatus: number;
  message?: string;
  body: Buffer;
}

/** Answers one call of `method` (its :path) on `model` with the request body as received; `requestId`: the answer's id when the request gives none. Never rejects. */
export async function callLocalModel(service: OipService, model: string, method: string, body: Buffer, requestId?: string): Promise<GrpcAnswer> {
  const name = method.startsWith(OIP_SERVICE) ? method.slice(OIP_SERVICE.length) : '';
  const messages = grpcMessages(body);
  if (name === 'ModelStreamInfer' && messages) {
    const replies: Buffer[] = [];
    for (const message of messages) replies.push(frameMessage(await streamInferReply(service, model, message, requestId)));
    return { grpcStatus: GRPC_STATUS.OK, body: Buffer.concat(replies) };
  }
  if (!messages || messages.length !== 1 || !messages[0]) {
    return failure(GRPC_STATUS.INVALID_ARGUMENT, `${name || method} takes exactly one uncompressed request message`);
  }
  const [message] = messages;
  try {
    return await answerCall(service, model, name, method, message, requestId);
  } catch (error) {
    return failure(GRPC_STATUS.INVALID_ARGUMENT, `the ${name} request does not decode: ${(error as Error).message}`);
  }
}

function answerCall(service: OipService, model: string, name: string, method: string, message: Buffer, requestId: string | undefined): GrpcAnswer | Promise<GrpcAnswer> {
  switch (name) {
    case 'ModelInfer':
      return infer(service, model, message, requestId);
    case 'ServerLive':
      return reply('ServerLiveResponse', service.serverLive());
    case 'ServerReady':
      return reply('ServerReadyResponse', service.serverReady(), true);
    case 'ServerMetadata':
      return reply('ServerMetadataResponse', service.serverMetadata());
    case 'ModelReady':
      return reply('ModelReadyResponse', service.modelReady(model, versionOf(message)), true);
    case 'ModelMetadata':
      return reply('ModelMetadataResponse', service.modelMetadata(model, versionOf(message)));
    default:
      return failure(GRPC_STATUS.UNIMPLEMENTED, `${method} is not served by local models`);
  }
}

const INFER_REQUEST = oipType('ModelInferRequest');
const INFER_RESPONSE = oipType('ModelInferResponse');

const STREAM_RESPONSE = oipType('ModelStreamInferResponse');

/** One ModelStreamInfer request message answered by `model`: its ModelStreamInferResponse message (unframed), a failure in error_message. Never rejects. */
export async function streamInferReply(service: OipService, model: string, message: Buffer, requestId?: string): Promise<Uint8Array> {
  let reply: object;
  try {
    const answer = await inferResponse(service, model, message, requestId);
    reply = 'response' in answer ? { error_message: '', infer_response: answer.response } : { error_message: answer.failure.message ?? 'inference failed' };
  } catch (error) {
    reply = { error_message: `the ModelStreamInfer request does not decode: ${(error as Error).message}` };
  }
  return STREAM_RESPONSE.encode(STREAM_RESPONSE.fromObject(reply)).finish();
}

async function infer(service: OipService, model: string, message: Buffer, requestId: string | undefined): Promise<GrpcAnswer> {
  const answer = await inferResponse(service, model, message, requestId);
  if (!('response' in answer)) return answer.failure;
  return { grpcStatus: GRPC_STATUS.OK, body: frameMessage(INFER_RESPONSE.encode(INFER_RESPONSE.fromObject(answer.response)).finish()) };
}

/** A ModelInferRequest run on the model: the ModelInferResponse as an object, or the failure. Throws when the request does not decode. */
async function inferResponse(service: OipService, model: string, message: Buffer, requestId: string | undefined): Promise<{ response: object } | { failure: GrpcAnswer }> {
  const request = restRequest(decodeMessage(INFER_REQUEST, message));
  if ('problem' in request) return { failure: failure(GRPC_STATUS.INVALID_ARGUMENT, request.problem) };
  const answer = await service.infer(model, undefined, request.body, { fallbackId: requestId, jsonLength: request.jsonLength });
  if (answer.status !== 200) return { failure: errorOf(answer) };
  const jsonLength = Number(answer.fields.inferenceHeader ?? answer.body.length);
  const json = JSON.parse(answer.body.toString('utf8', 0, jsonLength)) as RestAnswer;
  const raw: Buffer[] = [];
  let offset = jsonLength;
  const outputs = json.outputs.map(({ name, datatype, shape, parameters = {} }) => {
    const size = Number(parameters.binary_data_size);
    raw.push(answer.body.subarray(offset, offset + size));
    offset += size;
    return { name, datatype, shape, parameters: inferParameters(parameters) };
  });
  const response = {
    model_name: json.model_name,
    model_version: json.model_version ?? '',
    id: json.id ?? '',
    parameters: inferParameters(json.parameters ?? {}),
    outputs,
    raw_output_contents: raw,
  };
  return { response };
}

interface RestAnswer {
  model_name: string;
  model_version?: string;
  id?: string;
  parameters?: Record<string, unknown>;
  outputs: { name: string; datatype: string; shape: number[]; parameters?: Record<string, unknown> }[];
}

/**
 * The REST binary-extension body of a decoded ModelInferRequest: inputs with raw contents become binary
 * inputs (their bytes after the JSON part), typed contents become JSON data; every output is asked for
 * as binary data. Tensor data the protocol does not allow is the problem instead.
 */
function restRequest(decoded: Record<string, unknown>): { body: Buffer; jsonLength: number } | { problem: string } {
  const raw = (decoded.raw_input_contents as Uint8Array[] | undefined) ?? [];
  const tensors = (decoded.inputs as TensorMessage[] | undefined) ?? [];
  const problem = inputContentsProblem(tensors, raw.length);
  if (problem !== undefined) return { problem };
  const inputs = tensors.map((tensor, i) => {
    const bytes = raw[i];
    const parameters = tensor.parameters ? parametersJson(tensor.parameters) : {};
    const base = { name: tensor.name, datatype: tensor.datatype, shape: tensor.shape ?? [] };
    return bytes ? { ...base, parameters: { ...parameters, binary_data_size: bytes.length } } : { ...base, parameters, data: contentsData(tensor) };
  });
  const outputs = (decoded.outputs as { name: string }[] | undefined)?.map(({ name }) => ({ name }));
  const json = {
    ...(decoded.id ? { id: decoded.id } : {}),
    parameters: { ...parametersJson((decoded.parameters as Parameters | undefined) ?? {}), binary_data_output: true },
    inputs,
    ...(outputs && outputs.length > 0 ? { outputs } : {}),
  };
  const head = Buffer.from(JSON.stringify(json));
  return { body: Buffer.concat([head, ...raw]), jsonLength: head.length };
}

/**
 * JSON parameter values as InferParameter messages (booleans, integers, strings; others are not
 * representable and left out), without the binary extension's binary_data_size.
 */
function inferParameters(values: Record<string, unknown>): Record<string, object> {
  const out: Record<string, object> = {};
  for (const [name, value] of Object.entries(values)) {
    if (name === 'binary_data_size') continue;
    if (typeof value === 'boolean') out[name] = { bool_param: value };
    else if (typeof value === 'number' && Number.isInteger(value)) out[name] = { int64_param: value };
    else if (typeof value === 'string') out[name] = { string_param: value };
  }
  return out;
}

/** A JSON answer as a response message; with `always`, a non-200 answer (not ready) is still an OK reply carrying its flag. */
function reply(type: string, answer: OipAnswer, always = false): GrpcAnswer {
  if (answer.status !== 200 && !always) return errorOf(answer);
  const message = oipType(type);
  const value = JSON.parse(answer.body.toString('utf8')) as object;
  return { grpcStatus: GRPC_STATUS.OK, body: frameMessage(message.encode(message.fromObject(value)).finish()) };
}

function errorOf(answer: OipAnswer): GrpcAnswer {
  const { error, code } = JSON.parse(answer.body.toString('utf8')) as { error?: string; code?: string };
  return failure(grpcStatusOf(answer.status, code), error ?? `status ${answer.status}`);
}

function failure(grpcStatus: number, message: string): GrpcAnswer {
  return { grpcStatus, message, body: Buffer.alloc(0) };
}

/** The version a ModelReadyRequest or ModelMetadataRequest names (the two share their fields). */
function versionOf(message: Buffer): string | undefined {
  const { version } = decodeMessage(oipType('ModelReadyRequest'), message) as { version?: string };
  return version || undefined;
}

