// Reading Open Inference Protocol gRPC messages into the REST JSON shape: messages are encoded here with
// protobufjs from the test fixture's own copy of the schema (test/fixtures/grpc/inference.proto), so a
// field number the proxy got wrong shows. Typed contents of every datatype, raw contents (FP16, INT64,
// BYTES), parameters, requests, streams, framing errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { grpcMessages } from '../../src/grpc/framing.js';
import { grpcAnswerJson, inferRequestJson } from '../../src/grpc/oip-messages.js';
import { MODEL_INFER, MODEL_STREAM_INFER } from '../../src/grpc/oip-schema.js';

const root = new protobuf.Root().loadSync(fileURLToPath(new URL('../fixtures/grpc/inference.proto', import.meta.url)), { keepCase: true });
const Response = root.lookupType('inference.ModelInferResponse');
const Request = root.lookupType('inference.ModelInferRequest');
const StreamResponse = root.lookupType('inference.ModelStreamInferResponse');

function framed(...messages: Uint8Array[]): Buffer {
  return Buffer.concat(messages.flatMap((m) => {
    const head = Buffer.alloc(5);
    head.writeUInt32BE(m.length, 1);
    return [head, Buffer.from(m)];
  }));
}

function encode(type: protobuf.Type, value: object): Uint8Array {
  return type.encode(type.fromObject(value)).finish();
}

test('typed contents of every datatype read as REST data, with shape, parameters and ids', () => {
  const outputs = [
    { name: 'b', datatype: 'BOOL', shape: [2], contents: { bool_contents: [true, false] } },
    { name: 'i8', datatype: 'INT8', shape: [2], contents: { int_contents: [-3, 4] } },
    { name: 'i64', datatype: 'INT64', shape: [1, 2], contents: { int64_contents: [-5, 9007199254740991] } },
    { name: 'u32', datatype: 'UINT32', shape: [1], contents: { uint_contents: [4294967295] } },
    { name: 'u64', datatype: 'UINT64', shape: [1], contents: { uint64_contents: [7] } },
    { name: 'f32', datatype: 'FP32', shape: [2], contents: { fp32_contents: [0.5, -1.25] } },
    { name: 'f64', datatype: 'FP64', shape: [1], contents: { fp64_contents: [0.1] } },
    { name: 's', datatype: 'BYTES', shape: [2], contents: { bytes_contents: [Buffer.from('fraud'), Buffer.from('ok')] } },
  ];
  const body = framed(encode(Response, { model_name: 'm', model_version: '2', id: 'r-1', parameters: { sequence_end: { bool_param: true }, n: { int64_param: 3 }, tag: { string_param: 'x' } }, outputs }));
  assert.deepEqual(grpcAnswerJson(MODEL_INFER, body), {
    model_name: 'm',
    model_version: '2',
    id: 'r-1',
    parameters: { sequence_end: true, n: 3, tag: 'x' },
    outputs: [
      { name: 'b', datatype: 'BOOL', shape: [2], data: [true, false] },
      { name: 'i8', datatype: 'INT8', shape: [2], data: [-3, 4] },
      { name: 'i64', datatype: 'INT64', shape: [1, 2], data: [-5, 9007199254740991] },
      { name: 'u32', datatype: 'UINT32', shape: [1], data: [4294967295] },
      { name: 'u64', datatype: 'UINT64', shape: [1], data: [7] },
      { name: 'f32', datatype: 'FP32', shape: [2], data: [0.5, -1.25] },
      { name: 'f64', datatype: 'FP64', shape: [1], data: [0.1] },
      { name: 's', datatype: 'BYTES', shape: [2], data: ['fraud', 'ok'] },
    ],
  });
});

test('raw_output_contents are read little-endian per datatype, in output order', () => {
  const half = Buffer.from([0x00, 0x3c, 0x00, 0xc0]); // FP16 1.0, -2.0
  const int64 = Buffer.alloc(16);
  int64.writeBigInt64LE(-2n, 0);
  int64.writeBigInt64LE(40n, 8);
  const bytes = Buffer.from([2, 0, 0, 0, 0x68, 0x69]); // one BYTES element "hi"
  const body = framed(
    encode(Response, {
      model_name: 'm',
      outputs: [
        { name: 'h', datatype: 'FP16', shape: [2] },
        { name: 'l', datatype: 'INT64', shape: [2] },
        { name: 't', datatype: 'BYTES', shape: [1] },
      ],
      raw_output_contents: [half, int64, bytes],
    }),
  );
  const json = grpcAnswerJson(MODEL_INFER, body) as { outputs: { name: string; data: unknown[] }[] };
  assert.deepEqual(json.outputs.map((o) => [o.name, o.data]), [['h', [1, -2]], ['l', [-2, 40]], ['t', ['hi']]]);
});

test('a ModelInferRequest reads as a REST infer request: inputs with data, requested outputs, parameters', () => {
  const raw = Buffer.alloc(8);
  raw.writeFloatLE(1.5, 0);
  raw.writeFloatLE(2.5, 4);
  const message = encode(Request, {
    model_name: 'fraud',
    id: 'q',
    parameters: { session_id: { string_param: 'card-42' } },
    inputs: [{ name: 'dense_input', datatype: 'FP32', shape: [1, 2] }],
    outputs: [{ name: 'fraud_probability', parameters: { binary_data: { bool_param: false } } }],
    raw_input_contents: [raw],
  });
  assert.deepEqual(inferRequestJson(Buffer.from(message)), {
    model_name: 'fraud',
    id: 'q',
    parameters: { session_id: 'card-42' },
    inputs: [{ name: 'dense_input', datatype: 'FP32', shape: [1, 2], data: [1.5, 2.5] }],
    outputs: [{ name: 'fraud_probability', parameters: { binary_data: false } }],
  });
});

test('ModelStreamInfer answers read as an array of messages; other methods and broken bodies do not decode', () => {
  const answer = { model_name: 'm', outputs: [{ name: 'y', datatype: 'INT32', shape: [1], contents: { int_contents: [7] } }] };
  const body = framed(encode(StreamResponse, { infer_response: answer }), encode(StreamResponse, { error_message: 'sequence expired' }));
  assert.deepEqual(grpcAnswerJson(MODEL_STREAM_INFER, body), [
    { error_message: '', infer_response: { model_name: 'm', outputs: [{ name: 'y', datatype: 'INT32', shape: [1], data: [7] }] } },
    { error_message: 'sequence expired', infer_response: null },
  ]);
  const unary = framed(encode(Response, answer));
  assert.equal(grpcAnswerJson('/other.Service/Call', unary), undefined);
  assert.equal(grpcAnswerJson(MODEL_INFER, unary.subarray(0, unary.length - 1)), undefined, 'a cut frame');
  assert.equal(grpcAnswerJson(MODEL_INFER, Buffer.from([1, 0, 0, 0, 1, 0])), undefined, 'a compressed message');
  assert.equal(grpcAnswerJson(MODEL_INFER, framed(Buffer.from([0xff, 0xff, 0xff]))), undefined, 'not a ModelInferResponse');
  assert.equal(grpcAnswerJson(MODEL_INFER, Buffer.concat([unary, unary])), undefined, 'two answers to a unary call');
  assert.deepEqual(grpcMessages(Buffer.alloc(0)), []);
});
