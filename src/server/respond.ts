// Writes the proxy's own answers: JSON errors `{"error", "code"}` with the status of their code.
// When the request body was not consumed, the connection is closed so no stray bytes are parsed (after
// a 413, once the refused body itself is read: linger.ts).
import type { ServerResponse } from 'node:http';
import { errorBody, type ProxyError } from '../http/errors.js';
import { lingerBeforeClose } from './linger.js';

export function sendError(res: ServerResponse, error: ProxyError, extraHeaders: readonly string[] = [], close = false): void {
  if (res.headersSent) {
    res.destroy(error);
    return;
  }
  const body = errorBody(error.code, error.message);
  const headers = ['content-type', 'application/json', 'content-length', String(Buffer.byteLength(body)), ...extraHeaders];
  if (close) closeAfterAnswer(res, error.status, headers);
  res.writeHead(error.status, headers);
  res.end(body);
}

/** Makes the answer the connection's last (`connection: close`); after a 413 the refused body is read first (linger.ts). */
export function closeAfterAnswer(res: ServerResponse, status: number, headers: string[]): void {
  headers.push('connection', 'close');
  if (status === 413) lingerBeforeClose(res.req);
}

export function sendJson(res: ServerResponse, status: number, value: unknown, extraHeaders: readonly string[] = []): void {
  const body = JSON.stringify(value);
  res.writeHead(status, ['content-type', 'application/json', 'content-length', String(Buffer.byteLength(body)), ...extraHeaders]);
  res.end(body);
}
