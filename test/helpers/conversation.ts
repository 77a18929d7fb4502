// A raw client connection driven step by step: write literal bytes, wait (bounded) for text to arrive
// or for the server to close. For wire tests where timing between writes matters.
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';

export interface Conversation {
  socket: Socket;
  /** Everything received so far, latin1 */
  readonly text: string;
  /** True once the server ended or the socket closed */
  readonly closed: boolean;
  write(bytes: string | Buffer): void;
  /** Resolves when `pattern` matches the received text; rejects after timeoutMs. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves when the connection is closed; rejects after timeoutMs. */
  waitClosed(timeoutMs?: number): Promise<void>;
  destroy(): void;
}

export async function converse(port: number): Promise<Conversation> {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  let text = '';
  let closed = false;
  const waiters = new Set<() => void>();
  const notify = () => waiters.forEach((w) => w());
  socket.on('data', (chunk: Buffer) => {
    text += chunk.toString('latin1');
    notify();
  });
  socket.on('end', () => {
    closed = true;
    notify();
  });
  socket.on('close', () => {
    closed = true;
    notify();
  });

  function until(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!done()) return;
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; received ${JSON.stringify(text.slice(0, 500))}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
    });
  }

  return {
    socket,
    get text() {
      return text;
    },
    get closed() {
      return closed;
    },
    write: (bytes) => void socket.write(bytes),
    async waitFor(pattern, timeoutMs = 5_000) {
      await until(() => pattern.test(text), timeoutMs, String(pattern));
      return text;
    },
    waitClosed: (timeoutMs = 5_000) => until(() => closed, timeoutMs, 'close'),
    destroy: () => socket.destroy(),
  };
}

/** Splits a raw HTTP/1.1 response into status, lower-cased headers and body text. */
export function parseResponse(text: string): { status: number; headers: Map<string, string>; body: string } {
  const end = text.indexOf('\r\n\r\n');
  const head = end === -1 ? text : text.slice(0, end);
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0), headers, body: end === -1 ? '' : text.slice(end + 4) };
}

/** Parses a JSON object body (a proxy error or the echo upstream's report) for field checks. */
export function json(text: string): Record<string, unknown> {
  return JSON.parse(text) as Record<string, unknown>;
}
