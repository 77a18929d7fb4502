// Creates the shadow log's directory and its missing parents. Node's recursive mkdir never returns on a file
// system that answers ENOENT for a child of a directory that exists (procfs: a log at /proc/x/shadow.jsonl
// spun a thread-pool thread forever, and the worker could then never exit); this walk tries each level at most twice.
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';

export async function makeDirectory(path: string): Promise<void> {
  try {
    await mkdir(path);
    return;
  } catch (error) {
    const { code } = error as NodeJS.ErrnoException;
    if (code === 'EEXIST') return;
    if (code !== 'ENOENT' || dirname(path) === path) throw error;
  }
  await makeDirectory(dirname(path));
  // With the parent in place, ENOENT again is final.
  await mkdir(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
  });
}
