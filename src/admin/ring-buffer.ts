// A fixed-capacity ring buffer: pushing onto a full buffer overwrites the oldest item and counts it.
// Never grows past its capacity.

export class RingBuffer<T> {
  readonly #items: (T | undefined)[];
  #start = 0;
  #size = 0;
  #evicted = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`ring buffer capacity must be a positive integer, got ${capacity}`);
    this.#items = new Array<T | undefined>(capacity);
  }

  get size(): number {
    return this.#size;
  }

  /** Items overwritten because the buffer was full. */
  get evicted(): number {
    return this.#evicted;
  }

  push(item: T): void {
    if (this.#size < this.capacity) {
      this.#items[(this.#start + this.#size) % this.capacity] = item;
      this.#size++;
      return;
    }
    this.#items[this.#start] = item;
    this.#start = (this.#start + 1) % this.capacity;
    this.#evicted++;
  }

  /** The newest `limit` items (all by default), oldest first. */
  toArray(limit = this.#size): T[] {
    const count = Math.max(0, Math.min(limit, this.#size));
    const out: T[] = [];
    for (let i = this.#size - count; i < this.#size; i++) out.push(this.#items[(this.#start + i) % this.capacity] as T);
    return out;
  }
}
