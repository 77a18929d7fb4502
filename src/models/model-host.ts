// The local models of the running process: creates the worker pool, loads every configured model,
// follows config reloads (adds, removes, reloads changed entries) and watches model files for changes.
// A model that fails to load at start fails the start; a failed reload leaves the old session serving.
import { watch, type FSWatcher } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, dirname } from 'node:path';
import type { Config, ModelConfig } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import { modelReloadsTotal } from '../metrics/registry.js';
import { LocalModel } from './local-model.js';
import { WorkerPool } from './worker-pool.js';

/** Quiet time after a file event before reloading, so a file being written is read once, complete. */
const SETTLE_MS = 150;

export class ModelHost {
  readonly #models = new Map<string, LocalModel>();
  readonly #watchers = new Map<string, FSWatcher>();
  readonly #timers = new Map<string, NodeJS.Timeout>();
  #pool: WorkerPool | undefined;
  #closed = false;

  constructor(
    private readonly poolConfig: Config['modelPool'],
    private readonly logger: Logger,
  ) {}

  get(name: string): LocalModel | undefined {
    return this.#models.get(name);
  }

  names(): string[] {
    return [...this.#models.keys()];
  }

  /** Names of models that are not ready yet (empty when all are). */
  notReady(): string[] {
    return [...this.#models.values()].filter((m) => !m.ready).map((m) => m.name);
  }

  /** Loads every model of the first config; rejects naming the model, path and reason of the first failure. */
  async start(models: Config['models']): Promise<void> {
    const added = Object.entries(models).map(([name, config]) => this.#add(name, config));
    await Promise.all(added.map((model) => model.load()));
  }

  /** Follows a config reload: removed models are disposed, new or changed ones loaded (old ones keep serving on failure). */
  apply(models: Config['models']): void {
    for (const [name, model] of this.#models) {
      if (!(name in models)) this.#remove(name, model);
    }
    for (const [name, config] of Object.entries(models)) {
      const existing = this.#models.get(name);
      if (existing && sameConfig(existing.config, config)) continue;
      if (!existing) {
        this.#reload(this.#add(name, config), 'added');
        continue;
      }
      // Changed path or options: load the new entry beside the old one, swap only when it is ready.
      const replacement = new LocalModel(name, config, this.#ensurePool(), this.#disposeFailed);
      replacement.load().then(
        () => {
          if (this.#models.get(name) !== existing || this.#closed) return replacement.close();
          this.#unwatch(existing);
          this.#models.set(name, replacement);
          this.#watch(replacement);
          existing.close();
          modelReloadsTotal.labels({ model: name, result: 'success' }).inc();
        },
        (error: unknown) => {
          modelReloadsTotal.labels({ model: name, result: 'failed' }).inc();
          this.logger.error({ err: error, model: name }, 'model reload failed; the previous model keeps serving');
        },
      );
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const timer of this.#timers.values()) clearTimeout(timer);
    for (const watcher of this.#watchers.values()) watcher.close();
    this.#watchers.clear();
    await this.#pool?.close();
  }

  #add(name: string, config: ModelConfig): LocalModel {
    const model = new LocalModel(name, config, this.#ensurePool(), this.#disposeFailed);
    this.#models.set(name, model);
    this.#watch(model);
    return model;
  }

  #remove(name: string, model: LocalModel): void {
    this.#unwatch(model);
    this.#models.delete(name);
    model.close();
  }

  #reload(model: LocalModel, why: string): void {
    model.load().then(
      (changed) => {
        if (changed) modelReloadsTotal.labels({ model: model.name, result: 'success' }).inc();
        if (changed) this.logger.info({ model: model.name, path: model.path, why }, 'model loaded');
      },
      (error: unknown) => {
        modelReloadsTotal.labels({ model: model.name, result: 'failed' }).inc();
        this.logger.error({ err: error, model: model.name }, 'model reload failed; the previous model keeps serving');
      },
    );
  }

  /** Watches the model's directory (a file replaced by rename is still seen) and reloads after it settles. */
  #watch(model: LocalModel): void {
    const file = basename(model.path);
    let watcher: FSWatcher;
    try {
      watcher = watch(dirname(model.path), { persistent: false });
    } catch (error) {
      this.logger.warn({ err: error, model: model.name }, 'cannot watch the model file; changes need a restart');
      return;
    }
    watcher.on('error', (error) => this.logger.warn({ err: error, model: model.name }, 'model file watch failed'));
    watcher.on('change', (_event, changed) => {
      if (changed !== null && changed.toString() !== file) return;
      clearTimeout(this.#timers.get(model.name));
      this.#timers.set(
        model.name,
        setTimeout(() => {
          this.#timers.delete(model.name);
          if (!this.#closed && this.#models.get(model.name) === model) this.#reload(model, 'file changed');
        }, SETTLE_MS),
      );
    });
    this.#watchers.set(model.name, watcher);
  }

  #unwatch(model: LocalModel): void {
    this.#watchers.get(model.name)?.close();
    this.#watchers.delete(model.name);
    clearTimeout(this.#timers.get(model.name));
  }

  #ensurePool(): WorkerPool {
    this.#pool ??= new WorkerPool({
      workers: this.poolConfig.workers ?? Math.min(2, availableParallelism()),
      maxQueued: this.poolConfig.maxQueued,
      onWorkerError: (error) => this.logger.error({ err: error }, 'model worker failed'),
    });
    return this.#pool;
  }

  readonly #disposeFailed = (error: unknown): void => {
    this.logger.warn({ err: error }, 'disposing a model session failed');
  };
}

function sameConfig(a: ModelConfig, b: ModelConfig): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
