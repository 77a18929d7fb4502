// A WebSocket echo server on 127.0.0.1 port 0 for tests: answers the RFC 6455 handshake (Sec-WebSocket-
// Accept from the key), echoes text frames back with a prefix naming the server, answers close with
// close, refuses handshakes on paths under /forbidden with 403, never answers those under /silent, and
// on those under /deaf streams a frame every 50 ms and never closes its side. Records every handshake's headers.
import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { once } from 'node:events';

export interface WebSocketUpstream {
  url: string;
  server: Server;
  handshakes: { url: string; headers: IncomingHttpHeaders }[];
  /** Sockets of the connections still open. */
  open: Set<Socket>;
  close(): Promise<void>;
}

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export async function startWebSocketUpstream(name: string): Promise<WebSocketUpstream> {
  const open = new Set<Socket>();
  const handshakes: WebSocketUpstream['handshakes'] = [];
  const server = createServer((req, res) => res.end(`plain ${req.method} ${req.url} upgrade=${req.headers.upgrade ?? '-'}`));
  server.on('upgrade', (req, socket: Socket) => {
    handshakes.push({ url: req.url ?? '', headers: req.headers });
    socket.on('error', () => socket.destroy());
    open.add(socket);
    socket.on('close', () => open.delete(socket));
    if (!(req.url ?? '').includes('/deaf')) socket.on('end', () => socket.end());
    if ((req.url ?? '').includes('/silent')) return;
    if ((req.url ?? '').includes('/forbidden')) {
      socket.end('HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 9\r\nConnection: close\r\n\r\nforbidden');
      return;
    }
    const accept = createHash('sha1').update(`${String(req.headers['sec-websocket-key'])}${GUID}`).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    if ((req.url ?? '').includes('/deaf')) {
      const ticker = setInterval(() => socket.write(encodeFrame(0x1, Buffer.from('tick'))), 50);
      socket.on('close', () => clearInterval(ticker));
    }
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      for (let frame = readFrame(pending); frame; frame = readFrame(pending)) {
        pending = pending.subarray(frame.size);
        if (frame.opcode === 0x8) {
          socket.end(encodeFrame(0x8, frame.payload));
          return;
        }
        if (frame.opcode === 0x1) socket.write(encodeFrame(0x1, Buffer.from(`${name}: ${frame.payload.toString()}`)));
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    handshakes,
    open,
    close: async () => {
      for (const socket of open) socket.destroy();
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

/** One masked client frame (RFC 6455 §5.2) from the start of `bytes`, or undefined when it is not all there yet. */
function readFrame(bytes: Buffer): { opcode: number; payload: Buffer; size: number } | undefined {
  if (bytes.length < 2) return undefined;
  const opcode = (bytes[0] ?? 0) & 0x0f;
  const masked = ((bytes[1] ?? 0) & 0x80) !== 0;
  let length = (bytes[1] ?? 0) & 0x7f;
  let offset = 2;
  if (length === 126) {
    if (bytes.length < 4) return undefined;
    length = bytes.readUInt16BE(2);
    offset = 4;
  } else if (length === 127) {
    if (bytes.length < 10) return undefined;
    length = Number(bytes.readBigUInt64BE(2));
    offset = 10;
  }
  const maskAt = offset;
  if (masked) offset += 4;
  if (bytes.length < offset + length) return undefined;
  const payload = Buffer.from(bytes.subarray(offset, offset + length));
  if (masked) for (let i = 0; i < payload.length; i++) payload[i] = (payload[i] ?? 0) ^ (bytes[maskAt + (i % 4)] ?? 0);
  return { opcode, payload, size: offset + length };
}

/** An unmasked server frame, FIN set. */
function encodeFrame(opcode: number, payload: Buffer): Buffer {
  const head = payload.length < 126 ? Buffer.from([0x80 | opcode, payload.length]) : Buffer.from([0x80 | opcode, 126, payload.length >> 8, payload.length & 0xff]);
  return Buffer.concat([head, payload]);
}
