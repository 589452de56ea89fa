import { readFileSync } from 'node:fs';

const CLOCK_TICKS_PER_SECOND = 100;

/** A reading of machine-wide busy CPU time and of this process's own. */
export interface CpuReading {
  /** Busy time of all CPUs (user, nice, system, steal), in ms; NaN off Linux. */
  machineMs: number;
  /** This process's user + system time, in ms. */
  selfMs: number;
}

/** Reads the machine's and this process's CPU time now. */
export function readCpu(): CpuReading {
  const usage = process.cpuUsage();
  return { machineMs: machineBusyMs(), selfMs: (usage.user + usage.system) / 1000 };
}

/**
 * CPU time other processes used between two readings, in cores (1 = a whole
 * core busy all along): the machine's busy time minus ours and the server's.
 * Interrupt time is left out, since the loopback traffic itself makes it.
 */
export function foreignCores(before: CpuReading, after: CpuReading, serverMs: number, wallMs: number): number {
  const machine = after.machineMs - before.machineMs;
  const self = after.selfMs - before.selfMs;
  return Math.max(0, machine - self - serverMs) / wallMs;
}

function machineBusyMs(): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
    const [, user, nice, system, , , , , steal] = line.trim().split(/\s+/).map(Number);
    const ticks = (user ?? 0) + (nice ?? 0) + (system ?? 0) + (steal ?? 0);
    return (ticks * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}

/**
 * Waits until other processes leave the machine alone (under `limitCores`
 * over a `windowMs` window) or `maxMs` passes; resolves with the time waited.
 * Our own idle servers barely count: they are idle between samples.
 */
export async function waitForQuiet(limitCores: number, maxMs: number, windowMs = 250): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < maxMs) {
    const before = readCpu();
    const windowStart = performance.now();
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    const wallMs = performance.now() - windowStart;
    if (!(foreignCores(before, readCpu(), 0, wallMs) > limitCores)) break;
  }
  return performance.now() - started;
}
