// A cluster worker's share of machine-wide bounds: its slot and the worker count (from the environment the
// primary forks it with), and a per-worker share of a concurrency bound, so N workers together stay within
// what the config file says. Outside a cluster: the whole bound.
import cluster from 'node:cluster';
import { COUNT_ENV, SLOT_ENV } from './messages.js';

export interface Share {
  /** Stable position of this worker (a replacement takes over the slot of the worker it replaces). */
  slot: number;
  count: number;
}

const WHOLE: Share = { slot: 0, count: 1 };

/** This process's share: slot 0 of 1 unless it is a cluster worker. */
export function currentShare(env: NodeJS.ProcessEnv = process.env, isWorker = cluster.isWorker): Share {
  if (!isWorker) return WHOLE;
  return { slot: Number(env[SLOT_ENV] ?? 0), count: Math.max(1, Number(env[COUNT_ENV] ?? 1)) };
}

/** A per-worker concurrency bound: floor(total / workers), never below 1 (so the sum is max(total, workers)). */
export function perWorkerLimit(total: number, share: Share = currentShare()): number {
  return share.count <= 1 ? total : Math.max(1, Math.floor(total / share.count));
}
