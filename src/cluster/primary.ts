// The cluster primary of `abproxy serve --workers N`: forks N workers that share the listen sockets, replaces
// a worker that dies (with bounded backoff), forwards SIGHUP/SIGTERM/SIGINT, answers the admin worker's
// requests for metrics aggregated over every worker, and relays the workers' questions to each other
// (fanout.ts). Never serves traffic or loads models itself.
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from '../log/logger.js';
import { MetricsGatherer } from './aggregate.js';
import { FanoutRelay } from './fanout.js';
import { COUNT_ENV, FANOUT_ANSWER, FANOUT_ASK, isClusterMessage, METRICS_PART, METRICS_REPLY, METRICS_REQUEST, SLOT_ENV, WORKER_READY, type MetricsReply } from './messages.js';
import { clusterWorkerRestarts, clusterWorkers, clusterWorkersConfigured } from './primary-metrics.js';
import { resolveWorkerCount } from './worker-count.js';
import { workerExecArgv } from './worker-flags.js';

export interface PrimaryOptions {
  workers: number;
  drainMs: number;
  logger: Logger;
  /** Longest wait for every worker's metrics in one aggregated scrape. */
  scrapeTimeoutMs?: number;
  /** Longest pause before replacing a worker that keeps crashing. */
  maxRestartDelayMs?: number;
}

/** Starts the workers and resolves with the process exit code once they have all stopped. */
export function runPrimary(options: PrimaryOptions): Promise<number> {
  const { logger, workers: count } = options;
  const maxRestartDelayMs = options.maxRestartDelayMs ?? 5_000;
  const gatherer = new MetricsGatherer(options.scrapeTimeoutMs ?? 3_000);
  const fanout = new FanoutRelay();
  const slotOf = new Map<number, number>();
  const ready = new Map<number, Worker>();
  const recentCrashes: number[] = [];
  let startedUp = false;
  let stopping = false;
  let exitCode = 0;
  let killTimer: NodeJS.Timeout | undefined;
  clusterWorkersConfigured.set(count);
  cluster.setupPrimary({ execArgv: workerExecArgv(process.execArgv, count, resolveWorkerCount('auto')) });

  return new Promise<number>((resolve) => {
    const fork = (slot: number) => {
      const worker = cluster.fork({ [SLOT_ENV]: String(slot), [COUNT_ENV]: String(count) });
      slotOf.set(worker.id, slot);
      worker.on('error', (error: Error) => logger.warn({ err: error, slot }, 'worker channel error'));
    };

    cluster.on('message', (worker: Worker, message: unknown) => {
      if (!isClusterMessage(message)) return;
      if (message.type === WORKER_READY) {
        ready.set(worker.id, worker);
        clusterWorkers.set(ready.size);
        const admin = message.slot === 0 ? 'shared' : 'private';
        logger.info({ slot: message.slot, pid: worker.process.pid, dataPort: message.dataPort, adminPort: message.adminPort, admin }, 'worker listening');
        if (!startedUp && ready.size === count) {
          startedUp = true;
          logger.info({ workers: count, dataPort: message.dataPort }, 'all workers listening');
        }
      } else if (message.type === METRICS_PART) {
        gatherer.onPart(worker, message);
      } else if (message.type === FANOUT_ASK) {
        fanout.onAsk(worker, message, [...ready.values()]);
      } else if (message.type === FANOUT_ANSWER) {
        fanout.onAnswer(worker, message);
      } else if (message.type === METRICS_REQUEST) {
        const reply = (fields: Omit<MetricsReply, 'type' | 'id'>) => {
          if (worker.isConnected()) worker.send({ type: METRICS_REPLY, id: message.id, ...fields } satisfies MetricsReply);
        };
        gatherer
          .gather([...ready.values()])
          .then(async (merged) => (message.format === 'json' ? { metrics: await merged.getMetricsAsJSON() } : { text: await merged.metrics() }))
          .then(reply, (error: unknown) => reply({ error: (error as Error).message }));
      }
    });

    cluster.on('exit', (worker: Worker, code: number | null, signal: string | null) => {
      const slot = slotOf.get(worker.id) ?? 0;
      slotOf.delete(worker.id);
      ready.delete(worker.id);
      clusterWorkers.set(ready.size);
      gatherer.forget(worker.id);
      fanout.forget(worker.id);
      if (stopping) {
        // A worker stopped by our SIGTERM before it installed its drain handler had nothing in flight.
        if (code !== 0 && signal !== 'SIGTERM') exitCode = 1;
        if (slotOf.size === 0) {
          clearTimeout(killTimer);
          resolve(exitCode);
        }
        return;
      }
      if (!startedUp) {
        logger.error({ slot, code, signal }, 'worker failed to start; stopping');
        exitCode = 1;
        stop('worker-startup-failure');
        if (slotOf.size === 0) resolve(exitCode);
        return;
      }
      const now = Date.now();
      recentCrashes.push(now);
      while (recentCrashes.length > 0 && (recentCrashes[0] ?? now) < now - 30_000) recentCrashes.shift();
      const delayMs = Math.min(maxRestartDelayMs, 50 * 2 ** (recentCrashes.length - 1));
      clusterWorkerRestarts.inc();
      logger.error({ slot, pid: worker.process.pid, code, signal, restartInMs: delayMs }, 'worker exited; replacing it');
      setTimeout(() => {
        if (!stopping) fork(slot);
      }, delayMs).unref();
    });

    function stop(reason: string): void {
      if (stopping) return;
      stopping = true;
      logger.info({ reason, workers: slotOf.size }, 'stopping workers');
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
      // Workers drain for up to drainMs; anything still alive after that (plus slack) is killed.
      killTimer = setTimeout(() => {
        exitCode = 1;
        for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGKILL');
      }, options.drainMs + 5_000);
    }

    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    // Only listening workers get SIGHUP: one still starting reads the newest file anyway, and before its
    // handler is installed the signal's default action would kill it.
    process.on('SIGHUP', () => {
      logger.info({ workers: ready.size }, 'forwarding SIGHUP to workers');
      for (const worker of ready.values()) worker.process.kill('SIGHUP');
    });

    for (let slot = 0; slot < count; slot++) fork(slot);
  });
}
