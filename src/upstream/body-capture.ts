// A bounded copy of a response body as it streams past, for shadow comparison: chunks are kept until
// they would cross the bound, after which the copy is marked truncated and nothing more is kept.
export class BodyCapture {
  readonly #chunks: Buffer[] = [];
  #bytes = 0;
  #truncated = false;

  constructor(private readonly maxBytes: number) {}

  add(chunk: Buffer): void {
    if (this.#truncated) return;
    if (this.#bytes + chunk.length > this.maxBytes) {
      this.#truncated = true;
      return;
    }
    this.#chunks.push(chunk);
    this.#bytes += chunk.length;
  }

  /** What was kept (the chunks up to the bound), and whether the body went past it. */
  result(): { body: Buffer; truncated: boolean } {
    return { body: Buffer.concat(this.#chunks, this.#bytes), truncated: this.#truncated };
  }
}
