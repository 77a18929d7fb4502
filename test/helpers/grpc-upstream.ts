// A real gRPC server (@grpc/grpc-js) on 127.0.0.1 port 0 serving the Open Inference Protocol subset in
// test/fixtures/grpc/inference.proto, plus the matching client. ModelInfer answers with the server's
// name as model_name, echoes the request id and gives one FP32 output `fraud_probability` (the
// server's `probability`, in typed contents or, with `raw`, as raw_output_contents); model "missing"
// is NOT_FOUND, "slow" answers after 300 ms, "hang" never answers. ModelStreamInfer answers every
// message as it arrives (and, with metadata x-server-first, greets before any). Every call's metadata
// is recorded, and cancelled calls are counted.
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

const PROTO = fileURLToPath(new URL('../fixtures/grpc/inference.proto', import.meta.url));

export interface InferRequest {
  model_name: string;
  id: string;
  parameters?: Record<string, { string_param: string }>;
  inputs?: { name: string; datatype: string; shape: number[]; contents?: { fp32_contents?: number[]; fp64_contents?: number[] } }[];
  raw_input_contents?: Buffer[];
}

export interface InferResponse {
  model_name: string;
  id: string;
  outputs?: { name: string; datatype: string; shape: number[]; contents?: { fp32_contents: number[] } }[];
  raw_output_contents?: Buffer[];
}

export interface GrpcUpstreamOptions {
  /** The fraud_probability every ModelInfer answer gives (default 0.5). */
  probability?: number;
  /** Send it as raw little-endian bytes instead of typed contents. */
  raw?: boolean;
}

export interface StreamInferResponse {
  error_message: string;
  infer_response: InferResponse;
}

type Callback<T> = (error: grpc.ServiceError | null, value?: T) => void;

/** The generated client's methods the tests call. */
export interface InferenceClient extends grpc.Client {
  ServerLive(request: object, callback: Callback<{ live: boolean }>): grpc.ClientUnaryCall;
  ModelReady(request: { name: string }, callback: Callback<{ ready: boolean }>): grpc.ClientUnaryCall;
  ModelMetadata(request: { name: string }, callback: Callback<{ name: string; platform: string; inputs: { name: string; datatype: string; shape: string[] }[] }>): grpc.ClientUnaryCall;
  ModelInfer(request: InferRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: Callback<InferResponse>): grpc.ClientUnaryCall;
  ModelStreamInfer(metadata: grpc.Metadata): grpc.ClientDuplexStream<InferRequest, StreamInferResponse>;
}

export interface GrpcUpstream {
  /** host:port */
  address: string;
  calls: { method: string; metadata: grpc.Metadata }[];
  cancelled: number;
  close(): Promise<void>;
}

function service(): grpc.ServiceClientConstructor {
  const definition = loadSync(PROTO, { keepCase: true, longs: String, defaults: true });
  const inference = grpc.loadPackageDefinition(definition).inference as grpc.GrpcObject;
  return inference.GRPCInferenceService as grpc.ServiceClientConstructor;
}

export async function startGrpcUpstream(name: string, options: GrpcUpstreamOptions = {}): Promise<GrpcUpstream> {
  const server = new grpc.Server();
  const upstream: GrpcUpstream = { address: '', calls: [], cancelled: 0, close: () => new Promise((resolve) => server.tryShutdown(() => resolve())) };
  server.addService(service().service, {
    ServerLive: (call: grpc.ServerUnaryCall<object, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      upstream.calls.push({ method: 'ServerLive', metadata: call.metadata });
      callback(null, { live: true });
    },
    ModelInfer: (call: grpc.ServerUnaryCall<InferRequest, InferResponse>, callback: grpc.sendUnaryData<InferResponse>) => {
      upstream.calls.push({ method: 'ModelInfer', metadata: call.metadata });
      call.on('cancelled', () => upstream.cancelled++);
      const { model_name: model, id } = call.request;
      if (model === 'missing') return callback({ code: grpc.status.NOT_FOUND, details: `model ${model} is not loaded on ${name}` });
      if (model === 'hang') return;
      const answer = () => callback(null, { model_name: name, id, ...fraudProbability(options) });
      if (model === 'slow') setTimeout(answer, 300);
      else answer();
    },
    ModelStreamInfer: (call: grpc.ServerDuplexStream<InferRequest, StreamInferResponse>) => {
      upstream.calls.push({ method: 'ModelStreamInfer', metadata: call.metadata });
      call.on('cancelled', () => upstream.cancelled++);
      if (call.metadata.get('x-server-first').length > 0) call.write({ error_message: 'greeting', infer_response: { model_name: name, id: 'greeting' } });
      call.on('data', (request: InferRequest) => call.write({ error_message: '', infer_response: { model_name: name, id: request.id } }));
      call.on('end', () => call.end());
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  upstream.address = `127.0.0.1:${port}`;
  return upstream;
}

/** A client of the service at host:port; insecure (h2c) unless `credentials` say otherwise. */
/** `options`: channel options (`grpc.default_compression_algorithm` 2 compresses every message with gzip). */
export function grpcClient(address: string, credentials = grpc.credentials.createInsecure(), options: grpc.ChannelOptions = {}): InferenceClient {
  const Client = service();
  return new Client(address, credentials, options) as unknown as InferenceClient;
}

/** One unary ModelInfer call, resolved with the answer and the response's initial metadata. */
export function modelInfer(client: InferenceClient, request: InferRequest, metadata: Record<string, string> = {}, deadlineMs = 5_000): Promise<{ response: InferResponse; headers: grpc.Metadata }> {
  const md = new grpc.Metadata();
  for (const [key, value] of Object.entries(metadata)) md.set(key, value);
  return new Promise((resolve, reject) => {
    let headers = new grpc.Metadata();
    const call = client.ModelInfer(request, md, { deadline: Date.now() + deadlineMs }, (error, response) => (error ? reject(error) : resolve({ response: response as InferResponse, headers })));
    call.on('metadata', (received: grpc.Metadata) => {
      headers = received;
    });
  });
}

function fraudProbability({ probability = 0.5, raw = false }: GrpcUpstreamOptions): Pick<InferResponse, 'outputs' | 'raw_output_contents'> {
  const tensor = { name: 'fraud_probability', datatype: 'FP32', shape: [1, 1] };
  if (!raw) return { outputs: [{ ...tensor, contents: { fp32_contents: [probability] } }] };
  const bytes = Buffer.alloc(4);
  bytes.writeFloatLE(probability);
  return { outputs: [tensor], raw_output_contents: [bytes] };
}
