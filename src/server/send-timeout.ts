// The send timeout (limits.sendTimeoutMs; nginx's send_timeout, Envoy's stream idle timeout): an answer
// whose bytes wait for a client that takes none of them for sendTimeoutMs is cut off and counted per route.
// Its timer runs only while the client's buffer is over its high-water mark (a write returned false and
// 'drain' has not come, or end() left the buffer over it), so an answer that never meets backpressure pays
// nothing. Never writes to the client, and never cuts an HTTP/1.1 answer that is not on the wire yet.
import type { ServerResponse } from 'node:http';
import { constants, type ServerHttp2Stream } from 'node:http2';
import { recordSendTimeout } from '../metrics/request-metrics.js';
import { destroySession } from './h2-transports.js';

/** The exchange's error when its client was cut off by the send timeout (the upstream request is aborted with it). */
export class SendTimeoutError extends Error {
  readonly code = 'ABPROXY_SEND_TIMEOUT';
  constructor(ms: number) {
    super(`the client took none of the answer for ${ms} ms (limits.sendTimeoutMs)`);
  }
}

/**
 * One answer's timer. `cut` cuts the client off and returns true, or returns false when the answer is not
 * on the wire yet (an HTTP/1.1 answer queued behind earlier ones on its connection), and the timer waits
 * another period. One Timeout per answer, made at the first backpressure and refreshed after.
 */
export class SendTimeout {
  #timer: NodeJS.Timeout | undefined;
  #waiting = false;

  constructor(
    private readonly ms: number,
    private readonly route: string,
    private readonly cut: () => boolean,
  ) {}

  /** Backpressure started: cut the client off after `ms` unless stop() comes first. */
  start(): void {
    this.#waiting = true;
    if (this.#timer) this.#timer.refresh();
    else this.#timer = setTimeout(this.#expire, this.ms).unref();
  }

  /** Backpressure ended ('drain'). The timer is left to lapse, so the next start() only refreshes it. */
  stop(): void {
    this.#waiting = false;
  }

  /** The answer ended: nothing waits any more. */
  dispose(): void {
    this.#waiting = false;
    clearTimeout(this.#timer);
  }

  #expire = (): void => {
    if (!this.#waiting) return;
    if (!this.cut()) return void this.#timer?.refresh();
    this.#waiting = false;
    recordSendTimeout(this.route);
  };
}

/**
 * A relay's waits on its client: each begins when a write returned false and ends with 'drain', which
 * resumes the producer (undici); the send timeout runs meanwhile. Made at the first backpressure.
 */
export class Backpressure {
  constructor(
    private readonly out: ServerResponse | ServerHttp2Stream,
    private readonly resume: () => void,
    private readonly timeout: SendTimeout,
  ) {}

  /** A write returned false. */
  wait(): void {
    this.out.once('drain', this.#drained);
    this.timeout.start();
  }

  /** The answer ended. */
  dispose(): void {
    this.timeout.dispose();
  }

  #drained = (): void => {
    this.timeout.stop();
    this.resume();
  };
}

/**
 * After end(): an HTTP/1.1 answer written in one piece (a local model's) that left the client's buffer over
 * its high-water mark must be taken within `ms`, or the connection is cut. Answers that fit pay one comparison.
 */
export function watchEndedResponse(res: ServerResponse, ms: number, route: string): void {
  if (res.writableLength >= res.writableHighWaterMark) watchEnded(res, new SendTimeout(ms, route, () => cutConnection(res)));
}

/** After end(), the same for an answer on an HTTP/2 stream: its stream is reset (cancelStream). */
export function watchEndedStream(stream: ServerHttp2Stream, ms: number, route: string): void {
  if (stream.writableLength >= stream.writableHighWaterMark) watchEnded(stream, new SendTimeout(ms, route, () => cancelStream(stream, ms)));
}

function watchEnded(out: ServerResponse | ServerHttp2Stream, timeout: SendTimeout): void {
  timeout.start();
  out.once('close', () => timeout.dispose());
}

/** Cuts off an HTTP/1.1 client (its connection); false while the answer waits behind earlier ones on it, not on the wire yet. */
export function cutConnection(res: ServerResponse): boolean {
  if (res.socket === null) return false;
  res.destroy();
  return true;
}

/**
 * Resets an HTTP/2 stream whose client took nothing in time (RST_STREAM CANCEL); the session serves on.
 * The reset waits in the session's own buffer like any frame: when the client takes nothing of the session
 * either for another `ms`, the session itself is stuck, and it is destroyed with its connection.
 */
export function cancelStream(stream: ServerHttp2Stream, ms: number): boolean {
  stream.close(constants.NGHTTP2_CANCEL);
  if (stream.destroyed) return true;
  const stuck = setTimeout(() => stream.session && destroySession(stream.session), ms).unref();
  stream.once('close', () => clearTimeout(stuck));
  return true;
}
