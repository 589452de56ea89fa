import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { isProcessAlive } from './process-identity.js';
import { childrenOf, waitForExit } from './process-tree.js';

let parent: ChildProcess | undefined;

afterEach(() => {
  // The shell's group: the shell and its sleeping child.
  if (parent?.pid !== undefined && parent.exitCode === null) process.kill(-parent.pid, 'SIGKILL');
  parent = undefined;
});

/** A shell with one child of its own that prints the child's pid. */
async function shellWithChild(): Promise<{ shell: number; child: number }> {
  parent = spawn('sh', ['-c', 'sleep 30 & echo $!; wait'], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
  const [line] = (await once(parent.stdout!, 'data')) as [Buffer];
  return { shell: parent.pid!, child: Number(line.toString().trim()) };
}

describe.skipIf(process.platform !== 'linux')('process tree (/proc)', () => {
  it('childrenOf lists a process’s children; a pid without any, or gone, has none', async () => {
    const { shell, child } = await shellWithChild();
    expect(childrenOf(shell)).toEqual([child]);
    expect(childrenOf(child)).toEqual([]);
    expect(childrenOf(2 ** 22 + 1)).toEqual([]);
  });

  it('waitForExit resolves false while the process runs and true once it is gone', async () => {
    const { child } = await shellWithChild();
    expect(await waitForExit(child, 50)).toBe(false);
    process.kill(child, 'SIGTERM');
    expect(await waitForExit(child, 10_000)).toBe(true);
    expect(isProcessAlive(child)).toBe(false);
  });
});
