import { execFile } from 'node:child_process';
import { userInfo, hostname } from 'node:os';
import { isAbsolute, relative } from 'node:path';

/**
 * The commit a release is built from: `git rev-parse HEAD` in `dir` when it
 * is a git checkout (with `dirty` when `git status --porcelain` lists
 * anything but Baton's own state directory, which may well live in the
 * checkout), else `BATON_SOURCE_REVISION` from `env` (a CI build from an
 * archive sets it), else undefined. Never fails a release: a missing git, a
 * directory outside any checkout or a repository without commits are "unknown".
 */
export async function sourceRevisionOf(dir: string, env: Readonly<Record<string, string | undefined>>, stateDir?: string): Promise<{ revision: string; dirty?: boolean } | undefined> {
  const head = await git(['rev-parse', '--verify', 'HEAD'], dir);
  if (head !== undefined && /^[0-9a-f]{40,64}$/.test(head.trim())) {
    const inside = stateDir === undefined ? undefined : relative(dir, stateDir);
    const exclude = inside === undefined || inside === '' || inside.startsWith('..') || isAbsolute(inside) ? [] : [`:(exclude)${inside}`];
    const status = await git(['status', '--porcelain', '--', '.', ...exclude], dir);
    return status === undefined ? { revision: head.trim() } : { revision: head.trim(), dirty: status.trim() !== '' };
  }
  const given = env['BATON_SOURCE_REVISION']?.trim();
  return given === undefined || given === '' ? undefined : { revision: given };
}

function git(args: readonly string[], cwd: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    // GIT_OPTIONAL_LOCKS=0: `git status` must not take the index lock of a checkout someone works in.
    execFile('git', [...args], { cwd, timeout: 10_000, env: { ...process.env, GIT_OPTIONAL_LOCKS: '0', LC_ALL: 'C' }, maxBuffer: 16 * 1024 * 1024 }, (error, stdout) => {
      resolve(error ? undefined : stdout);
    });
  });
}

/** Who creates a release: the OS user and this machine's name (unknown ones say so). */
export function releaseCreator(env: Readonly<Record<string, string | undefined>>): { user: string; host: string } {
  let user: string | undefined;
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry for this uid (a container run with --user 1234).
    user = env['USER'] ?? env['LOGNAME'];
  }
  return { user: user ?? 'unknown', host: hostname() || 'unknown' };
}
