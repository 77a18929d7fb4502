// Raw-socket requests: literal bytes over net.connect, because clients normalise requests and hide bugs.
import { connect } from 'node:net';

export interface RawResponse {
  /** Everything the server sent, as latin1 text */
  text: string;
  /** Status code of the first response line, or 0 when none */
  status: number;
  /** True when the server closed the connection before the timeout */
  closed: boolean;
}

export function rawRequest(port: number, bytes: string | Buffer, timeoutMs = 2_000): Promise<RawResponse> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let closed = false;
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => undefined);
    socket.on('end', () => {
      closed = true;
    });
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      resolve({ text, status: match ? Number(match[1]) : 0, closed });
    });
    socket.write(bytes);
  });
}
