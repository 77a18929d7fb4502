// Reads a model file's bytes. Only a regular file is read: a FIFO, socket or device at the path is
// refused at once (opened without blocking, then checked), since reading one could hold a thread, and
// with it the start and the process's exit, forever.
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';

export async function readModelFile(path: string): Promise<Buffer> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    if (!(await handle.stat()).isFile()) throw new Error('not a regular file');
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}
