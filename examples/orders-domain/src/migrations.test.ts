// The service's migrations under @baton/migrations: the folder the service applies at startup,
// and the next releases' expand and contract migrations (migrations-next/), statically and
// against a real PostgreSQL with release v1's own queries (queries/v1.sql).
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { checkCompatibility, checkMigrations, readQueriesFile, runMigrationsCommand, type CheckResult } from '@baton/migrations';
import { describe, expect, it } from 'vitest';

/** The repository's root: the README's commands run from there. */
const REPO = fileURLToPath(new URL('../../..', import.meta.url));
const at = (path: string): string => fileURLToPath(new URL(`../${path}`, import.meta.url));
const source = async (path: string) => ({ file: path, sql: await readFile(at(path), 'utf8') });

function summary(result: CheckResult): Record<string, string> {
  return Object.fromEntries(result.files.map((file) => [file.file.split('/').pop(), `${file.classification}${file.findings.filter((f) => !f.ignored).map((f) => ` ${f.rule}`).join('')}`]));
}

/** `baton migrations ...` as the README types it at the repository's root: exit code and output. */
async function baton(...argv: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const write = (chunk: string): boolean => ((out += chunk), true);
  const code = await runMigrationsCommand(argv, { stdout: { write }, stderr: { write }, cwd: REPO, env: process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {} });
  return { code, out };
}

describe('the orders service’s migrations', () => {
  it('the folder the service applies (migrations/) passes the check: 0001 creates the schema', async () => {
    const result = await checkMigrations({ dir: at('migrations') });
    expect(result.ok, JSON.stringify(result.files, null, 2)).toBe(true);
    expect([result.errors, result.warnings]).toEqual([0, 0]);
    expect(summary(result)).toEqual({ '0001_orders.sql': 'expand' });
  });

  it('release v2’s expand (a new nullable column) passes whatever runs; release v3’s contract is refused while v1 runs and accepted once it is gone', async () => {
    const expand = await checkMigrations({ dir: at('migrations-next/v2'), deployedReleases: ['v1'] });
    expect(expand.ok).toBe(true);
    expect(summary(expand)).toEqual({ '0002_order_note.sql': 'expand' });

    const whileV1Runs = await checkMigrations({ dir: at('migrations-next/v3'), deployedReleases: ['v1', 'v2'] });
    expect(whileV1Runs.ok).toBe(false);
    expect(summary(whileV1Runs)).toEqual({ '0003_drop_order_status.sql': 'unsafe contract-too-early' });
    expect(whileV1Runs.files[0]?.findings[0]?.message).toMatch(/v1 is still deployed/);

    const afterV1 = await checkMigrations({ dir: at('migrations-next/v3'), deployedReleases: ['v2'] });
    expect(afterV1.ok).toBe(true);
    expect(summary(afterV1)).toEqual({ '0003_drop_order_status.sql': 'contract' });

    // Without the deployed releases the timing cannot be verified: a warning, not a pass in silence.
    const unknown = await checkMigrations({ dir: at('migrations-next/v3') });
    expect(summary(unknown)).toEqual({ '0003_drop_order_status.sql': 'contract contract-unverified' });
  });

  it('the same through the CLI, as the README shows it (the real-database part too)', async () => {
    const d = 'examples/orders-domain';
    expect(await baton('check', `${d}/migrations`)).toMatchObject({ code: 0 });
    const expand = await baton('check', `${d}/migrations-next/v2`, '--queries', `${d}/queries/v1.sql`, '--schema', `${d}/migrations/0001_orders.sql`);
    expect(expand.code, expand.out).toBe(0);
    expect(expand.out).toContain('every query still works');
    const refused = await baton('check', `${d}/migrations-next/v3`, '--deployed', 'v1,v2', '--queries', `${d}/queries/v1.sql`, '--schema', `${d}/migrations/0001_orders.sql`);
    expect(refused.code).toBe(1);
    expect(refused.out).toContain(`${d}/migrations-next/v3/0003_drop_order_status.sql:1:1  error contract-too-early`);
    expect(refused.out).toMatch(/queries\/v1\.sql:\d+ {2}breaks: column "status" does not exist \(42703\)/);
    expect(await baton('check', `${d}/migrations-next/v3`, '--deployed', 'v2')).toMatchObject({ code: 0 });
  }, 60_000);
});

describe('the next migrations against release v1’s real queries (real PostgreSQL)', () => {
  it('v1 keeps working on the expanded schema (0002): every query it sends still runs', async () => {
    const queries = await readQueriesFile(at('queries/v1.sql'));
    expect(queries.length).toBeGreaterThanOrEqual(5);
    const result = await checkCompatibility({
      before: [await source('migrations/0001_orders.sql')],
      migration: [await source('migrations-next/v2/0002_order_note.sql')],
      queries,
      ...(process.env.DATABASE_URL ? { databaseUrl: process.env.DATABASE_URL } : {}),
    });
    expect(result.migrationError).toBeUndefined();
    expect(result.failingBefore).toEqual([]);
    expect(result.broken).toEqual([]);
    expect(result.ok).toBe(true);
  }, 60_000);

  it('v1 breaks on the contracted schema (0003): the queries that touch `status` are named, with PostgreSQL’s reason', async () => {
    const result = await checkCompatibility({
      before: [await source('migrations/0001_orders.sql'), await source('migrations-next/v2/0002_order_note.sql')],
      migration: [await source('migrations-next/v3/0003_drop_order_status.sql')],
      queries: await readQueriesFile(at('queries/v1.sql')),
      ...(process.env.DATABASE_URL ? { databaseUrl: process.env.DATABASE_URL } : {}),
    });
    expect(result.ok).toBe(false);
    expect(result.failingBefore).toEqual([]);
    expect(result.broken.length).toBeGreaterThanOrEqual(4);
    for (const failure of result.broken) {
      expect(failure.query.sql).toMatch(/\bstatus\b/);
      expect(failure.message).toBe('column "status" does not exist');
      expect(failure.code).toBe('42703');
      expect(failure.query.file).toMatch(/queries\/v1\.sql$/);
    }
    // The one query that does not name the column keeps working.
    expect(result.queries - result.broken.length).toBeGreaterThanOrEqual(1);
  }, 60_000);
});
