// The live runtime: one immutable generation (config + compiled routes + trust list) behind a holder
// that swaps atomically. A request reads `holder.current` once and finishes on that generation.
import { BlockList, isIP } from 'node:net';
import type { Config } from '../config/schema.js';
import { RouteTable } from '../routing/route-table.js';

export interface Runtime {
  readonly generation: number;
  readonly config: Config;
  readonly routes: RouteTable;
  readonly trustedProxies: BlockList;
}

export function buildRuntime(config: Config, generation: number): Runtime {
  return { generation, config, routes: new RouteTable(config), trustedProxies: trustList(config.trustedProxies) };
}

/** Trusted proxies as IP addresses or CIDR ranges ("10.0.0.0/8", "::1"). */
function trustList(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [address = '', prefix] = entry.split('/');
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(address, family);
    else list.addSubnet(address, Number(prefix), family);
  }
  return list;
}

export class RuntimeHolder {
  #current: Runtime;
  readonly #listeners: ((next: Runtime, previous: Runtime) => void)[] = [];

  constructor(config: Config) {
    this.#current = buildRuntime(config, 1);
  }

  get current(): Runtime {
    return this.#current;
  }

  /** Builds the next generation from an already validated config and swaps it in. */
  swap(config: Config): Runtime {
    const previous = this.#current;
    this.#current = buildRuntime(config, previous.generation + 1);
    for (const listener of this.#listeners) listener(this.#current, previous);
    return this.#current;
  }

  onSwap(listener: (next: Runtime, previous: Runtime) => void): void {
    this.#listeners.push(listener);
  }
}
