// A worker's requests to the cluster primary that wait for a reply: each gets an id, and resolves with the
// reply that carries it, or with a stand-in once its timeout passes. Never rejects.
export class PendingReplies<T> {
  readonly #waiting = new Map<number, (reply: T) => void>();
  #nextId = 1;

  /** Sends the request (`send` is given its id) and resolves with its reply, or with `onTimeout` after timeoutMs. */
  ask(send: (id: number) => void, timeoutMs: number, onTimeout: T): Promise<T> {
    const id = this.#nextId++;
    return new Promise<T>((resolve) => {
      const timer = setTimeout(() => settle(onTimeout), timeoutMs);
      const settle = (reply: T): void => {
        clearTimeout(timer);
        this.#waiting.delete(id);
        resolve(reply);
      };
      this.#waiting.set(id, settle);
      send(id);
    });
  }

  /** The reply to request `id` arrived (one that is no longer waited for is let go). */
  settle(id: number, reply: T): void {
    this.#waiting.get(id)?.(reply);
  }
}
