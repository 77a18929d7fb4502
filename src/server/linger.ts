// nginx's lingering close for a body refused unread (413): after the closing answer is written, what the
// client still sends of its body is read and discarded before the connection closes, while it keeps
// coming (a pause of IDLE_MS ends it) and for at most TOTAL_MS. A client that writes its whole body
// before it reads (Python's http.client, undici) then gets the 413 instead of EPIPE or a reset. Never
// forwards or parses anything but the refused request's own body.
import type { IncomingMessage } from 'node:http';

const IDLE_MS = 1_000;
const TOTAL_MS = 10_000;

export function lingerBeforeClose(req: IncomingMessage): void {
  const socket = req.socket as typeof req.socket | null; // null once node let go of the connection
  if (!socket || req.complete || socket.destroyed) return;
  let idle: NodeJS.Timeout | undefined;
  // Dropped as it comes (a body reader that gave up at the limit paused it); each chunk keeps the wait open.
  req.on('data', () => idle?.refresh());
  req.resume();
  // node ends a `connection: close` answer with socket.destroySoon(), which closes at once and resets the
  // upload still in flight; here it ends this side, then closes once the body is in or the wait is over.
  socket.destroySoon = () => {
    socket.end();
    if (req.complete) return void socket.destroy();
    const close = () => socket.destroy();
    idle = setTimeout(close, IDLE_MS);
    const total = setTimeout(close, TOTAL_MS);
    socket.once('close', () => {
      clearTimeout(idle);
      clearTimeout(total);
    });
    req.once('end', close);
  };
}
