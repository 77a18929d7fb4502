// A `model:NAME` variant answering an HTTP/2 request in-process: the rest of the body read (bounded),
// the gRPC call run on the local model (grpc/model-service.ts), or a REST request answered by its Open
// Inference Protocol endpoint as over HTTP/1.1 (models/oip-http.ts), its answer sent, and the exchange ended
// with the answer captured for shadows (ModelStreamInfer is answered as it streams: http2-model-stream.ts).
// Messages the client compressed (grpc-encoding gzip or deflate) are decompressed first; answers go
// uncompressed. An answer the client takes nothing of for sendTimeoutMs resets its stream (send-timeout.ts).
import type { ServerHttp2Stream } from 'node:http2';
import { grpcCoding, READABLE_GRPC_ENCODINGS, readsGrpcEncoding, uncompressedBody } from '../grpc/framing.js';
import type { GrpcAnswer } from '../grpc/model-service.js';
import { MODEL_STREAM_INFER } from '../grpc/oip-schema.js';
import { GRPC_STATUS } from '../grpc/status.js';
import { ProxyError } from '../http/errors.js';
import type { RelayResult } from '../upstream/relay.js';
import { restOfStream } from './body.js';
import type { Exchange } from './exchange.js';
import type { ShadowStart } from './shadow-start.js';
import { h2Fields } from '../http/h2-fields.js';
import { serveRest, type RestAnswer } from './http2-model-rest.js';
import { streamModel, type StreamReply } from './http2-model-stream.js';
import { sendGrpc } from './stream-respond.js';
import { watchEndedStream } from './send-timeout.js';

export interface ModelCall {
  stream: ServerHttp2Stream;
  grpc: boolean;
  method: string;
  hasBody: boolean;
  /** The request's Inference-Header-Content-Length (a REST infer body in the binary tensor extension). */
  inferenceHeader: string | string[] | undefined;
  /** The request's Content-Encoding: a REST body is decoded before a local model reads it. */
  contentEncoding: string | undefined;
  /** The call's grpc-encoding: local models read messages uncompressed, so compressed ones are decompressed first. */
  encoding: string | undefined;
  exchange: Exchange;
  model: string;
  /** Bytes already read ahead of the rest of the stream (none when exchange.body is whole). */
  chunks: readonly Buffer[];
  /** The proxy's response fields. */
  extraHeaders: readonly string[];
  shadows: ShadowStart | undefined;
  /** The pipeline's end: called exactly once. */
  finish: (result: RelayResult) => void;
  /** Runs one gRPC call on a local model; undefined where local models are not available. */
  call: ((model: string, method: string, body: Buffer, requestId: string) => Promise<GrpcAnswer>) | undefined;
  /** Answers one ModelStreamInfer message on a local model, for calls answered as they stream. */
  streamReply: StreamReply | undefined;
  /** Answers a REST request on a local model. */
  answerRest: RestAnswer | undefined;
}

export function callModel(modelCall: ModelCall): void {
  const { stream, grpc, hasBody, encoding, exchange, model, chunks, extraHeaders, shadows, finish, call, streamReply, answerRest } = modelCall;
  if (!grpc && answerRest) return serveRest(modelCall, answerRest);
  if (!grpc || !call) {
    finish({ status: 503, headersSent: false, error: new ProxyError('ABPROXY_MODEL_UNAVAILABLE', 'local models are not available in this process') });
    return;
  }
  if (exchange.target.path === MODEL_STREAM_INFER && streamReply) return streamModel(modelCall, streamReply);
  const maxBytes = exchange.runtime.config.limits.maxBodyBytes;
  let refusedEncoding = false;
  const whole = exchange.body ? Promise.resolve(exchange.body) : hasBody ? restOfStream(stream, chunks, maxBytes) : Promise.resolve(Buffer.alloc(0));
  whole
    .then((body) => {
      shadows?.bodyEnded(body);
      const plain = uncompressedBody(body, encoding, maxBytes);
      if (plain) return call(model, exchange.target.path, plain, exchange.requestId);
      const refused = unreadable(encoding, maxBytes);
      refusedEncoding = refused.grpcStatus === GRPC_STATUS.UNIMPLEMENTED;
      return refused;
    })
    .then(
      (answer) => {
        // A server that cannot read a call's messages says which encodings it reads (gRPC's compression spec).
        const fields = refusedEncoding ? [...extraHeaders, 'grpc-accept-encoding', READABLE_GRPC_ENCODINGS] : extraHeaders;
        if (!stream.destroyed) {
          sendGrpc(stream, answer, h2Fields(fields));
          watchEndedStream(stream, exchange.runtime.config.limits.sendTimeoutMs, exchange.route.name);
        }
        const grpcStatus = String(answer.grpcStatus);
        const answerFields = { contentType: 'application/grpc', grpcStatus, ...(answer.message ? { grpcMessage: answer.message } : {}) };
        finish({ status: 200, grpcStatus, headersSent: true, body: answer.body, bodyTruncated: false, fields: answerFields });
      },
      (error: ProxyError) => finish({ status: error.status, headersSent: false, error }),
    );
}

/** A call whose messages cannot be read: an encoding not read here (UNIMPLEMENTED; the answer lists those that are), or messages that do not decompress within maxBytes. */
function unreadable(encoding: string | undefined, maxBytes: number): GrpcAnswer {
  const coding = grpcCoding(encoding);
  if (!readsGrpcEncoding(coding)) {
    return { grpcStatus: GRPC_STATUS.UNIMPLEMENTED, message: `grpc-encoding "${coding}" is not supported (${READABLE_GRPC_ENCODINGS} are)`, body: Buffer.alloc(0) };
  }
  return { grpcStatus: GRPC_STATUS.INVALID_ARGUMENT, message: `the request messages are not whole ${coding} messages of at most ${maxBytes} bytes`, body: Buffer.alloc(0) };
}
