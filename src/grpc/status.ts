// gRPC over HTTP/2 as the proxy sees it (gRPC's PROTOCOL-HTTP2 spec): which requests are gRPC, the
// status code an error the proxy makes becomes, the HTTP status a gRPC status counts as, and the
// percent-encoding of grpc-message both ways. Pure.

/** gRPC status codes the proxy answers with (grpc/grpc doc/statuscodes.md). */
export const GRPC_STATUS = {
  OK: 0,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;

/** True for `application/grpc` and its `+proto`/`+json`/`;params` forms. */
export function isGrpc(contentType: string | undefined): boolean {
  if (contentType === undefined || !contentType.startsWith('application/grpc')) return false;
  const next = contentType.charCodeAt('application/grpc'.length);
  return Number.isNaN(next) || next === 0x2b /* + */ || next === 0x3b /* ; */;
}

/**
 * The gRPC status for an error the proxy answers with the given HTTP status: what a gRPC client would
 * read from that HTTP status (no route -> UNIMPLEMENTED, upstream down -> UNAVAILABLE), made precise
 * where the proxy knows more (a timeout -> DEADLINE_EXCEEDED, a body, :path or header list over its limit
 * -> RESOURCE_EXHAUSTED, as gRPC servers answer metadata over theirs; an unknown local model -> NOT_FOUND;
 * `code` is the proxy's error code).
 */
export function grpcStatusOf(httpStatus: number, code?: string): number {
  if (code === 'ABPROXY_MODEL_NOT_FOUND') return GRPC_STATUS.NOT_FOUND;
  switch (httpStatus) {
    case 400:
      return GRPC_STATUS.INVALID_ARGUMENT;
    case 404:
      return GRPC_STATUS.UNIMPLEMENTED;
    case 408:
    case 504:
      return GRPC_STATUS.DEADLINE_EXCEEDED;
    case 413:
    case 414:
    case 431:
      return GRPC_STATUS.RESOURCE_EXHAUSTED;
    case 502:
    case 503:
      return GRPC_STATUS.UNAVAILABLE;
    case 500:
      return GRPC_STATUS.INTERNAL;
    default:
      return GRPC_STATUS.UNKNOWN;
  }
}

/** grpc-message is percent-encoded UTF-8: every byte outside printable ASCII, and '%' itself. */
export function encodeGrpcMessage(message: string): string {
  let out = '';
  for (const byte of Buffer.from(message, 'utf8')) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** A received grpc-message as text (one that is not valid percent-encoding is kept as received, as gRPC's spec asks). */
export function decodeGrpcMessage(message: string): string {
  try {
    return decodeURIComponent(message);
  } catch {
    return message;
  }
}

/**
 * The HTTP status a gRPC status stands for (grpc-gateway's mapping), so a call counts in
 * abproxy_requests_total{code} and every error rate like the REST request it would have been.
 */
export function httpStatusOfGrpc(grpcStatus: string): number {
  return HTTP_OF_GRPC[Number(grpcStatus)] ?? 500;
}

const HTTP_OF_GRPC: Record<number, number> = {
  0: 200, // OK
  1: 499, // CANCELLED
  2: 500, // UNKNOWN
  3: 400, // INVALID_ARGUMENT
  4: 504, // DEADLINE_EXCEEDED
  5: 404, // NOT_FOUND
  6: 409, // ALREADY_EXISTS
  7: 403, // PERMISSION_DENIED
  8: 429, // RESOURCE_EXHAUSTED
  9: 400, // FAILED_PRECONDITION
  10: 409, // ABORTED
  11: 400, // OUT_OF_RANGE
  12: 501, // UNIMPLEMENTED
  13: 500, // INTERNAL
  14: 503, // UNAVAILABLE
  15: 500, // DATA_LOSS
  16: 401, // UNAUTHENTICATED
};
