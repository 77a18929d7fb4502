// Starts a worker thread from a module beside the caller: the compiled .js in dist/, or, when the caller
// itself runs as TypeScript source under tsx (tests, tools), the .ts source through tsx's loader.
import { Worker, type WorkerOptions } from 'node:worker_threads';

/** `name` is the module's file name without extension; `callerUrl` is the caller's import.meta.url. */
export function startWorker(name: string, callerUrl: string, options: WorkerOptions = {}): Worker {
  if (callerUrl.endsWith('.ts')) {
    const source = new URL(`./${name}.ts`, callerUrl).href;
    const loader = import.meta.resolve('tsx/esm/api');
    return new Worker(`import(${JSON.stringify(loader)}).then((api) => { api.register(); return import(${JSON.stringify(source)}); })`, { ...options, eval: true });
  }
  return new Worker(new URL(`./${name}.js`, callerUrl), options);
}
