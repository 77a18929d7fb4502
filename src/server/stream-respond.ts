// Writes the proxy's own answers on an HTTP/2 stream: for gRPC a trailers-only response whose
// grpc-status and grpc-message say what failed, otherwise the JSON error `{"error", "code"}` with the
// status of its code (as respond.ts does over HTTP/1.1). An answer already started is reset instead.
import { constants, type OutgoingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import { errorBody, type ProxyError } from '../http/errors.js';
import { encodeGrpcMessage, grpcStatusOf } from '../grpc/status.js';

export function sendStreamError(stream: ServerHttp2Stream, error: ProxyError, grpc: boolean, extraHeaders: readonly string[] = []): void {
  if (stream.destroyed) return;
  if (stream.headersSent) {
    stream.close(constants.NGHTTP2_INTERNAL_ERROR);
    return;
  }
  const headers: OutgoingHttpHeaders = {};
  for (let i = 0; i < extraHeaders.length; i += 2) headers[extraHeaders[i] ?? ''] = extraHeaders[i + 1] ?? '';
  stream.resume(); // an unread request body is discarded rather than left to stall the connection's flow control
  if (grpc) {
    headers[constants.HTTP2_HEADER_STATUS] = 200;
    headers['content-type'] = 'application/grpc';
    headers['grpc-status'] = String(grpcStatusOf(error.status));
    headers['grpc-message'] = encodeGrpcMessage(error.message);
    stream.respond(headers, { endStream: true });
    return;
  }
  const body = errorBody(error.code, error.message);
  headers[constants.HTTP2_HEADER_STATUS] = error.status;
  headers['content-type'] = 'application/json';
  headers['content-length'] = Buffer.byteLength(body);
  stream.respond(headers);
  stream.end(body);
}
