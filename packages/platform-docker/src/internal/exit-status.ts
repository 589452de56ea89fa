import { constants } from 'node:os';
import type { InstanceExit } from '@baton/deploy';

const SIGNAL_NAMES = new Map(Object.entries(constants.signals).map(([name, number]) => [number, name]));

/**
 * How a container ended, in the terms of a process: the engine reports a
 * main process killed by signal N as exit code 128 + N (the shell's
 * convention, which Docker keeps), so 137 is `SIGKILL` and 143 `SIGTERM`.
 * A process that calls exit(137) itself cannot be told apart; the kernel's
 * OOM killer is always `SIGKILL`.
 */
export function exitOf(code: number | null, oomKilled: boolean | undefined): InstanceExit {
  const atMs = Date.now();
  if (oomKilled === true) return { code: null, signal: 'SIGKILL', atMs };
  if (code !== null && code > 128 && code < 128 + 65) {
    const signal = SIGNAL_NAMES.get(code - 128);
    if (signal !== undefined) return { code: null, signal, atMs };
  }
  return { code, signal: null, atMs };
}
