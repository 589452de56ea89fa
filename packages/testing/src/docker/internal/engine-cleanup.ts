// Everything a private engine leaves on the machine, and how to take it away even
// after a SIGKILL: a killed dockerd leaves its containerd, the runc shims with
// their containers, docker-proxy processes holding published ports, mounts
// under its data root, and its bridge.
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { removeBridge } from './bridge.js';
import { descendantsOf, isProcessAlive, listProcesses, mountsUnder, run, signal, waitForExit } from './processes.js';

/** What the rig writes into a private engine's directory so that anyone can clean it up later. */
export const OWNER_FILE = 'owner';
export const BRIDGE_FILE = 'bridge';

/** Kills whatever is left of the engine in `dir` (dockerd included), unmounts, removes its bridge and the directory. */
export async function removeEngineRemains(dir: string, bridge: { name: string; subnetPrefix: string }, dockerdPid: number | undefined): Promise<void> {
  if (dockerdPid !== undefined && isProcessAlive(dockerdPid)) {
    signal(dockerdPid, 'SIGCONT');
    signal(dockerdPid, 'SIGKILL');
    await waitForExit(dockerdPid, 10_000);
  }
  await killLeftovers(dir, bridge.subnetPrefix);
  for (const point of mountsUnder(dir)) {
    try {
      await run('umount', ['-l', point]);
    } catch (error) {
      // A parent's lazy unmount may already have taken it away.
      if (mountsUnder(dir).includes(point)) throw error;
    }
  }
  await removeBridge(bridge.name);
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Kills the engine's processes that outlived dockerd: containerd and the shims
 * name `dir` in their arguments, and a shim's children are the containers;
 * docker-proxy names the container address it forwards to.
 */
async function killLeftovers(dir: string, subnetPrefix: string): Promise<void> {
  const all = listProcesses();
  const mine = all.filter(
    (entry) =>
      entry.pid !== process.pid &&
      (entry.commandLine.includes(`${dir}/`) || (/docker-proxy/.test(entry.commandLine) && entry.commandLine.includes(`-container-ip ${subnetPrefix}`))),
  );
  const pids = new Set<number>();
  // Containers first (a shim's children), so no shim restarts or reports them.
  for (const entry of mine) for (const child of descendantsOf(entry.pid, all)) pids.add(child);
  for (const entry of mine) pids.add(entry.pid);
  for (const pid of pids) signal(pid, 'SIGKILL');
  for (const pid of pids) {
    if (!(await waitForExit(pid, 10_000))) throw new Error(`pid ${pid} of the Docker engine in ${dir} survived SIGKILL for 10 s`);
  }
}

/**
 * Removes private engines whose test process died without stopping them
 * (a crashed or interrupted run): directories /tmp/bd-* whose owner pid is gone.
 */
export async function reapAbandonedEngines(): Promise<void> {
  let names: string[];
  try {
    names = readdirSync('/tmp').filter((name) => name.startsWith('bd-'));
  } catch {
    return;
  }
  for (const name of names) {
    const dir = join('/tmp', name);
    const owner = readNumber(join(dir, OWNER_FILE));
    if (owner === undefined || isProcessAlive(owner) || !existsSync(join(dir, BRIDGE_FILE))) continue;
    const bridgeName = readFileSync(join(dir, BRIDGE_FILE), 'utf8').trim();
    const byte = Number(bridgeName.replace(/^\D+/, ''));
    try {
      await removeEngineRemains(dir, { name: bridgeName, subnetPrefix: `172.31.${byte}.` }, readNumber(join(dir, 'docker.pid')));
    } catch {
      // Best effort: the next start tries again; it never blocks a new engine.
    }
  }
}

export function readNumber(file: string): number | undefined {
  try {
    const value = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(value) && value > 0 ? value : undefined;
  } catch {
    return undefined;
  }
}
