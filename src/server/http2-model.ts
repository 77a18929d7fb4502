// A `model:NAME` variant answering an HTTP/2 request in-process: the rest of the body read (bounded),
// the gRPC call run on the local model (grpc/model-service.ts), its answer sent, and the exchange ended
// with the answer captured for shadows. Over HTTP/2 only gRPC calls are served so.
import type { ServerHttp2Stream } from 'node:http2';
import type { GrpcAnswer } from '../grpc/model-service.js';
import { ProxyError } from '../http/errors.js';
import type { RelayResult } from '../upstream/relay.js';
import { readStream } from './body.js';
import type { Exchange } from './exchange.js';
import type { ShadowStart } from './shadow-start.js';
import { h2Fields } from '../http/h2-fields.js';
import { sendGrpc } from './stream-respond.js';

export interface ModelCall {
  stream: ServerHttp2Stream;
  grpc: boolean;
  hasBody: boolean;
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
}

export function callModel({ stream, grpc, hasBody, exchange, model, chunks, extraHeaders, shadows, finish, call }: ModelCall): void {
  if (!grpc || !call) {
    finish({ status: 503, headersSent: false, error: new ProxyError('ABPROXY_MODEL_UNAVAILABLE', 'over HTTP/2 local models answer gRPC calls only') });
    return;
  }
  const read = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  const rest = hasBody && !exchange.body ? readStream(stream, exchange.runtime.config.limits.maxBodyBytes - read) : Promise.resolve(Buffer.alloc(0));
  rest
    .then((tail) => {
      const body = exchange.body ?? Buffer.concat([...chunks, tail]);
      shadows?.bodyEnded(body);
      return call(model, exchange.target.path, body, exchange.requestId);
    })
    .then(
      (answer) => {
        if (!stream.destroyed) sendGrpc(stream, answer, h2Fields(extraHeaders));
        const grpcStatus = String(answer.grpcStatus);
        const fields = { contentType: 'application/grpc', grpcStatus, ...(answer.message ? { grpcMessage: answer.message } : {}) };
        finish({ status: 200, grpcStatus, headersSent: true, body: answer.body, bodyTruncated: false, fields });
      },
      (error: ProxyError) => finish({ status: error.status, headersSent: false, error }),
    );
}
