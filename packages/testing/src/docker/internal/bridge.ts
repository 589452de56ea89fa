// A network bridge for a private engine. Its name and /24 come from one byte
// (baton-e<N>, 172.31.N.0/24), so `ip link add` failing with "File exists" is
// the reservation check between test files that start engines at once.
import { randomInt } from 'node:crypto';
import { run } from './processes.js';

/** A bridge reserved for one engine. */
export interface EngineBridge {
  /** The byte that names it: bridge `baton-e<N>`, subnet 172.31.N.0/24, loopback 127.0.0.N. */
  byte: number;
  name: string;
  /** The bridge's own address with its prefix (the engine's gateway). */
  cidr: string;
  /** The subnet's first three bytes with the trailing dot (`172.31.N.`): container addresses start with it. */
  subnetPrefix: string;
}

const BRIDGE_PREFIX = 'baton-e';

export function bridgeNamed(byte: number): EngineBridge {
  return { byte, name: `${BRIDGE_PREFIX}${byte}`, cidr: `172.31.${byte}.1/24`, subnetPrefix: `172.31.${byte}.` };
}

/** Creates a bridge on a free 172.31.N.0/24 (N in 2..254, not in any address, route or bridge on the machine) and brings it up. */
export async function reserveBridge(): Promise<EngineBridge> {
  for (let attempt = 0; attempt < 20; attempt += 1) {
    const taken = await takenBytes();
    const free: number[] = [];
    for (let byte = 2; byte <= 254; byte += 1) if (!taken.has(byte)) free.push(byte);
    if (free.length === 0) throw new Error('no free 172.31.N.0/24 left for a Docker engine bridge (every N in 2..254 is in use)');
    // A random pick keeps test files that start engines at the same moment apart.
    const bridge = bridgeNamed(free[randomInt(free.length)]!);
    try {
      await run('ip', ['link', 'add', 'name', bridge.name, 'type', 'bridge']);
    } catch (error) {
      if (/exists/i.test((error as Error).message)) continue;
      throw error;
    }
    try {
      await run('ip', ['addr', 'add', bridge.cidr, 'dev', bridge.name]);
      await run('ip', ['link', 'set', bridge.name, 'up']);
    } catch (error) {
      await removeBridge(bridge.name);
      throw error;
    }
    return bridge;
  }
  throw new Error('could not reserve a bridge for a Docker engine in 20 attempts (other engines kept taking the same subnets)');
}

/** Deletes a bridge; one that is already gone is fine. */
export async function removeBridge(name: string): Promise<void> {
  try {
    await run('ip', ['link', 'del', name]);
  } catch (error) {
    if (!/cannot find|does not exist/i.test((error as Error).message)) throw error;
  }
}

/** Whether a network link of this name exists. */
export async function linkExists(name: string): Promise<boolean> {
  try {
    await run('ip', ['link', 'show', name]);
    return true;
  } catch {
    return false;
  }
}

async function takenBytes(): Promise<Set<number>> {
  const [addresses, routes, links] = await Promise.all([run('ip', ['-4', 'addr']), run('ip', ['-4', 'route']), run('ip', ['-o', 'link'])]);
  const taken = new Set<number>();
  for (const match of `${addresses}\n${routes}`.matchAll(/\b172\.31\.(\d+)\./g)) taken.add(Number(match[1]));
  for (const match of links.matchAll(new RegExp(`\\b${BRIDGE_PREFIX}(\\d+)\\b`, 'g'))) taken.add(Number(match[1]));
  // 172.16.0.0/12 routes wider than a /24 (a 172.16/12 or 172.31/16 route) would swallow ours.
  if (/\b172\.(16\.0\.0\/12|31\.0\.0\/16)\b/.test(routes)) throw new Error(`a route covers all of 172.31.0.0/16; no private engine bridge can go there:\n${routes}`);
  return taken;
}
