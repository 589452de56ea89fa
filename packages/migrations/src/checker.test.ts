import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isBatonError } from '@baton/lifecycle';
import { afterEach, describe, expect, it } from 'vitest';
import { checkMigrations, createMigrationChecker, listMigrationFiles } from './checker.js';
import type { CheckOptions } from './options.js';

const SCHEMA = 'CREATE TABLE orders (id bigint PRIMARY KEY, note text, status text);';
const TIMEOUTS = "SET lock_timeout = '2s';\nSET statement_timeout = '5s';\n";

async function check(sql: string, options: CheckOptions = {}) {
  const checker = await createMigrationChecker(options);
  const result = checker.check([
    { file: 'migrations/001_schema.sql', sql: SCHEMA },
    { file: 'migrations/002_change.sql', sql },
  ]);
  const file = result.files[1];
  if (!file) throw new Error('no result for the migration');
  return { result, file };
}

describe('classification', () => {
  it('an expand-only file is expand and passes', async () => {
    const { file, result } = await check(`${TIMEOUTS}ALTER TABLE orders ADD COLUMN currency text;\nCREATE TABLE refunds (id bigint PRIMARY KEY);`);
    expect(file.classification).toBe('expand');
    expect(file.findings).toEqual([]);
    expect(result.ok).toBe(true);
  });

  it('settings, comments and grants alone are neutral', async () => {
    const { file } = await check(`${TIMEOUTS}COMMENT ON TABLE orders IS 'orders';\nGRANT SELECT ON orders TO PUBLIC;`);
    expect(file.classification).toBe('neutral');
  });

  it('a declared contract file whose release is gone everywhere is contract and passes', async () => {
    const { file, result } = await check(`-- baton:contract unused-since=v7\n${TIMEOUTS}ALTER TABLE orders DROP COLUMN note;`, { deployedReleases: ['v7', 'v8'] });
    expect(file.classification).toBe('contract');
    expect(file.unusedSince).toBe('v7');
    expect(result.ok).toBe(true);
  });

  it('a file that adds and drops is rejected as mixed, even with the contract declared', async () => {
    const { file } = await check(`-- baton:contract unused-since=v7\n${TIMEOUTS}ALTER TABLE orders ADD COLUMN currency text;\nALTER TABLE orders DROP COLUMN note;`, {
      deployedReleases: ['v8'],
    });
    expect(file.classification).toBe('unsafe');
    expect(file.findings.map((f) => f.rule)).toEqual(['mixed-expand-contract']);
    expect(file.findings[0]?.line).toBe(5);
  });

  it('renaming an index or a constraint is neutral: queries do not name them', async () => {
    const { file } = await check(`${TIMEOUTS}ALTER INDEX orders_pkey RENAME TO orders_pk;\nALTER TABLE orders RENAME CONSTRAINT orders_pk TO orders_primary;`);
    expect(file).toMatchObject({ classification: 'neutral', findings: [] });
  });

  it('a removal other than DROP COLUMN / TABLE needs the contract declaration too', async () => {
    const { file } = await check(`${TIMEOUTS}ALTER TABLE orders ALTER COLUMN status DROP DEFAULT;`);
    expect(file.findings.map((f) => f.rule)).toEqual(['contract-undeclared']);
    expect(file.classification).toBe('unsafe');
  });
});

describe('contract timing', () => {
  const contract = `-- baton:contract unused-since=v7\n${TIMEOUTS}ALTER TABLE orders DROP COLUMN note;`;

  it('refuses a contract step while an older release is deployed, naming it', async () => {
    const { file, result } = await check(contract, { deployedReleases: ['v6', 'v7'] });
    expect(result.ok).toBe(false);
    expect(file.findings).toMatchObject([{ rule: 'contract-too-early', line: 1, column: 1 }]);
    expect(file.findings[0]?.message).toContain('v6 is still deployed');
  });

  it('orders versions as numbers (v10 is after v9) and by a given list when names are not versions', async () => {
    expect((await check(contract.replace('v7', 'v10'), { deployedReleases: ['v9'] })).result.ok).toBe(false);
    expect((await check(contract.replace('v7', 'v10'), { deployedReleases: ['v10', 'v11'] })).result.ok).toBe(true);
    const named = contract.replace('v7', 'green');
    expect((await check(named, { deployedReleases: ['blue'], releaseOrder: ['blue', 'green'] })).result.ok).toBe(false);
    expect((await check(named, { deployedReleases: ['green'], releaseOrder: ['blue', 'green'] })).result.ok).toBe(true);
  });

  it('without the deployed releases the timing is a warning, not a pass in silence', async () => {
    const { file, result } = await check(contract);
    expect(result.ok).toBe(true);
    expect(file.findings).toMatchObject([{ rule: 'contract-unverified', severity: 'warning' }]);
  });

  it('an unusable contract declaration is a finding', async () => {
    const { file } = await check(`-- baton:contract since v7\n${TIMEOUTS}ALTER TABLE orders DROP COLUMN note;`);
    expect(file.findings.map((f) => f.rule).sort()).toEqual(['drop-column', 'invalid-directive']);
  });
});

describe('ignore comments', () => {
  it('an ignore with a reason on the line before silences that rule on that statement only', async () => {
    const { file, result } = await check(
      `${TIMEOUTS}-- baton:ignore create-index-non-concurrent reason: orders has 40 rows\nCREATE INDEX a ON orders (note);\nCREATE INDEX b ON orders (status);`,
    );
    const index = file.findings.filter((f) => f.rule === 'create-index-non-concurrent');
    expect(index).toHaveLength(2);
    expect(index[0]).toMatchObject({ line: 4, ignored: { reason: 'orders has 40 rows' } });
    expect(index[1]?.ignored).toBeUndefined();
    expect(result.errors).toBe(1);
  });

  it('an ignore without a reason is itself a finding and ignores nothing', async () => {
    const { file } = await check(`${TIMEOUTS}-- baton:ignore create-index-non-concurrent\nCREATE INDEX a ON orders (note);`);
    expect(file.findings.map((f) => [f.rule, f.line, f.column, f.ignored])).toEqual([
      ['ignore-without-reason', 3, 1, undefined],
      ['create-index-non-concurrent', 4, 1, undefined],
    ]);
  });

  it('an unknown rule id or directive is reported, and an ignore that matches nothing is a warning', async () => {
    const { file } = await check(`${TIMEOUTS}-- baton:ignore drop-colum reason: typo\n-- baton:ignroe x\nALTER TABLE orders ADD COLUMN a text;\n-- baton:ignore drop-column reason: stale\nALTER TABLE orders ADD COLUMN b text;`);
    expect(file.findings.map((f) => `${f.rule}@${f.line}`)).toEqual(['invalid-directive@3', 'invalid-directive@4', 'unused-ignore@6']);
  });

  it('a baton: comment inside a string or a function body is not a directive', async () => {
    const { file } = await check(`${TIMEOUTS}COMMENT ON TABLE orders IS '-- baton:ignore drop-column';\nCREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 -- baton:no-transaction\n$$;`);
    expect(file).toMatchObject({ findings: [], transaction: true });
  });

  it('file-level findings are ignored from the file header', async () => {
    const { file } = await check(`-- baton:ignore mixed-expand-contract reason: the column was never released\n${TIMEOUTS}ALTER TABLE orders ADD COLUMN a text;\n-- baton:ignore drop-column reason: note was added by this same unreleased branch\nALTER TABLE orders DROP COLUMN note;`);
    expect(file.findings.every((f) => f.ignored)).toBe(true);
    expect(file.classification).toBe('contract');
  });
});

describe('locations', () => {
  it('reports line and column in characters, after non-ASCII text the parser counts in bytes', async () => {
    // « é » are two bytes each and 🙂 four (two UTF-16 code units): columns count what an editor shows.
    const { file } = await check(`-- Schéma 🙂\n${TIMEOUTS}/* «é» 🙂 */ ALTER TABLE orders ADD COLUMN devise text NOT NULL, ADD COLUMN jeton uuid DEFAULT gen_random_uuid();`);
    expect(file.findings.map((f) => [f.rule, f.line, f.column])).toEqual([
      ['add-column-not-null', 4, 56],
      ['volatile-default', 4, 88],
    ]);
  });

  it('a syntax error names the file, line and column', async () => {
    const checker = await createMigrationChecker();
    let error: unknown;
    try {
      checker.check([{ file: 'm/003_bad.sql', sql: "-- é 🙂\nSELECT 'ü';\n/* 🙂 */ ALTER TABLE orders ADD COLUMN;\n" }]);
    } catch (caught) {
      error = caught;
    }
    expect(isBatonError(error, 'BATON_ERR_MIGRATION_PARSE')).toBe(true);
    expect((error as Error).message).toMatch(/^m\/003_bad\.sql:3:39: syntax error at or near ";"/);
  });
});

describe('transactions', () => {
  it('assumes one transaction per file unless told otherwise', async () => {
    const sql = `${TIMEOUTS}CREATE INDEX CONCURRENTLY a ON orders (note);`;
    expect((await check(sql)).file.findings.map((f) => f.rule)).toEqual(['concurrently-in-transaction']);
    expect((await check(sql, { transaction: 'none' })).file.findings).toEqual([]);
    expect((await check(`-- baton:no-transaction\n${sql}`)).file).toMatchObject({ transaction: false, findings: [] });
  });
});

describe('directories and options', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('reads .sql files in numeric order, skips .down.sql, and reports from a given file on', async () => {
    dir = mkdtempSync(join(tmpdir(), 'baton-migrations-'));
    writeFileSync(join(dir, '10_drop.sql'), `${TIMEOUTS}ALTER TABLE orders DROP COLUMN note;`);
    writeFileSync(join(dir, '2_add.sql'), `${TIMEOUTS}ALTER TABLE orders ADD COLUMN c text;`);
    writeFileSync(join(dir, '1_init.sql'), SCHEMA);
    writeFileSync(join(dir, '2_add.down.sql'), 'ALTER TABLE orders DROP COLUMN c;');
    writeFileSync(join(dir, 'README.md'), '# not SQL');
    mkdirSync(join(dir, 'sub.sql'));
    expect((await listMigrationFiles(dir)).map((f) => f.slice(dir!.length + 1))).toEqual(['1_init.sql', '2_add.sql', '10_drop.sql']);
    const all = await checkMigrations({ dir });
    expect(all.files.map((f) => f.classification)).toEqual(['expand', 'expand', 'unsafe']);
    const fromTwo = await checkMigrations({ dir, from: '2_add.sql' });
    expect(fromTwo.files.map((f) => f.file.slice(dir!.length + 1))).toEqual(['2_add.sql', '10_drop.sql']);
  });

  it('a missing directory is a clear error', async () => {
    await expect(checkMigrations({ dir: '/nonexistent/migrations' })).rejects.toMatchObject({
      code: 'BATON_ERR_MIGRATION_CHECK',
      message: expect.stringContaining('/nonexistent/migrations'),
    });
  });

  it('bad options are refused up front with what is accepted', async () => {
    await expect(createMigrationChecker({ targetVersion: 9 })).rejects.toMatchObject({ code: 'BATON_ERR_INVALID_OPTION', message: expect.stringContaining('10 to 18') });
    await expect(createMigrationChecker({ disabledRules: ['drop-colum'] })).rejects.toMatchObject({ message: expect.stringContaining('unknown rule "drop-colum"') });
    await expect(createMigrationChecker({ deployedReleases: ['blue'] })).rejects.toMatchObject({ message: expect.stringContaining('releaseOrder') });
    await expect(createMigrationChecker({ transaction: 'always' as never })).rejects.toMatchObject({ code: 'BATON_ERR_INVALID_OPTION' });
    const checker = await createMigrationChecker({ from: 'nope.sql' });
    expect(() => checker.check([{ file: 'a.sql', sql: 'SELECT 1;' }])).toThrow(/no migration file named "nope.sql"/);
  });

  it('checks 1,000 statements in one call', async () => {
    const checker = await createMigrationChecker();
    const sql = Array.from({ length: 1000 }, (_, i) => `ALTER TABLE orders ADD COLUMN c${i} text;`).join('\n');
    const result = checker.check([{ file: '001.sql', sql: SCHEMA }, { file: '002.sql', sql: `${TIMEOUTS}${sql}` }]);
    expect(result.statements).toBe(1003);
    expect(result.files[1]?.classification).toBe('expand');
  });
});
