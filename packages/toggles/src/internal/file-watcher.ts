import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';

/** Waits this long after the last change event, so one save (often several events) is read once. */
const SETTLE_MS = 50;

/**
 * Calls `onChange` when `path` may have changed. Watches the directory, not
 * the file: editors and Kubernetes ConfigMaps replace a file by renaming a
 * new one over it, which a watch on the old file's inode never sees.
 */
export function watchFile(path: string, onChange: () => void, onError: (error: Error) => void): () => void {
  const name = basename(path);
  let timer: NodeJS.Timeout | undefined;
  let watcher: FSWatcher;
  try {
    watcher = watch(dirname(path), { persistent: false }, (_event, changed) => {
      // Some platforms give no name; ConfigMaps swap a `..data` symlink: re-read on those too.
      if (changed !== null && changed !== name && !changed.startsWith('..')) return;
      clearTimeout(timer);
      timer = setTimeout(onChange, SETTLE_MS);
      timer.unref();
    });
  } catch (error) {
    onError(error as Error);
    return () => {};
  }
  watcher.on('error', onError);
  return () => {
    clearTimeout(timer);
    watcher.close();
  };
}
