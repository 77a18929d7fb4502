// Coded proxy errors and their JSON bodies (quoting the client's input only up to a bound), plus the one
// table that maps transport failures to HTTP statuses (refused/reset/invalid -> 502, timeout -> 504,
// draining -> 503). Pure.

import { tlsFailureMessage } from './tls-failures.js';

export type ErrorCode =
  | 'ABPROXY_BAD_REQUEST'
  | 'ABPROXY_NO_ROUTE'
  | 'ABPROXY_BODY_TOO_LARGE'
  | 'ABPROXY_URI_TOO_LONG'
  | 'ABPROXY_HEADERS_TOO_LARGE'
  | 'ABPROXY_REQUEST_TIMEOUT'
  | 'ABPROXY_EXPECTATION_FAILED'
  | 'ABPROXY_UPSTREAM_REFUSED'
  | 'ABPROXY_UPSTREAM_RESET'
  | 'ABPROXY_UPSTREAM_INVALID'
  | 'ABPROXY_UPSTREAM_TIMEOUT'
  | 'ABPROXY_DRAINING'
  | 'ABPROXY_MODEL_UNAVAILABLE'
  | 'ABPROXY_MODEL_BAD_INPUT'
  | 'ABPROXY_MODEL_NOT_FOUND'
  | 'ABPROXY_MODEL_NOT_READY'
  | 'ABPROXY_MODEL_OVERLOADED'
  | 'ABPROXY_MODEL_FAILED';

export const STATUS_OF: Record<ErrorCode, number> = {
  ABPROXY_BAD_REQUEST: 400,
  ABPROXY_MODEL_BAD_INPUT: 400,
  ABPROXY_MODEL_NOT_FOUND: 404,
  ABPROXY_NO_ROUTE: 404,
  ABPROXY_REQUEST_TIMEOUT: 408,
  ABPROXY_BODY_TOO_LARGE: 413,
  ABPROXY_URI_TOO_LONG: 414,
  ABPROXY_EXPECTATION_FAILED: 417,
  ABPROXY_HEADERS_TOO_LARGE: 431,
  ABPROXY_UPSTREAM_REFUSED: 502,
  ABPROXY_UPSTREAM_RESET: 502,
  ABPROXY_UPSTREAM_INVALID: 502,
  ABPROXY_DRAINING: 503,
  ABPROXY_MODEL_UNAVAILABLE: 503,
  ABPROXY_MODEL_NOT_READY: 503,
  ABPROXY_MODEL_OVERLOADED: 503,
  ABPROXY_MODEL_FAILED: 500,
  ABPROXY_UPSTREAM_TIMEOUT: 504,
};

export class ProxyError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.status = STATUS_OF[code];
  }
}

/** Why a CONNECT request (HTTP/1.1 or HTTP/2) is answered 400. */
export const CONNECT_REFUSED = 'CONNECT is not supported: abproxy is a reverse proxy, not a tunnel';

/** How much of the client's own input (a path, a model name) a message or log line quotes. */
const MAX_QUOTED_CHARS = 200;

/** `input` as an answer or a log line may quote it: its first 200 characters, then "…" when there were more. */
export function quotedInput(input: string): string {
  return input.length <= MAX_QUOTED_CHARS ? input : `${input.slice(0, MAX_QUOTED_CHARS)}…`;
}

export function errorBody(code: ErrorCode, message: string): string {
  return JSON.stringify({ error: message, code });
}

/** Metric label for upstream_errors_total{reason}. */
export type UpstreamFailure = 'refused' | 'reset' | 'timeout' | 'invalid' | 'other';

/** The transport-error table: undici/node error codes -> failure kind -> proxy error. */
export function classifyTransportError(error: unknown): UpstreamFailure {
  const code = (error as { code?: string } | null)?.code ?? '';
  // undici's HTTPParserError (a response that is not HTTP/1.1) does not always carry an HPE_ code.
  if (!code && (error as { name?: string } | null)?.name === 'HTTPParserError') return 'invalid';
  if (code === 'UND_ERR_SOCKET' && unaskedAnswer(error) !== undefined) return 'invalid';
  switch (code) {
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return 'refused';
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
    case 'UND_ERR_CLOSED':
    case 'UND_ERR_DESTROYED':
      return 'reset';
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
    case 'ETIMEDOUT':
      return 'timeout';
    case 'HPE_INVALID_CONSTANT':
    case 'HPE_INVALID_STATUS':
    case 'HPE_INVALID_VERSION':
    case 'HPE_INVALID_HEADER_TOKEN':
    case 'HPE_INVALID_CONTENT_LENGTH':
    case 'HPE_UNEXPECTED_CONTENT_LENGTH':
    case 'HPE_INVALID_CHUNK_SIZE':
    case 'HPE_INVALID_TRANSFER_ENCODING':
    case 'HPE_CR_EXPECTED':
    case 'HPE_LF_EXPECTED':
    case 'UND_ERR_INFO':
    case 'UND_ERR_HEADERS_OVERFLOW':
    case 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH':
      return 'invalid';
    default:
      if (tlsFailureMessage(code) !== undefined) return 'refused';
      return code.startsWith('HPE_') ? 'invalid' : 'other';
  }
}

const FAILURE_CODE: Record<UpstreamFailure, ErrorCode> = {
  refused: 'ABPROXY_UPSTREAM_REFUSED',
  reset: 'ABPROXY_UPSTREAM_RESET',
  timeout: 'ABPROXY_UPSTREAM_TIMEOUT',
  invalid: 'ABPROXY_UPSTREAM_INVALID',
  other: 'ABPROXY_UPSTREAM_RESET',
};

const FAILURE_MESSAGE: Record<UpstreamFailure, string> = {
  refused: 'upstream refused the connection',
  reset: 'upstream closed the connection',
  timeout: 'upstream timed out',
  invalid: 'upstream sent an invalid response',
  other: 'upstream request failed',
};

/** Failures said as what they are (the kind, code and status stay their kind's): connections that were not refused, a head too large. */
const DETAILED_MESSAGE: Record<string, string> = {
  ENOTFOUND: 'upstream host name did not resolve',
  EAI_AGAIN: 'upstream host name could not be resolved (the resolver failed)',
  EHOSTUNREACH: 'upstream host is unreachable',
  ENETUNREACH: 'upstream network is unreachable',
  UND_ERR_CONNECT_TIMEOUT: 'connecting to the upstream timed out',
  UND_ERR_HEADERS_OVERFLOW: 'upstream response head is over maxHeaderBytes',
};

/**
 * undici's SocketErrors for answers it will not take, said as what the upstream did: a 100 Continue to a
 * request that did not ask for one ("bad response"; abproxy never forwards Expect), or a 101 unasked.
 */
function unaskedAnswer(error: unknown): string | undefined {
  const message = (error as { message?: string } | null)?.message;
  if (message === 'bad response') return 'upstream sent an interim or unsolicited response (a 100 Continue nobody asked for)';
  if (message === 'bad upgrade') return 'upstream switched protocols without being asked';
  return undefined;
}

export function upstreamError(error: unknown): ProxyError {
  const kind = classifyTransportError(error);
  const code = (error as { code?: string } | null)?.code ?? '';
  const message = DETAILED_MESSAGE[code] ?? (code === 'UND_ERR_SOCKET' ? unaskedAnswer(error) : undefined) ?? tlsFailureMessage(code) ?? FAILURE_MESSAGE[kind];
  return new ProxyError(FAILURE_CODE[kind], message, { cause: error });
}
