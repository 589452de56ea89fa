import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';

/** Options of {@link applyMigrations}. */
export interface ApplyMigrationsOptions {
  /** The database. */
  connectionString: string;
  /** A folder of `NNNN_name.sql` files, applied in name order. */
  dir: string;
  /** Gives up waiting for another instance's migration run after this long. Default 60000. */
  lockTimeoutMs?: number;
}

/** What {@link applyMigrations} did. */
export interface MigrationRun {
  /** Files applied now. */
  applied: string[];
  /** Files another instance (or an earlier start) had applied already. */
  skipped: string[];
}

/** Any 64-bit number works as long as every instance uses the same: the text "baton-orders-migrations" hashed, truncated. */
const LOCK_KEY = '7311832715938446152';

/**
 * Applies the `.sql` files of `dir` that the database has not seen yet, each
 * in a transaction of its own, recording each in `schema_migrations` (file
 * name, SHA-256, when).
 *
 * Every instance of every release calls this at startup, so it is safe to
 * run concurrently: a session-level advisory lock lets one instance apply
 * while the others wait, then find nothing left to do. A release finding
 * files in `schema_migrations` that it does not have is fine — that is a
 * newer release's expand migration, and the whole point of expand/contract
 * is that the older release keeps working on it. A file whose content
 * changed after it was applied is refused: the database no longer matches
 * the folder, and no one should guess which is right.
 *
 * Each file runs the way `@baton/migrations` assumes (`transaction:
 * 'per-file'`); a file marked `-- baton:no-transaction` (e.g. for `CREATE
 * INDEX CONCURRENTLY`) is refused by this small runner: use a migration tool
 * that splits statements for those.
 */
export async function applyMigrations(options: ApplyMigrationsOptions): Promise<MigrationRun> {
  const lockTimeoutMs = options.lockTimeoutMs ?? 60_000;
  const files = (await readdir(options.dir)).filter((name) => name.endsWith('.sql') && !name.endsWith('.down.sql')).sort(byNumber);
  const sources = await Promise.all(files.map(async (file) => ({ file, sql: await readFile(join(options.dir, file), 'utf8') })));
  for (const { file, sql } of sources) {
    if (/^\s*--\s*baton:no-transaction\b/m.test(sql)) throw new Error(`migrations: ${file} asks to run without a transaction, which this runner does not do.`);
  }
  const client = new pg.Client({ connectionString: options.connectionString, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    await client.query(`SET lock_timeout = ${lockTimeoutMs}`);
    await client.query('SELECT pg_advisory_lock($1)', [LOCK_KEY]);
    await client.query('RESET lock_timeout');
    try {
      await client.query(
        'CREATE TABLE IF NOT EXISTS schema_migrations (file text PRIMARY KEY, sha256 text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())',
      );
      const done = new Map((await client.query<{ file: string; sha256: string }>('SELECT file, sha256 FROM schema_migrations')).rows.map((row) => [row.file, row.sha256]));
      const run: MigrationRun = { applied: [], skipped: [] };
      for (const { file, sql } of sources) {
        const sha256 = createHash('sha256').update(sql).digest('hex');
        const seen = done.get(file);
        if (seen !== undefined) {
          if (seen !== sha256) throw new Error(`migrations: ${file} changed after it was applied (sha256 ${seen.slice(0, 12)}… in schema_migrations, ${sha256.slice(0, 12)}… on disk); add a new migration instead of editing an applied one.`);
          run.skipped.push(file);
          continue;
        }
        await client.query('BEGIN');
        try {
          await client.query(sql);
          await client.query('INSERT INTO schema_migrations (file, sha256) VALUES ($1, $2)', [file, sha256]);
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw new Error(`migrations: ${file} failed: ${(error as Error).message}`, { cause: error });
        }
        run.applied.push(file);
      }
      return run;
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY]).catch(() => undefined);
    }
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Names in order with numbers compared as numbers (`2_x.sql` before `10_y.sql`), as `@baton/migrations` reads a folder. */
function byNumber(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}
