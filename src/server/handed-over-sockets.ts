// The sockets one node:http server has handed to its 'upgrade' or 'connect' listener, from the hand-over
// until they close. node's own connection tracking (closeIdleConnections, closeAllConnections) no longer
// sees them, so a drain closes them through this as it does node's; node's 'error' listener is gone too,
// so one is put back here. One whose proxy side has ended (an answer sent on a closing connection, a
// tunnel its upstream ended) waits at most lingerMs for the client's close, as node's keep-alive
// connections wait keepAliveTimeoutMs: a client that never closes cannot hold it. Never reads from or
// writes to them.
import type { Socket } from 'node:net';

export class HandedOverSockets {
  readonly #open = new Set<Socket>();

  /** `lingerMs`: how long one whose proxy side has ended waits for the client's close (read when that side ends). */
  constructor(private readonly lingerMs: () => number) {}

  /** Call as the 'upgrade' or 'connect' listener receives `socket`. */
  track(socket: Socket): void {
    socket.on('error', () => socket.destroy()); // a client's reset costs its connection, never the process
    this.#open.add(socket);
    let linger: NodeJS.Timeout | undefined;
    socket.once('finish', () => (linger = setTimeout(() => socket.destroy(), this.lingerMs()).unref()));
    socket.once('close', () => {
      clearTimeout(linger);
      this.#open.delete(socket);
    });
  }

  /**
   * Closes the idle ones, as closeIdleConnections does node's: those the proxy has ended and flushed its
   * side of (an answer sent on a closing connection, a tunnel its upstream ended), which wait only for the
   * client's close. One with an answer or a tunnel still running is left to finish.
   */
  closeIdle(): void {
    for (const socket of this.#open) if (socket.writableFinished) socket.destroy();
  }

  /** Closes them all, as closeAllConnections does node's. */
  closeAll(): void {
    for (const socket of this.#open) socket.destroy();
  }
}
