// What a bench part records of how it was run: the commit measured and the command that ran it.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The commit measured; "plus uncommitted changes" when any of `paths` (the code the part runs) had some. */
export function gitCommit(paths: readonly string[]): string {
  try {
    const root = fileURLToPath(new URL('../..', import.meta.url));
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', cwd: root }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', ...paths], { encoding: 'utf8', cwd: root })
      .split('\n')
      .some((line) => line.trim() !== '');
    return `commit ${head}${dirty ? ' plus uncommitted changes' : ''}`;
  } catch {
    return 'unknown commit (not a git checkout)';
  }
}

/** The command line as a user would type it again: the part's `envPrefix*` variables (and BENCH_SKIP), then its pnpm script or the node command. */
export function commandLine(envPrefix: string, script: string, distFile: string): string {
  const env = Object.entries(process.env)
    .filter(([key]) => key.startsWith(envPrefix) || key === 'BENCH_SKIP')
    .map(([key, value]) => `${key}=${value}`);
  const event = process.env.npm_lifecycle_event;
  return [...env, event === script ? `pnpm ${event}` : `node ${distFile}`].join(' ');
}
