// Dynamic micro-batching for one model session: requests whose inputs share a dynamic first dimension
// are stacked into one run (up to maxSize requests, waiting at most maxDelayMs) and the outputs split
// back by rows. Requests that cannot be stacked with the first queued one run in their own batch.
import type { Feed, Feeds } from './binding.js';
import type { OutputTensor } from './codec.js';
import { allocate, type TensorData } from './datatypes.js';
import type { RunOutput } from './worker-protocol.js';

export interface BatchOptions {
  maxSize: number;
  maxDelayMs: number;
}

interface Item {
  feeds: Feeds;
  rows: number;
  shapeKey: string;
  resolve: (outputs: Record<string, OutputTensor>) => void;
  reject: (error: unknown) => void;
}

export class Batcher {
  #queue: Item[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: BatchOptions,
    private readonly run: (feeds: Feeds, batchSize: number) => Promise<RunOutput>,
  ) {}

  /** Queues feeds whose every input has `rows` as its first dimension. */
  submit(feeds: Feeds, rows: number): Promise<Record<string, OutputTensor>> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ feeds, rows, shapeKey: shapeKey(feeds), resolve, reject });
      if (this.#queue.length >= this.options.maxSize) this.#flush();
      else this.#timer ??= setTimeout(() => this.#flush(), this.options.maxDelayMs);
    });
  }

  #flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const queue = this.#queue;
    this.#queue = [];
    while (queue.length > 0) {
      const key = (queue[0] as Item).shapeKey;
      const batch = queue.filter((item) => item.shapeKey === key).slice(0, this.options.maxSize);
      for (const item of batch) queue.splice(queue.indexOf(item), 1);
      this.#runBatch(batch);
    }
  }

  #runBatch(batch: Item[]): void {
    const first = batch[0] as Item;
    if (batch.length === 1) {
      this.run(first.feeds, 1).then(
        (result) => first.resolve(result.outputs),
        (error: unknown) => first.reject(error),
      );
      return;
    }
    const totalRows = batch.reduce((n, item) => n + item.rows, 0);
    const stacked: Feeds = {};
    for (const name of Object.keys(first.feeds)) stacked[name] = stack(batch.map((item) => item.feeds[name] as Feed), totalRows);
    this.run(stacked, batch.length).then(
      (result) => {
        const splittable = Object.values(result.outputs).every((t) => t.dims[0] === totalRows);
        if (!splittable) {
          // The model's outputs do not follow the batch dimension: answer each request on its own.
          for (const item of batch) this.#runBatch([item]);
          return;
        }
        let offset = 0;
        for (const item of batch) {
          const outputs: Record<string, OutputTensor> = {};
          for (const [name, tensor] of Object.entries(result.outputs)) outputs[name] = sliceRows(tensor, totalRows, offset, item.rows);
          offset += item.rows;
          item.resolve(outputs);
        }
      },
      (error: unknown) => {
        for (const item of batch) item.reject(error);
      },
    );
  }
}

function shapeKey(feeds: Feeds): string {
  return Object.entries(feeds)
    .map(([name, feed]) => `${name}:${feed.type}:${feed.dims.slice(1).join('x')}`)
    .sort()
    .join('|');
}

function stack(feeds: Feed[], totalRows: number): Feed {
  const first = feeds[0] as Feed;
  const data = allocate(first.type, feeds.reduce((n, f) => n + f.data.length, 0));
  let offset = 0;
  for (const feed of feeds) {
    if (Array.isArray(data)) for (let i = 0; i < feed.data.length; i++) data[offset + i] = (feed.data as string[])[i] as string;
    else (data as Float32Array).set(feed.data as Float32Array, offset);
    offset += feed.data.length;
  }
  return { type: first.type, dims: [totalRows, ...first.dims.slice(1)], data };
}

function sliceRows(tensor: OutputTensor, totalRows: number, rowOffset: number, rows: number): OutputTensor {
  const rowSize = totalRows === 0 ? 0 : tensor.data.length / totalRows;
  const start = rowOffset * rowSize;
  const end = start + rows * rowSize;
  const data: TensorData = Array.isArray(tensor.data) ? tensor.data.slice(start, end) : (tensor.data.subarray(start, end) as TensorData);
  return { type: tensor.type, dims: [rows, ...tensor.dims.slice(1)], data };
}
