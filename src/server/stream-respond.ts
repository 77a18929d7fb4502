// Writes the proxy's own answers on an HTTP/2 stream: gRPC answers (a local model's messages with
// grpc-status in the trailers; an error as a Trailers-Only response whose grpc-status and grpc-message
// say what failed), otherwise the JSON error `{"error", "code"}` with the status of its code (as
// respond.ts does over HTTP/1.1). An error after the answer started resets the stream instead.
import { constants, type OutgoingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import { errorBody, type ProxyError } from '../http/errors.js';
import { h2Fields } from '../http/h2-fields.js';
import type { GrpcAnswer } from '../grpc/model-service.js';
import { encodeGrpcMessage, grpcStatusOf } from '../grpc/status.js';

export function sendStreamError(stream: ServerHttp2Stream, error: ProxyError, grpc: boolean, extraHeaders: readonly string[] = []): void {
  if (stream.destroyed) return;
  if (stream.headersSent) {
    stream.close(constants.NGHTTP2_INTERNAL_ERROR);
    return;
  }
  const headers = h2Fields(extraHeaders);
  stream.resume(); // an unread request body is discarded rather than left to stall the connection's flow control
  if (grpc) return sendGrpc(stream, { grpcStatus: grpcStatusOf(error.status, error.code), message: error.message, body: EMPTY }, headers);
  const body = errorBody(error.code, error.message);
  headers[constants.HTTP2_HEADER_STATUS] = error.status;
  headers['content-type'] = 'application/json';
  headers['content-length'] = Buffer.byteLength(body);
  stream.respond(headers);
  stream.end(body);
}

const EMPTY = Buffer.alloc(0);

/**
 * A gRPC answer the proxy makes (a local model's, or an error): the messages then grpc-status in the
 * trailers, or a Trailers-Only response when there are no messages.
 */
export function sendGrpc(stream: ServerHttp2Stream, answer: Pick<GrpcAnswer, 'grpcStatus' | 'message' | 'body'>, headers: OutgoingHttpHeaders): void {
  headers[constants.HTTP2_HEADER_STATUS] = 200;
  headers['content-type'] = 'application/grpc';
  const status: OutgoingHttpHeaders = { 'grpc-status': String(answer.grpcStatus), ...(answer.message ? { 'grpc-message': encodeGrpcMessage(answer.message) } : {}) };
  if (answer.body.length === 0) {
    stream.respond({ ...headers, ...status }, { endStream: true });
    return;
  }
  stream.respond(headers, { waitForTrailers: true });
  stream.once('wantTrailers', () => stream.sendTrailers(status));
  stream.end(answer.body);
}
