// A misbehaving upstream on 127.0.0.1 port 0: a plain TCP server whose handler writes whatever bytes a
// test needs (invalid status lines, resets mid-body, silence). Tracks and destroys its sockets on close.
import { createServer, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';

export interface RawUpstream {
  url: string;
  port: number;
  server: Server;
  /** Connections accepted so far */
  connections: number;
  /** Everything received, per connection, as latin1 text */
  received: string[];
  close(): Promise<void>;
}

/** `onRequestHead` runs once per connection, when the first request head ("\r\n\r\n") has arrived. */
export async function startRawUpstream(onRequestHead: (socket: Socket, head: string) => void): Promise<RawUpstream> {
  const sockets = new Set<Socket>();
  const upstream: RawUpstream = {
    url: '',
    port: 0,
    server: createServer((socket) => {
      sockets.add(socket);
      upstream.connections++;
      const index = upstream.received.push('') - 1;
      let answered = false;
      socket.on('error', () => undefined);
      socket.on('close', () => sockets.delete(socket));
      socket.on('data', (chunk: Buffer) => {
        upstream.received[index] += chunk.toString('latin1');
        const text = upstream.received[index] ?? '';
        if (!answered && text.includes('\r\n\r\n')) {
          answered = true;
          onRequestHead(socket, text);
        }
      });
    }),
    connections: 0,
    received: [],
    close: async () => {
      for (const socket of sockets) socket.destroy();
      upstream.server.close();
      await once(upstream.server, 'close');
    },
  };
  upstream.server.listen(0, '127.0.0.1');
  await once(upstream.server, 'listening');
  upstream.port = (upstream.server.address() as AddressInfo).port;
  upstream.url = `http://127.0.0.1:${upstream.port}`;
  return upstream;
}

/** A port on 127.0.0.1 with no listener: bound by a server that is then closed. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}
