// The throwaway PostgreSQL is reachable by every local user (loopback TCP), and a superuser can
// run programs on the machine: it must let in only whoever holds the URL it returned.
import { readdirSync, readlinkSync, readFileSync, statSync } from 'node:fs';
import { userInfo } from 'node:os';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startThrowawayPostgres, type ThrowawayPostgres } from './throwaway-postgres.js';

let first: ThrowawayPostgres;
let second: ThrowawayPostgres;

beforeAll(async () => {
  first = await startThrowawayPostgres();
  try {
    second = await startThrowawayPostgres();
  } catch (error) {
    await first.stop();
    throw error;
  }
}, 120_000);

afterAll(async () => {
  await Promise.all([first?.stop(), second?.stop()]);
});

async function connects(config: pg.ClientConfig): Promise<true | string> {
  const client = new pg.Client({ ...config, connectionTimeoutMillis: 10_000 });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch (error) {
    return (error as Error).message;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The pid of the postmaster whose data directory is `data` (read from /proc: the server's own view). */
function postmasterOf(data: string): number {
  for (const name of readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
    try {
      const args = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
      if (args[0]?.endsWith('/postgres') && args.includes('-D') && args[args.indexOf('-D') + 1] === data) return Number(name);
    } catch {
      // Gone meanwhile.
    }
  }
  throw new Error(`no postgres process serves ${data}`);
}

describe('startThrowawayPostgres', () => {
  it('lets in the URL it returned, and refuses a connection without the password or with a wrong one', async () => {
    expect(await connects({ connectionString: first.url })).toBe(true);
    expect(new URL(first.url).password).toMatch(/^[0-9a-f]{48}$/);
    const noPassword = await connects({ host: '127.0.0.1', port: first.port, user: 'postgres', database: 'postgres' });
    expect(noPassword).not.toBe(true);
    const wrong = await connects({ host: '127.0.0.1', port: first.port, user: 'postgres', password: 'postgres', database: 'postgres' });
    expect(wrong).toMatch(/password authentication failed/);
    // The unix socket asks for the password too (and sits in a directory no other user can enter).
    const socket = await connects({ host: first.dir, port: first.port, user: 'postgres', database: 'postgres' });
    expect(socket).not.toBe(true);
  });

  it('keeps binaries, data and socket in a fresh private directory of its own', () => {
    expect(first.dir).not.toBe(second.dir);
    expect(first.url).not.toBe(second.url);
    for (const server of [first, second]) {
      const stat = statSync(server.dir);
      // No access for group or others; as root, owned by the user PostgreSQL runs as.
      expect(stat.mode & 0o077).toBe(0);
      if (userInfo().uid === 0) expect(stat.uid).not.toBe(0);
      const pid = postmasterOf(`${server.dir}/data`);
      if (userInfo().uid === 0) {
        // The running binary is the server's own copy, not one in a shared place another user could have prepared.
        expect(readlinkSync(`/proc/${pid}/exe`).startsWith(`${server.dir}/`)).toBe(true);
      }
    }
  });

  it('removes its directory when stopped', async () => {
    const third = await startThrowawayPostgres();
    await third.stop();
    expect(() => statSync(third.dir)).toThrow(/ENOENT/);
  }, 60_000);
});
