// The transport (TCP or TLS socket) under each HTTP/2 session the plane serves, so that a session whose
// client reads nothing at all can be destroyed: node's session.destroy() ends its socket and waits for the
// writes to flush, which such a client never lets happen, and a session's `socket` is a proxy that refuses
// destroy(). Found by the connection's address pair, which that proxy passes through. Never holds a closed socket.
import type { Http2Session } from 'node:http2';
import type { Socket } from 'node:net';

const byConnection = new Map<string, Socket>();

/** Remembers a socket of the HTTP/2 listener until it closes. */
export function trackTransport(socket: Socket): void {
  const key = connectionKey(socket);
  byConnection.set(key, socket);
  socket.once('close', () => {
    if (byConnection.get(key) === socket) byConnection.delete(key);
  });
}

/** Destroys a session and, whatever its socket still waits to write, the socket under it. */
export function destroySession(session: Http2Session): void {
  const transport = session.socket && byConnection.get(connectionKey(session.socket));
  session.destroy();
  transport?.destroy();
}

function connectionKey(socket: Pick<Socket, 'remoteAddress' | 'remotePort' | 'localAddress' | 'localPort'>): string {
  return `${socket.remoteAddress} ${socket.remotePort} ${socket.localAddress} ${socket.localPort}`;
}
