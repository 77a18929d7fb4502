// A weight change under `serve --workers N` is in force in every worker before the admin API answers: the
// admin worker reloads the rewritten file itself, then has the other workers reload it too (fanout.ts) and
// reports what each did, and which slots did not confirm in time. Without this a worker saw the change only
// through its own file watch, and with --no-watch never.
import type { ConfigReloader, ReloadResult } from '../config/reload.js';
import { answerQuestions, askOtherWorkers } from './fanout.js';
import type { Share } from './share.js';

export interface WorkerReload extends ReloadResult {
  slot: number;
}

export interface OtherReloads {
  /** How many other workers there are. */
  asked: number;
  /** The reloads that came back within timeoutMs, by slot. */
  reloads: WorkerReload[];
  /** Slots of the other workers whose reload did not come back within timeoutMs (busy, stopped, or restarting). */
  unconfirmed: number[];
  timeoutMs: number;
  /** The cluster primary, which forwards SIGHUP (a reload) to every worker. */
  primaryPid: number;
}

export type ReloadOthersFn = () => Promise<OtherReloads>;

/** Longest wait for the other workers' reloads. */
const RELOAD_TIMEOUT_MS = 5_000;

/** Reloads the other workers on request; also answers their requests with this worker's reload. */
export function reloadAcrossWorkers(share: Share, reloader: ConfigReloader): ReloadOthersFn {
  answerQuestions('reload', () => ({ slot: share.slot, ...reloader.reload('cluster') }) satisfies WorkerReload);
  return async () => {
    const { answers, unanswered } = await askOtherWorkers({ kind: 'reload' }, { first: false, timeoutMs: RELOAD_TIMEOUT_MS });
    const reloads = (answers as WorkerReload[]).sort((a, b) => a.slot - b.slot);
    return { asked: share.count - 1, reloads, unconfirmed: unanswered, timeoutMs: RELOAD_TIMEOUT_MS, primaryPid: process.ppid };
  };
}
