// Watches the config file and calls onChange once per burst of changes. Catches in-place writes,
// a temp file renamed over the path, and the Kubernetes ConfigMap layout (the path is a symlink
// through `..data`, which is swapped atomically), by watching the directory rather than the inode,
// plus a slow stat poll as a backstop for filesystems without inotify. Never reads or parses the file.
import { watch, watchFile, unwatchFile, realpathSync, type FSWatcher, type Stats } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';

export interface WatchOptions {
  /** Quiet time after the last event before onChange runs. */
  debounceMs?: number;
  /** Longest delay of onChange during a continuous burst. */
  maxWaitMs?: number;
  /** Stat-poll interval as a backstop; 0 turns polling off. */
  pollMs?: number;
  /** Directory (inotify) watching; off leaves only the poll, for mounts whose events never arrive. */
  watchDirectories?: boolean;
  onError?: (error: Error) => void;
}

export interface ConfigWatcher {
  close(): void;
}

export function watchConfig(path: string, onChange: () => void, options: WatchOptions = {}): ConfigWatcher {
  const { debounceMs = 100, maxWaitMs = 500, pollMs = 2_000, watchDirectories = true, onError = () => undefined } = options;
  const file = resolve(path);
  let timer: NodeJS.Timeout | undefined;
  let burstStartedAt = 0;
  let closed = false;

  const fire = () => {
    timer = undefined;
    burstStartedAt = 0;
    if (closed) return;
    followRealPath();
    onChange();
  };
  const schedule = () => {
    if (closed) return;
    const now = Date.now();
    if (burstStartedAt === 0) burstStartedAt = now;
    clearTimeout(timer);
    timer = setTimeout(fire, Math.max(0, Math.min(debounceMs, burstStartedAt + maxWaitMs - now)));
  };

  /** Directory watcher that reacts to events naming `name` (or every event when `name` is undefined). */
  const watchDir = (dir: string, matches: (entry: string | null) => boolean): FSWatcher | undefined => {
    if (!watchDirectories) return undefined;
    try {
      const watcher = watch(dir, { persistent: false }, (_event, entry) => {
        if (matches(entry)) schedule();
      });
      watcher.on('error', (error) => {
        onError(error);
        schedule(); // e.g. a ConfigMap's old timestamped directory was deleted: re-resolve
      });
      return watcher;
    } catch (error) {
      onError(error as Error);
      return undefined;
    }
  };

  // The path's own directory: in-place writes and renames name the file; ConfigMap swaps name `..data`.
  const name = basename(file);
  const own = watchDir(dirname(file), (entry) => entry === null || entry === name || entry.startsWith('..'));

  // When the path is a symlink into another directory, in-place writes to the target show up there.
  let real: { dir: string; watcher: FSWatcher | undefined } | undefined;
  function followRealPath(): void {
    let target: string;
    try {
      target = realpathSync(file);
    } catch {
      return; // between unlink and rename: the next event re-resolves
    }
    const dir = dirname(target);
    if (dir === dirname(file) || dir === real?.dir) return;
    real?.watcher?.close();
    const targetName = basename(target);
    real = { dir, watcher: watchDir(dir, (entry) => entry === null || entry === targetName) };
  }
  followRealPath();

  const onStat = (current: Stats, previous: Stats) => {
    if (current.mtimeMs !== previous.mtimeMs || current.ino !== previous.ino || current.size !== previous.size) schedule();
  };
  if (pollMs > 0) watchFile(file, { interval: pollMs, persistent: false }, onStat);

  return {
    close() {
      closed = true;
      clearTimeout(timer);
      own?.close();
      real?.watcher?.close();
      if (pollMs > 0) unwatchFile(file, onStat);
    },
  };
}
