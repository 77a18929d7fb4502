// What node:http's server stops doing for an HTTP/1.1 connection it stops parsing (handed to an 'upgrade'
// or 'connect' listener, or refused at a parse error), done here: waiting for the answers it is still
// writing to requests pipelined ahead (RFC 9112 §9.3.2), and passing the socket's 'drain' on to the
// response written there. Never writes to, ends or destroys the socket.
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** The response node is writing on `socket`; node queues the responses to later pipelined requests behind it. */
export function writingResponse(socket: Socket): ServerResponse | undefined {
  return (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage ?? undefined;
}

/**
 * Runs `then` once the responses to the requests read whole before the one node stopped at have been
 * written (at once when there are none). It waits as long as they take: upstreamTimeoutMs bounds each
 * one's head (or model run) and each stall of its body, not a client that stops reading. node hands the
 * socket to the next queued response in its own 'finish' listener, which runs before this one; a
 * connection that closes first runs nothing.
 */
export function afterEarlierAnswers(socket: Socket, then: () => void): void {
  let earlier = earlierAnswer(socket);
  if (!earlier) return then();
  const stop = () => earlier?.off('finish', next);
  function next(): void {
    earlier = earlierAnswer(socket);
    if (earlier) return void earlier.once('finish', next);
    socket.off('close', stop);
    then();
  }
  socket.once('close', stop);
  earlier.once('finish', next);
}

/**
 * Passes `socket`'s 'drain' on to the response being written there (one of node's or one the proxy
 * assigned), as node does on the sockets it serves. node stops listening when it hands a socket to an
 * 'upgrade' or 'connect' listener: without this, a response whose answer outgrows the socket buffer
 * there waits for 'drain' for good. For the socket's life.
 */
export function relayDrain(socket: Socket): void {
  socket.on('drain', () => {
    const res = writingResponse(socket);
    if (res?.writableNeedDrain === true) res.emit('drain');
  });
}

/** The response being written, when it answers a request read whole (a parse error's own request is not). */
function earlierAnswer(socket: Socket): ServerResponse | undefined {
  const res = writingResponse(socket);
  return res?.req.complete === true ? res : undefined;
}
