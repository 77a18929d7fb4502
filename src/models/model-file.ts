// Reads a model file's bytes, from a regular file only (files/regular-file.ts): a FIFO, socket or device at
// the path is refused at once instead of holding the start.
import { constants } from 'node:fs';
import { openRegularFile } from '../files/regular-file.js';

export async function readModelFile(path: string): Promise<Buffer> {
  const file = await openRegularFile(path, constants.O_RDONLY);
  if (!file) throw new Error('not a regular file');
  try {
    return await file.handle.readFile();
  } finally {
    await file.handle.close();
  }
}
