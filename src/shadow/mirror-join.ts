// The shadow worker's exchanges in progress: a mirrored exchange waits here from its mirror (the copies
// are sent) until its primary part and every copy's answer are in, then goes on, whole, to be compared
// and logged. An exchange whose primary part says it was dropped is let go uncounted (the main thread
// counted it). Holds one entry per exchange with copies out or a primary still running.
import type { ShadowAnswer } from './answer.js';
import { IdRing } from './id-ring.js';
import { mirroredExchange, uncomparedShadow, type ExchangeHead, type MirroredExchange, type PrimaryPart } from './shadow-protocol.js';

interface Entry {
  head: ExchangeHead;
  answers: (ShadowAnswer | undefined)[];
  waiting: number;
  part: PrimaryPart | undefined;
  dropped: boolean;
}

export class MirrorJoin {
  readonly #entries = new IdRing<Entry>();

  /** `onWhole`: an exchange with every answer in, and its record's time. */
  constructor(private readonly onWhole: (exchange: MirroredExchange, time: number) => void) {}

  /** Opens exchange `id`, whose `copies` copies are being sent. */
  open(id: number, head: ExchangeHead, copies: number): void {
    this.#entries.set(id, { head, answers: new Array<ShadowAnswer | undefined>(copies), waiting: copies, part: undefined, dropped: false });
  }

  /** Copy `index` of exchange `id` answered (or failed). */
  answer(id: number, index: number, answer: ShadowAnswer): void {
    const entry = this.#entries.get(id);
    if (!entry || entry.answers[index] !== undefined) return;
    entry.answers[index] = answer;
    entry.waiting--;
    this.#settle(id, entry);
  }

  /** The primary part of exchange `id` arrived. */
  primary(id: number, part: PrimaryPart, dropped: boolean): void {
    const entry = this.#entries.get(id);
    if (!entry) return;
    entry.part = part;
    entry.dropped = dropped;
    this.#settle(id, entry);
  }

  /** Forgets every exchange still waiting (their primary parts will not come); returns how many. */
  clear(): number {
    const count = this.#entries.size;
    this.#entries.clear();
    return count;
  }

  #settle(id: number, entry: Entry): void {
    const { part } = entry;
    if (entry.waiting > 0 || !part) return;
    this.#entries.delete(id);
    if (entry.dropped) return;
    const shadows = part.shadows.map((shadow) => uncomparedShadow(shadow, shadow.copy === undefined ? shadow.result : entry.answers[shadow.copy]));
    this.onWhole(mirroredExchange(entry.head, part.primary, shadows), part.time);
  }
}
