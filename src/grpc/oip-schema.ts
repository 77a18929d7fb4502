// The Open Inference Protocol's gRPC schema (package inference, service GRPCInferenceService; KServe's
// grpc_predict_v2.proto and Triton's grpc_service.proto agree on these messages and numbers), the part
// the proxy reads and writes, parsed once with protobufjs; and the service's method paths.
import protobuf from 'protobufjs';

const SCHEMA = `
syntax = "proto3";
package inference;
message InferParameter {
  oneof parameter_choice { bool bool_param = 1; int64 int64_param = 2; string string_param = 3; }
}
message InferTensorContents {
  repeated bool bool_contents = 1;
  repeated int32 int_contents = 2;
  repeated int64 int64_contents = 3;
  repeated uint32 uint_contents = 4;
  repeated uint64 uint64_contents = 5;
  repeated float fp32_contents = 6;
  repeated double fp64_contents = 7;
  repeated bytes bytes_contents = 8;
}
message ServerLiveRequest {}
message ServerLiveResponse { bool live = 1; }
message ServerReadyRequest {}
message ServerReadyResponse { bool ready = 1; }
message ModelReadyRequest { string name = 1; string version = 2; }
message ModelReadyResponse { bool ready = 1; }
message ServerMetadataRequest {}
message ServerMetadataResponse { string name = 1; string version = 2; repeated string extensions = 3; }
message ModelMetadataRequest { string name = 1; string version = 2; }
message ModelMetadataResponse {
  message TensorMetadata { string name = 1; string datatype = 2; repeated int64 shape = 3; }
  string name = 1;
  repeated string versions = 2;
  string platform = 3;
  repeated TensorMetadata inputs = 4;
  repeated TensorMetadata outputs = 5;
}
// InferInputTensor and InferOutputTensor have the same fields and numbers: one Tensor message reads and writes both.
message Tensor {
  string name = 1;
  string datatype = 2;
  repeated int64 shape = 3;
  map<string, InferParameter> parameters = 4;
  InferTensorContents contents = 5;
}
message ModelInferRequest {
  message InferRequestedOutputTensor { string name = 1; map<string, InferParameter> parameters = 2; }
  string model_name = 1;
  string model_version = 2;
  string id = 3;
  map<string, InferParameter> parameters = 4;
  repeated Tensor inputs = 5;
  repeated InferRequestedOutputTensor outputs = 6;
  repeated bytes raw_input_contents = 7;
}
message ModelInferResponse {
  string model_name = 1;
  string model_version = 2;
  string id = 3;
  map<string, InferParameter> parameters = 4;
  repeated Tensor outputs = 5;
  repeated bytes raw_output_contents = 6;
}
message ModelStreamInferResponse {
  string error_message = 1;
  ModelInferResponse infer_response = 2;
}
`;

const root = protobuf.parse(SCHEMA, { keepCase: true }).root;

/** A message type of the schema by its name in package inference. */
export function oipType(name: string): protobuf.Type {
  return root.lookupType(`inference.${name}`);
}

/** A message decoded to a plain object (64-bit integers as numbers, bytes as Buffers). Throws when it does not decode. */
export function decodeMessage(type: protobuf.Type, message: Uint8Array): Record<string, unknown> {
  return type.toObject(type.decode(message), { longs: Number });
}

/** Method paths start with this (gRPC's :path is /package.Service/Method). */
export const OIP_SERVICE = '/inference.GRPCInferenceService/';
export const MODEL_INFER = `${OIP_SERVICE}ModelInfer`;
export const MODEL_STREAM_INFER = `${OIP_SERVICE}ModelStreamInfer`;
