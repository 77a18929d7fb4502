// `abproxy serve --workers N` in the primary process: validates the config (so a bad file fails once, not in
// every worker), resolves the worker count and runs the primary until every worker has stopped.
import { ConfigError, loadConfigFile } from '../config/load.js';
import { createLogger } from '../log/logger.js';
import { runPrimary } from './primary.js';
import { resolveWorkerCount } from './worker-count.js';

/** Resolves with the exit code of the whole cluster. */
export async function serveCluster(configPath: string, workers: string, drainMs: number): Promise<number> {
  let count: number;
  let log: { level: string; maxBufferBytes: number };
  try {
    count = resolveWorkerCount(workers);
    log = loadConfigFile(configPath).config.log;
  } catch (error) {
    process.stderr.write(`abproxy: ${error instanceof ConfigError ? error.message : (error as Error).message}\n`);
    return 1;
  }
  const logger = createLogger(log.level, log.maxBufferBytes).child({ role: 'primary' });
  logger.info({ workers: count, pid: process.pid }, 'starting workers');
  return runPrimary({ workers: count, drainMs, logger });
}
