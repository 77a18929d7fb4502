// Opens a path only when it is a regular file: opened without blocking, then checked, so a FIFO, socket or
// device at the path is refused at once (opening or reading one could hold a thread, and with it a start or
// the process's exit, forever). Shared by model files and the shadow log.
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

/** The open file and its size; undefined, with nothing left open, when the path is not a regular file. */
export async function openRegularFile(path: string, flags: number): Promise<{ handle: FileHandle; size: number } | undefined> {
  const handle = await open(path, flags | constants.O_NONBLOCK);
  try {
    const stat = await handle.stat();
    if (stat.isFile()) return { handle, size: stat.size };
  } catch (error) {
    await handle.close();
    throw error;
  }
  await handle.close();
  return undefined;
}
