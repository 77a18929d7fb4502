// Shadows of an exchange whose request body is still arriving (HTTP/2 streams): the copies start once
// the body is whole, and get the primary's result whichever of the two comes first (an upstream may
// answer before a client has sent everything).
import type { DataPlaneHooks, Exchange, ExchangeResult, MirroredRequest } from './exchange.js';

export class ShadowStart {
  #onPrimary: ((primary: ExchangeResult) => void) | undefined;
  #primary: ExchangeResult | undefined;

  constructor(
    private readonly exchange: Exchange,
    private readonly request: MirroredRequest,
    private readonly hooks: Pick<DataPlaneHooks, 'startShadows'>,
  ) {}

  bodyEnded(body: Buffer | undefined): void {
    this.#onPrimary = this.hooks.startShadows?.({ ...this.exchange, body }, this.request);
    if (this.#primary) this.#onPrimary?.(this.#primary);
  }

  primaryEnded(primary: ExchangeResult): void {
    this.#primary = primary;
    this.#onPrimary?.(primary);
  }
}
