// The bounded request-id -> (route, variant) memory that lets feedback name a request instead of a
// variant: the last `max` requests served, the oldest dropped first, every drop counted.
// Every request pays for remembering, so the memory stays out of the collector's way: an id in the
// canonical UUID form the proxy generates is held as its 128 bits in typed arrays (any other id as its
// string), and each request's (route, variant) as the index of a shared pair, so serving a request
// leaves no object behind it. Feedback pays for finding: the hash index is brought up to date by the
// lookup that needs it, and rebuilt once dropped ids fill half of it.
import { feedbackRequestIdsEvictedTotal } from '../metrics/registry.js';
import { CounterSeries } from '../metrics/fast-series.js';
import { murmur3 } from '../routing/hash.js';

export interface ServedBy {
  route: string;
  variant: string;
}

/** Slots allocated at first; the ring doubles up to `max`. */
const FIRST_CAPACITY = 1024;
const WORDS = 4;
/** Index entries before the first lookup (a power of two, as every size of the table). */
const EMPTY_TABLE = 16;

export class RequestVariants {
  #max: number;
  #capacity = 0;
  /** Per slot: a UUID id's four 32-bit words. */
  #words = new Uint32Array(0);
  /** Per slot: 1 + the index of its (route, variant) pair; 0 while empty. */
  #pairOf = new Uint32Array(0);
  /** Per slot: an id that is not a canonical UUID. */
  #strings: (string | undefined)[] = [];
  /** The slot the next id takes. */
  #next = 0;
  /** Ids remembered since the ring was (re)built (the ring holds the last `max` of them), and how many of them the index has seen. */
  #remembered = 0;
  #indexed = 0;
  /** Open addressing, 1 + slot per entry; an entry whose slot now holds another id is stale. */
  #table = new Int32Array(EMPTY_TABLE);
  #tableEntries = 0;
  readonly #pairs: ServedBy[] = [];
  readonly #pairIndex = new Map<string, Map<string, number>>();
  readonly #evicted = new CounterSeries(feedbackRequestIdsEvictedTotal, {});
  /** Scratch for a looked-up id's words. */
  readonly #probe = new Uint32Array(WORDS);

  constructor(max: number) {
    this.#max = max;
    this.#allocate(Math.min(max, FIRST_CAPACITY));
  }

  remember(requestId: string, route: string, variant: string): void {
    if (this.#next === this.#capacity) {
      if (this.#capacity < this.#max) this.#allocate(Math.min(this.#max, this.#capacity * 2));
      else this.#next = 0;
    }
    const slot = this.#next;
    if (this.#pairOf[slot] !== 0) this.#evicted.inc();
    if (uuidWords(requestId, this.#words, slot * WORDS)) {
      if (this.#strings[slot] !== undefined) this.#strings[slot] = undefined;
    } else this.#strings[slot] = requestId;
    this.#pairOf[slot] = 1 + this.#pair(route, variant);
    this.#next = slot + 1;
    this.#remembered++;
  }

  lookup(requestId: string): ServedBy | undefined {
    this.#catchUp();
    const uuid = uuidWords(requestId, this.#probe, 0);
    const mask = this.#table.length - 1;
    let found = -1;
    for (let i = (uuid ? this.#probe[0] ?? 0 : murmur3(requestId)) & mask; this.#table[i] !== 0; i = (i + 1) & mask) {
      const slot = (this.#table[i] ?? 0) - 1;
      if ((uuid ? this.#holdsUuid(slot) : this.#strings[slot] === requestId) && (found < 0 || this.#age(slot) < this.#age(found))) found = slot;
    }
    return found < 0 ? undefined : this.#pairs[(this.#pairOf[found] ?? 1) - 1];
  }

  /** Applies a new bound (after a reload), keeping the most recent ids that still fit. */
  resize(max: number): void {
    if (max === this.#max) return;
    const kept = Math.min(max, this.#held());
    const words = this.#words;
    const pairOf = this.#pairOf;
    const strings = this.#strings;
    const oldest = this.#slotBack(kept);
    const oldCapacity = this.#capacity;
    this.#max = max;
    this.#allocate(Math.min(max, Math.max(kept, FIRST_CAPACITY)), false);
    for (let i = 0; i < kept; i++) {
      const from = (oldest + i) % oldCapacity;
      this.#words.set(words.subarray(from * WORDS, from * WORDS + WORDS), i * WORDS);
      this.#pairOf[i] = pairOf[from] ?? 0;
      this.#strings[i] = strings[from];
    }
    this.#next = kept;
    this.#remembered = kept;
    this.#indexed = 0;
    this.#table = new Int32Array(EMPTY_TABLE);
    this.#tableEntries = 0;
  }

  /** Grows the ring to `capacity` slots, keeping what it holds in place (unless `keep` is false). */
  #allocate(capacity: number, keep = true): void {
    const words = new Uint32Array(capacity * WORDS);
    const pairOf = new Uint32Array(capacity);
    if (keep) {
      words.set(this.#words);
      pairOf.set(this.#pairOf);
    } else this.#strings = [];
    this.#words = words;
    this.#pairOf = pairOf;
    this.#capacity = capacity;
  }

  /** Indexes the ids remembered since the last lookup; rebuilds the table when it would be over half full. */
  #catchUp(): void {
    let fresh = Math.min(this.#remembered - this.#indexed, this.#held());
    if (this.#tableEntries + fresh > this.#table.length / 2) {
      let size = EMPTY_TABLE;
      while (size < 4 * this.#held()) size *= 2;
      this.#table = new Int32Array(size);
      this.#tableEntries = 0;
      fresh = this.#held();
    }
    const mask = this.#table.length - 1;
    for (let back = fresh; back > 0; back--) {
      const slot = this.#slotBack(back);
      const text = this.#strings[slot];
      let i = (text === undefined ? this.#words[slot * WORDS] ?? 0 : murmur3(text)) & mask;
      while (this.#table[i] !== 0) i = (i + 1) & mask;
      this.#table[i] = slot + 1;
      this.#tableEntries++;
    }
    this.#indexed = this.#remembered;
  }

  /** Ids in the ring: every slot is filled in turn, and reused only once `max` are. */
  #held(): number {
    return Math.min(this.#remembered, this.#max);
  }

  #holdsUuid(slot: number): boolean {
    if (this.#strings[slot] !== undefined || this.#pairOf[slot] === 0) return false;
    const at = slot * WORDS;
    const words = this.#words;
    const probe = this.#probe;
    return words[at] === probe[0] && words[at + 1] === probe[1] && words[at + 2] === probe[2] && words[at + 3] === probe[3];
  }

  /** 0 for the latest id, 1 for the one before, ... */
  #age(slot: number): number {
    return (this.#next - 1 - slot + this.#capacity) % this.#capacity;
  }

  /** The slot of the id remembered `back` ids ago (1: the latest). */
  #slotBack(back: number): number {
    return (this.#next - back + this.#capacity) % this.#capacity;
  }

  #pair(route: string, variant: string): number {
    let variants = this.#pairIndex.get(route);
    if (!variants) this.#pairIndex.set(route, (variants = new Map<string, number>()));
    let index = variants.get(variant);
    if (index === undefined) {
      index = this.#pairs.push({ route, variant }) - 1;
      variants.set(variant, index);
    }
    return index;
  }
}

/** Writes a canonical lowercase UUID's 128 bits as four words at `out[at..]`; false for any other text. */
function uuidWords(text: string, out: Uint32Array, at: number): boolean {
  if (text.length !== 36) return false;
  let word = 0;
  let digits = 0;
  for (let i = 0; i < 36; i++) {
    const code = text.charCodeAt(i);
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (code !== 0x2d) return false;
      continue;
    }
    const nibble = code >= 0x30 && code <= 0x39 ? code - 0x30 : code >= 0x61 && code <= 0x66 ? code - 0x57 : -1;
    if (nibble < 0) return false;
    word = (word << 4) | nibble;
    if (++digits % 8 === 0) {
      out[at + digits / 8 - 1] = word >>> 0;
      word = 0;
    }
  }
  return true;
}
