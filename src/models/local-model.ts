// One configured local model: its live session (loaded in the worker pool), the optional batcher, and
// reload: a new file is loaded beside the live one, swapped in, and the old session is disposed after
// its in-flight runs finish. A failed reload leaves the live session serving.
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { ProxyError } from '../http/errors.js';
import type { ModelConfig } from '../config/schema.js';
import { modelBatchSize, modelInferenceDuration, modelRejectedTotal } from '../metrics/registry.js';
import { Batcher } from './batcher.js';
import { readModelFile } from './model-file.js';
import type { Feeds } from './binding.js';
import type { ModelSignature, OutputTensor } from './codec.js';
import type { WorkerPool } from './worker-pool.js';
import type { RunOutput } from './worker-protocol.js';

interface Session {
  key: string;
  digest: string;
  signature: ModelSignature;
  /** Batching applies when every input's first dimension is dynamic. */
  batchable: boolean;
  batcher: Batcher | undefined;
  inFlight: number;
  retired: boolean;
}

let loadCount = 0;

export class LocalModel {
  #live: Session | undefined;
  #loading: Promise<boolean> | undefined;

  constructor(
    readonly name: string,
    readonly config: ModelConfig,
    private readonly pool: WorkerPool,
    private readonly onDisposeError: (error: unknown) => void,
  ) {}

  get path(): string {
    return resolve(this.config.path);
  }

  get ready(): boolean {
    return this.#live !== undefined;
  }

  get signature(): ModelSignature | undefined {
    return this.#live?.signature;
  }

  /**
   * Loads the file (again) and swaps it in. Resolves false when the file is unchanged since the live load;
   * rejects with the path and reason when the file cannot be read or loaded (the live session stays).
   */
  load(): Promise<boolean> {
    const previous = this.#loading ?? Promise.resolve(false);
    const next = previous.catch(() => false).then(() => this.#loadNow());
    this.#loading = next;
    return next;
  }

  async #loadNow(): Promise<boolean> {
    let bytes: Buffer;
    try {
      bytes = await readModelFile(this.path);
    } catch (error) {
      throw new Error(`model "${this.name}": cannot read ${this.path}: ${(error as Error).message}`, { cause: error });
    }
    const digest = createHash('sha256').update(bytes).digest('hex');
    if (this.#live?.digest === digest) return false;
    const key = `${this.name}#${++loadCount}`;
    let signature: ModelSignature;
    try {
      signature = await this.pool.load(key, new Uint8Array(bytes), this.config.intraOpThreads ?? 1);
    } catch (error) {
      this.pool.dispose(key).catch(this.onDisposeError);
      throw new Error(`model "${this.name}": cannot load ${this.path}: ${(error as Error).message}`, { cause: error });
    }
    const batchable = signature.inputs.length > 0 && signature.inputs.every((input) => input.shape.length > 0 && input.shape[0] === -1);
    const session: Session = { key, digest, signature, batchable, batcher: undefined, inFlight: 0, retired: false };
    if (this.config.batch && batchable) session.batcher = new Batcher(this.config.batch, (feeds, size) => this.#run(session, feeds, size));
    const old = this.#live;
    this.#live = session;
    if (old) this.#retire(old);
    return true;
  }

  /** Runs bound feeds on the live session (through the batcher when configured). */
  async infer(feeds: Feeds): Promise<{ outputs: Record<string, OutputTensor>; signature: ModelSignature }> {
    const session = this.#live;
    if (!session) throw new ProxyError('ABPROXY_MODEL_NOT_READY', `model "${this.name}" is not ready`);
    session.inFlight++;
    try {
      const rows = session.batcher ? commonRows(feeds) : undefined;
      const outputs = session.batcher && rows !== undefined ? await session.batcher.submit(feeds, rows) : (await this.#run(session, feeds, 1)).outputs;
      return { outputs, signature: session.signature };
    } finally {
      session.inFlight--;
      if (session.retired && session.inFlight === 0) this.#dispose(session);
    }
  }

  /** Disposes every session of this model (the model was removed from the config). */
  close(): void {
    const live = this.#live;
    this.#live = undefined;
    if (live) this.#retire(live);
  }

  async #run(session: Session, feeds: Feeds, batchSize: number): Promise<RunOutput> {
    let result: RunOutput;
    try {
      result = await this.pool.run(session.key, feeds);
    } catch (error) {
      if (error instanceof ProxyError && error.code === 'ABPROXY_MODEL_OVERLOADED') modelRejectedTotal.labels({ model: this.name }).inc();
      throw error;
    }
    modelInferenceDuration.labels({ model: this.name }).observe(result.runMs / 1000);
    modelBatchSize.labels({ model: this.name }).observe(batchSize);
    return result;
  }

  #retire(session: Session): void {
    session.retired = true;
    if (session.inFlight === 0) this.#dispose(session);
  }

  #dispose(session: Session): void {
    if (session.key === '') return;
    const key = session.key;
    session.key = '';
    this.pool.dispose(key).catch(this.onDisposeError);
  }
}

/** The shared first dimension of every feed, or undefined when they differ or a feed is a scalar. */
function commonRows(feeds: Feeds): number | undefined {
  let rows: number | undefined;
  for (const feed of Object.values(feeds)) {
    const first = feed.dims[0];
    if (first === undefined || (rows !== undefined && rows !== first)) return undefined;
    rows = first;
  }
  return rows;
}
