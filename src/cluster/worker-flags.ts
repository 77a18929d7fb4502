// The Node/V8 flags a cluster worker is forked with. A worker is sized to one core: when the workers take
// every core, V8's parallel scavenge hands each young-generation collection to helper threads that compete
// with the other workers (and their shadow threads) for those same cores, and the collecting thread waits
// for them. Such workers collect on their own thread. With a core to spare, and whenever the flag is set
// on abproxy's own command line, V8's choice stands.

import { coreToSpare } from './worker-count.js';

export const NO_PARALLEL_SCAVENGE = '--no-parallel-scavenge';

/** The execArgv of a worker of `workers` on `cores` usable cores, from the primary's own. */
export function workerExecArgv(parent: readonly string[], workers: number, cores: number): string[] {
  const chosen = parent.some((flag) => /^--(no-)?parallel[-_]scavenge$/.test(flag));
  return !coreToSpare(workers, cores) && !chosen ? [...parent, NO_PARALLEL_SCAVENGE] : [...parent];
}
