/**
 * Connections nginx's old balancer workers hold to each backend, from /proc.
 * A worker told to quit (a reload) closes its idle upstream connections at
 * once, so every connection it still has to a backend carries a request:
 * what the router has in flight there that the instance may not count yet
 * (a request being connected or sent).
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** ESTABLISHED and SYN_SENT in /proc/net/tcp's `st` column. */
const LIVE_STATES = new Set(['01', '02']);

/** An address as `new URL` writes a host (`127.0.0.1`, `[::1]`), so a backend's address and /proc's compare equal. */
export function canonicalHost(address: string): string {
  try {
    return new URL(`http://${address.includes(':') ? `[${address}]` : address}/`).hostname;
  } catch {
    return address;
  }
}

/** `0100007F:1F90` (IPv4) or 32 hex digits and a port (IPv6) of /proc/net/tcp, as `host:port`. */
export function procAddress(field: string): string | undefined {
  const [hex, portHex] = field.split(':');
  if (hex === undefined || portHex === undefined) return undefined;
  const port = parseInt(portHex, 16);
  // Each 32-bit word is in the host's byte order (little-endian on every Linux Baton runs on).
  const words = (hex.match(/.{8}/g) ?? []).map((word) => (word.match(/../g) ?? []).reverse().join(''));
  if (words.length === 1) return `${canonicalHost((words[0]?.match(/../g) ?? []).map((byte) => parseInt(byte, 16)).join('.'))}:${port}`;
  if (words.length !== 4) return undefined;
  const groups = words.join('').match(/.{4}/g) ?? [];
  return `${canonicalHost(groups.join(':'))}:${port}`;
}

function socketInodes(pid: number): Set<string> {
  const inodes = new Set<string>();
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return inodes;
  }
  for (const fd of fds) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match?.[1]) inodes.add(match[1]);
    } catch {
      // closed meanwhile
    }
  }
  return inodes;
}

/** Live TCP connections of `pids`, counted by remote `host:port` (canonical host). */
export function connectionsOf(pids: readonly number[]): Map<string, number> {
  const counts = new Map<string, number>();
  const first = pids[0];
  if (first === undefined) return counts;
  const inodes = new Set(pids.flatMap((pid) => [...socketInodes(pid)]));
  if (inodes.size === 0) return counts;
  for (const table of ['tcp', 'tcp6']) {
    let text: string;
    try {
      text = readFileSync(`/proc/${first}/net/${table}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const [remote, state, inode] = [fields[2], fields[3], fields[9]];
      if (remote === undefined || state === undefined || inode === undefined || !LIVE_STATES.has(state) || !inodes.has(inode)) continue;
      const key = procAddress(remote);
      if (key !== undefined) counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  return counts;
}
