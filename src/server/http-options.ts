// Hardened node:http options (the timeouts among them set again on the live server at each config swap)
// and the clientError answers for requests node's parser rejects (malformed framing or smuggling attempts
// -> 400, an overlong request-target -> 414, an oversized head otherwise -> 431, slow head/body -> 408),
// and the raw answer for sockets node hands over unanswered (CONNECT). Installing a clientError listener
// means node no longer answers these itself: this file does, and never before the answers to requests
// pipelined ahead of the refused one (RFC 9112 §9.3.2).
import type { Server, ServerOptions } from 'node:http';
import type { Socket } from 'node:net';
import type { Limits } from '../config/schema.js';
import { errorBody, type ErrorCode, STATUS_OF } from '../http/errors.js';
import { requestTargetOverflowed } from '../http/head-overflow.js';
import { afterEarlierAnswers, relayDrain, writingResponse } from './handed-over.js';

export function serverOptions(limits: Limits): ServerOptions {
  return {
    maxHeaderSize: limits.maxHeaderBytes,
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    // node checks the two timeouts above only this often (30 s by default): keep it well below them. Fixed
    // at creation: a reload that lowers headersTimeoutMs keeps the interval the server started with (applyTimeouts).
    connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(limits.headersTimeoutMs / 4))),
    // Host is checked by http/request-head.ts so that a missing Host gets a JSON 400 like every other error.
    requireHostHeader: false,
    insecureHTTPParser: false,
    joinDuplicateHeaders: false,
  };
}

/**
 * A reload's timeouts on a live server, whose properties node reads afresh. The head and request timeouts
 * hold from node's next check, for every request still being received (measured from its start); the checks
 * keep the connectionsCheckingInterval sized from the headersTimeoutMs the server started with (a quarter
 * of it, 50 ms to 1 s), so each fires up to one such interval late: 10000 lowered to 300 fires between 300
 * and about 1 300 ms. The keep-alive timeout holds from a connection's next idle period; a connection
 * already idle keeps the timeout it went idle with.
 */
export function applyTimeouts(server: Server, limits: Limits): void {
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
}

const PARSER_ERRORS: Record<string, { code: ErrorCode; message: string }> = {
  HPE_HEADER_OVERFLOW: { code: 'ABPROXY_HEADERS_TOO_LARGE', message: 'request headers are too large' },
  ERR_HTTP_REQUEST_TIMEOUT: { code: 'ABPROXY_REQUEST_TIMEOUT', message: 'request was not received in time' },
  HPE_PAUSED_H2_UPGRADE: { code: 'ABPROXY_BAD_REQUEST', message: 'this port speaks HTTP/1.1; HTTP/2 with prior knowledge is served on the http2.listen port' },
};

/** node reports an overlong request-target as HPE_HEADER_OVERFLOW too; http/head-overflow.ts tells it apart. */
const TARGET_OVERFLOW = { code: 'ABPROXY_URI_TOO_LONG', message: 'request URL is too long' } as const;

/** The extra fields node puts on a parser error (node:http 'clientError'). */
type ParserError = Error & { code?: string; rawPacket?: Buffer; bytesParsed?: number };

export type ClientErrorCounter = (code: ErrorCode) => void;

/** Sockets with a clientError answer written or waiting: node reports the failed parse again on every later read, and a head timeout for it. */
const answering = new WeakSet<Socket>();

export function answerClientError(error: ParserError, socket: Socket, count?: ClientErrorCounter): void {
  if (answering.has(socket)) return;
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  answering.add(socket);
  const known = error.code === 'HPE_HEADER_OVERFLOW' && requestTargetOverflowed(error.rawPacket, error.bytesParsed) ? TARGET_OVERFLOW : PARSER_ERRORS[error.code ?? ''];
  const code: ErrorCode = known?.code ?? 'ABPROXY_BAD_REQUEST';
  afterEarlierAnswers(socket, () => {
    // A response still being written now is the refused request's own (its body broke the framing or came too slowly): once started, cut it off.
    if (writingResponse(socket)?.headersSent === true) return void socket.destroy();
    count?.(code);
    writeAnswer(socket, code, known?.message ?? `malformed request (${error.code ?? 'parse error'})`);
  });
}

/** Writes a JSON error answer straight to a socket node's server no longer answers on, after the answers to earlier requests, and closes it. */
export function answerOnSocket(socket: Socket, code: ErrorCode, message: string): void {
  relayDrain(socket);
  afterEarlierAnswers(socket, () => writeAnswer(socket, code, message));
}

function writeAnswer(socket: Socket, code: ErrorCode, message: string): void {
  if (!socket.writable) return; // an earlier answer ended the connection (`connection: close`): nothing more is said on it
  const body = errorBody(code, message);
  const status = STATUS_OF[code];
  socket.end(
    `HTTP/1.1 ${status} ${REASON[status] ?? 'Error'}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
  socket.destroySoon();
}

const REASON: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 413: 'Payload Too Large', 414: 'URI Too Long', 431: 'Request Header Fields Too Large' };
