// A weight change under `serve --workers N` is in force in every worker before the admin API answers: the
// admin worker reloads the rewritten file itself, then has the other workers reload it too (fanout.ts) and
// reports what each did. Without this a worker saw the change only through its own file watch, and with
// --no-watch never.
import type { ConfigReloader, ReloadResult } from '../config/reload.js';
import { answerQuestions, askOtherWorkers } from './fanout.js';
import type { Share } from './share.js';

export interface WorkerReload extends ReloadResult {
  slot: number;
}

/** The other workers' reloads (`asked`: how many there are; fewer reloads came back in time). */
export type ReloadOthersFn = () => Promise<{ asked: number; reloads: WorkerReload[] }>;

/** Longest wait for the other workers' reloads. */
const RELOAD_TIMEOUT_MS = 5_000;

/** Reloads the other workers on request; also answers their requests with this worker's reload. */
export function reloadAcrossWorkers(share: Share, reloader: ConfigReloader): ReloadOthersFn {
  answerQuestions('reload', () => ({ slot: share.slot, ...reloader.reload('cluster') }) satisfies WorkerReload);
  return async () => {
    const reloads = (await askOtherWorkers({ kind: 'reload' }, { first: false, timeoutMs: RELOAD_TIMEOUT_MS })) as WorkerReload[];
    return { asked: share.count - 1, reloads: reloads.sort((a, b) => a.slot - b.slot) };
  };
}
