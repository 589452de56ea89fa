import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { GateContext } from './gate.js';
import { checkMigrationsGate, resolveMigrationsGate, type MigrationsGateSettings } from './migrations-gate.js';

// A clean migration sets both timeouts before anything that waits for a lock (the checker's lock-timeout / statement-timeout rules).
const TIMEOUTS = "SET lock_timeout = '2s';\nSET statement_timeout = '5s';\n";
const SCHEMA = `${TIMEOUTS}CREATE TABLE orders (id bigint PRIMARY KEY, note text);\n`;
const EXPAND = `${TIMEOUTS}ALTER TABLE orders ADD COLUMN currency text;\n`;
const contract = (release: string): string => `-- baton:contract unused-since=${release}\n${TIMEOUTS}ALTER TABLE orders DROP COLUMN note;\n`;

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'baton-migrations-gate-'));
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

/** Writes the migration files under `<root>/db/migrations` (the settings' `dir`, relative to the config's directory). */
function migrations(files: Record<string, string>): MigrationsGateSettings {
  const dir = join(root, 'db', 'migrations');
  mkdirSync(dir, { recursive: true });
  for (const [name, sql] of Object.entries(files)) writeFileSync(join(dir, name), sql);
  return { dir: 'db/migrations' };
}

function context(overrides: Partial<GateContext> = {}): GateContext {
  return {
    service: 'orders',
    environment: 'production',
    previousEnvironment: 'staging',
    release: { version: 'v3' },
    deployedReleases: [],
    releaseOrder: [],
    cwd: root,
    env: {},
    now: Date.now,
    ...overrides,
  };
}

describe('checkMigrationsGate', () => {
  it('passes an expand migration, naming the files checked and the releases they were checked against', async () => {
    const settings = migrations({ '001_orders.sql': SCHEMA, '002_currency.sql': EXPAND });
    const result = await checkMigrationsGate(settings, context({ deployedReleases: ['v2'] }));
    expect(result).toMatchObject({ gate: 'migrations', status: 'pass', evidence: [] });
    expect(result.summary).toBe('2 migration files checked against the releases running in production (v2): 0 errors.');
    expect(result.data).toMatchObject({ files: 2, errors: 0, warnings: 0, deployedReleases: ['v2'], classifications: { expand: 2 } });
  });

  it('fails a contract step while a release older than its unused-since runs in the environment, naming the release and the file', async () => {
    const settings = migrations({ '001_orders.sql': SCHEMA, '002_drop_note.sql': contract('v2') });
    const result = await checkMigrationsGate(settings, context({ deployedReleases: ['v1'] }));
    expect(result.status).toBe('fail');
    expect(result.summary).toMatch(/^2 migration files checked against the releases running in production \(v1\): 1 error — too early: .*v1 is still deployed \(002_drop_note\.sql\)\.$/);
    expect(result.evidence).toHaveLength(1);
    expect(result.evidence[0]).toMatch(/^db\/migrations\/002_drop_note\.sql:1:1 error contract-too-early: .*v1 is still deployed/);
    expect(result.data).toMatchObject({ errors: 1, warnings: 0, deployedReleases: ['v1'] });
  });

  it('passes the same contract step once every running release is at or after unused-since, or nothing runs there yet', async () => {
    const settings = migrations({ '001_orders.sql': SCHEMA, '002_drop_note.sql': contract('v2') });
    const later = await checkMigrationsGate(settings, context({ deployedReleases: ['v2'] }));
    expect(later).toMatchObject({ status: 'pass', evidence: [] });
    expect(later.data).toMatchObject({ classifications: { expand: 1, contract: 1 } });
    const empty = await checkMigrationsGate(settings, context({ deployedReleases: [] }));
    expect(empty).toMatchObject({ status: 'pass', evidence: [] });
    expect(empty.summary).toContain('running in production (none)');
    // One old instance still running is enough to refuse it.
    expect((await checkMigrationsGate(settings, context({ deployedReleases: ['v1', 'v2'] }))).status).toBe('fail');
  });

  it('orders release names that are not versions by the environment\'s history, the release being deployed last', async () => {
    const settings = migrations({ '001_orders.sql': SCHEMA, '002_drop_note.sql': contract('green') });
    // green is being deployed for the first time: not recorded yet, appended after blue.
    const early = await checkMigrationsGate(settings, context({ release: { version: 'green' }, deployedReleases: ['blue'], releaseOrder: ['blue'] }));
    expect(early.status).toBe('fail');
    expect(early.evidence[0]).toContain('blue is still deployed');
    expect(early.data).toMatchObject({ deployedReleases: ['blue'], releaseOrder: ['blue', 'green'] });
    const done = await checkMigrationsGate(settings, context({ release: { version: 'purple' }, deployedReleases: ['green'], releaseOrder: ['blue', 'green'] }));
    expect(done.status).toBe('pass');
    expect(done.data).toMatchObject({ releaseOrder: ['blue', 'green', 'purple'] });
    // The settings' order wins over the history.
    const reordered = await checkMigrationsGate({ ...settings, releaseOrder: ['green', 'blue'] }, context({ release: { version: 'green' }, deployedReleases: ['blue'], releaseOrder: ['blue'] }));
    expect(reordered.status).toBe('pass');
  });

  it('fails clearly when a running release cannot be ordered', async () => {
    const settings = migrations({ '001_orders.sql': SCHEMA });
    const result = await checkMigrationsGate(settings, context({ release: { version: 'green' }, deployedReleases: ['red'], releaseOrder: ['blue'] }));
    expect(result).toMatchObject({ status: 'fail', evidence: [] });
    expect(result.summary).toContain('"red" is not in releaseOrder (blue, green)');
    expect(result.summary).toContain('BATON_ERR_INVALID_OPTION');
  });

  it('fails when the directory does not exist: an unchecked release does not pass', async () => {
    const result = await checkMigrationsGate({ dir: 'db/missing' }, context());
    expect(result.status).toBe('fail');
    expect(result.summary).toContain('The migrations in db/missing could not be checked: Cannot read the migrations directory');
    expect(result.summary).toContain(join(root, 'db', 'missing'));
    expect(result.data).toMatchObject({ code: 'BATON_ERR_MIGRATION_CHECK' });
  });

  it('fails when a file does not parse, saying where', async () => {
    const settings = migrations({ '001_orders.sql': SCHEMA, '002_typo.sql': `${TIMEOUTS}ALTER TABLE orders DROPP COLUMN note;\n` });
    const result = await checkMigrationsGate(settings, context());
    expect(result.status).toBe('fail');
    expect(result.summary).toMatch(/could not be checked: db\/migrations\/002_typo\.sql:3:\d+: .*\(BATON_ERR_MIGRATION_PARSE\)$/);
  });

  it('fails when the checker refuses an option, with what it accepts', async () => {
    const settings = migrations({ '001_orders.sql': SCHEMA });
    const result = await checkMigrationsGate({ ...settings, disabledRules: ['lock-timeouts'] }, context());
    expect(result.status).toBe('fail');
    expect(result.summary).toContain('unknown rule "lock-timeouts"; known rules: ');
  });

  it('shows warnings in the evidence of a pass, and fails on them with strict', async () => {
    const unusedIgnore = `${TIMEOUTS}-- baton:ignore drop-column reason: nothing is dropped here\nALTER TABLE orders ADD COLUMN currency text;\n`;
    const settings = migrations({ '001_orders.sql': SCHEMA, '002_currency.sql': unusedIgnore });
    const lenient = await checkMigrationsGate(settings, context());
    expect(lenient.status).toBe('pass');
    expect(lenient.summary).toMatch(/: 0 errors, 1 warning\.$/);
    expect(lenient.evidence).toEqual([expect.stringMatching(/^db\/migrations\/002_currency\.sql:3:1 warning unused-ignore: /)]);
    const strict = await checkMigrationsGate({ ...settings, strict: true }, context());
    expect(strict.status).toBe('fail');
    expect(strict.summary).toMatch(/: 0 errors, 1 warning \(strict\) — "baton:ignore drop-column" matches no finding/);
  });

  it('bounds the evidence: the first ten findings, then how many more', async () => {
    const files: Record<string, string> = { '001_orders.sql': SCHEMA };
    for (let i = 2; i <= 13; i += 1) files[`${String(i).padStart(3, '0')}_index.sql`] = `${TIMEOUTS}CREATE INDEX orders_note_${i} ON orders (note);\n`;
    const result = await checkMigrationsGate(migrations(files), context());
    expect(result.status).toBe('fail');
    expect(result.data).toMatchObject({ files: 13, errors: 12 });
    expect(result.evidence).toHaveLength(11);
    expect(result.evidence[0]).toMatch(/^db\/migrations\/002_index\.sql:3:1 error create-index-non-concurrent: /);
    expect(result.evidence[10]).toBe('and 2 more');
  });

  it('reports only from the `from` file on; earlier files are context', async () => {
    const settings = migrations({ '001_orders.sql': SCHEMA, '002_currency.sql': EXPAND });
    const result = await checkMigrationsGate({ ...settings, from: '002_currency.sql' }, context());
    expect(result).toMatchObject({ status: 'pass', data: { files: 1 } });
  });

  it('is skipped when the directory holds no migration file', async () => {
    const result = await checkMigrationsGate(migrations({ 'README.md': '# migrations' }), context());
    expect(result).toMatchObject({ gate: 'migrations', status: 'skipped', summary: 'No migration files in db/migrations: nothing to check.' });
  });

  it('fails saying to install @baton/migrations when it is not installed (the built gate, run where the package cannot be found)', async () => {
    const dist = fileURLToPath(new URL('../../dist/', import.meta.url));
    if (!existsSync(join(dist, 'gates', 'migrations-gate.js'))) throw new Error(`build @baton/deploy first (${dist} has no gates/migrations-gate.js)`);
    // The gate's own modules only, outside any node_modules: import('@baton/migrations') fails as in a project without it.
    mkdirSync(join(root, 'lib', 'gates'), { recursive: true });
    mkdirSync(join(root, 'lib', 'internal'), { recursive: true });
    writeFileSync(join(root, 'lib', 'package.json'), '{ "type": "module" }');
    for (const file of ['gates/migrations-gate.js', 'gates/gate.js', 'internal/config-values.js', 'secrets.js']) copyFileSync(join(dist, file), join(root, 'lib', file));
    const script = `import { checkMigrationsGate } from ${JSON.stringify(join(root, 'lib', 'gates', 'migrations-gate.js'))};
const ctx = { service: 'orders', environment: 'production', release: { version: 'v3' }, deployedReleases: [], releaseOrder: [], cwd: ${JSON.stringify(root)}, env: {}, now: Date.now };
process.stdout.write(JSON.stringify(await checkMigrationsGate({ dir: 'db/migrations' }, ctx)));`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { cwd: root, timeout: 30_000 });
    expect(JSON.parse(stdout)).toEqual({
      gate: 'migrations',
      status: 'fail',
      summary: 'The migrations gate needs @baton/migrations, which is not installed: npm install --save-dev @baton/migrations (beside @baton/cli), or remove gates.migrations.',
      evidence: [],
    });
  });
});

describe('resolveMigrationsGate', () => {
  const field = 'environments.production.gates.migrations';
  const problemsOf = (input: unknown): string[] => {
    const problems: string[] = [];
    expect(resolveMigrationsGate(input, field, problems)).toBeUndefined();
    return problems;
  };

  it('takes the directory alone, strict off by default; the checker\'s own defaults stay its own', () => {
    const problems: string[] = [];
    expect(resolveMigrationsGate({ dir: 'db/migrations' }, field, problems)).toEqual({ dir: 'db/migrations', strict: false });
    expect(problems).toEqual([]);
  });

  it('keeps every setting given', () => {
    const problems: string[] = [];
    const input = { dir: 'db/migrations', from: '007_drop_note.sql', targetVersion: 16, transaction: 'none', disabledRules: ['lock-timeout'], releaseOrder: ['blue', 'green'], strict: true };
    expect(resolveMigrationsGate(input, field, problems)).toEqual(input);
    expect(problems).toEqual([]);
  });

  it('is undefined without a problem when not configured', () => {
    const problems: string[] = [];
    expect(resolveMigrationsGate(undefined, field, problems)).toBeUndefined();
    expect(problems).toEqual([]);
  });

  it('names each bad setting with what is accepted', () => {
    expect(problemsOf('db/migrations')).toEqual([
      `${field}: an object { dir, from?, targetVersion?, transaction?, disabledRules?, releaseOrder?, strict? }; got "db/migrations"`,
    ]);
    expect(problemsOf({})).toEqual([`${field}.dir: a directory path relative to the config; got nothing`]);
    expect(problemsOf({ dir: 'db/migrations', target: 16, deployed: ['v1'] })).toEqual([
      `${field}.target: not a setting; known: dir, from, targetVersion, transaction, disabledRules, releaseOrder, strict`,
      `${field}.deployed: not a setting; known: dir, from, targetVersion, transaction, disabledRules, releaseOrder, strict`,
    ]);
    expect(problemsOf({ dir: '', from: 'db/migrations/007.sql', targetVersion: 9, transaction: 'per-statement', disabledRules: 'lock-timeout', releaseOrder: ['blue', 'blue'], strict: 'yes' })).toEqual([
      `${field}.dir: a directory path relative to the config; got ""`,
      `${field}.from: the name of a file in the migrations directory, e.g. "007_drop_note.sql"; got "db/migrations/007.sql"`,
      `${field}.targetVersion: the PostgreSQL major version of the database, an integer from 10 to 18; got 9`,
      `${field}.transaction: 'per-file' (the migration tool runs each file in one transaction) or 'none'; got "per-statement"`,
      `${field}.disabledRules: an array of rule ids, e.g. ['lock-timeout', 'statement-timeout'] (baton migrations rules lists them); got "lock-timeout"`,
      `${field}.releaseOrder: each release once; blue repeated`,
      `${field}.strict: true or false (true: warnings fail the gate too); got "yes"`,
    ]);
    expect(problemsOf({ dir: 'db/migrations', releaseOrder: [] })).toEqual([`${field}.releaseOrder: a non-empty array of release names, oldest first; got []`]);
  });
});
