// When a worker thread that keeps dying may start again: at once after one exit, then 1 s, 2 s, 4 s ...
// up to 30 s after each exit that follows, so a worker failing as it loads cannot spin the process. A
// worker that ran for 30 s resets the count. Pure: callers pass the clock (ms).

export interface RestartBackoffOptions {
  firstDelayMs: number;
  maxDelayMs: number;
  /** A worker that ran this long before exiting counts as a first exit again. */
  stableMs: number;
}

const DEFAULTS: RestartBackoffOptions = { firstDelayMs: 1_000, maxDelayMs: 30_000, stableMs: 30_000 };

export class RestartBackoff {
  readonly #options: RestartBackoffOptions;
  #exits = 0;
  #notBefore = 0;

  constructor(options: Partial<RestartBackoffOptions> = {}) {
    this.#options = { ...DEFAULTS, ...options };
  }

  /** A worker that started at `startedAt` exited at `now`; returns the time from which the next may start. */
  exited(startedAt: number, now: number): number {
    const { firstDelayMs, maxDelayMs, stableMs } = this.#options;
    if (now - startedAt >= stableMs) this.#exits = 0;
    const delayMs = this.#exits === 0 ? 0 : Math.min(maxDelayMs, firstDelayMs * 2 ** (this.#exits - 1));
    this.#exits++;
    this.#notBefore = now + delayMs;
    return this.#notBefore;
  }

  mayStart(now: number): boolean {
    return now >= this.#notBefore;
  }
}
