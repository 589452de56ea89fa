import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Where Debian and source builds install daemons; often missing from a non-root PATH. */
export const SBIN_DIRS: readonly string[] = ['/usr/sbin', '/usr/local/sbin', '/sbin'];

/**
 * Where the executable `name` is: the first directory of `path` (a PATH
 * string) that holds it, then `extraDirs`; undefined when none does.
 */
export function findExecutable(name: string, path: string = process.env.PATH ?? '', extraDirs: readonly string[] = SBIN_DIRS): string | undefined {
  for (const dir of [...path.split(delimiter), ...extraDirs]) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** How a run of an executable ended: its exit code (null when it could not run or was killed) and its output. */
export interface ExecutableResult {
  code: number | null;
  /** stdout then stderr, trimmed. */
  output: string;
  /** Why it could not run or was stopped (ENOENT, the timeout...). */
  error?: NodeJS.ErrnoException;
}

/** Runs `binary args` and never rejects: the exit code and the output say what happened. */
export function runExecutable(binary: string, args: readonly string[], timeoutMs: number): Promise<ExecutableResult> {
  return new Promise((resolve) => {
    execFile(binary, args, { timeout: timeoutMs, maxBuffer: 1 << 20 }, (error, stdout, stderr) => {
      const output = `${stdout}${stderr}`.trim();
      if (!error) return resolve({ code: 0, output });
      const errno = error as NodeJS.ErrnoException & { code?: number | string };
      if (typeof errno.code === 'number') return resolve({ code: errno.code, output });
      resolve({ code: null, output, error: errno });
    });
  });
}
