import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EXIT_CODES, runMigrationsCommand } from './command.js';
import { RULES } from './rules.js';

const TIMEOUTS = "SET lock_timeout = '2s';\nSET statement_timeout = '5s';\n";
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'baton-migrations-cli-'));
  mkdirSync(join(dir, 'db', 'migrations'), { recursive: true });
  write('001_init.sql', 'CREATE TABLE orders (id bigint PRIMARY KEY, note text);\n');
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function write(name: string, sql: string): void {
  writeFileSync(join(dir, 'db', 'migrations', name), sql);
}

async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runMigrationsCommand(argv, {
    stdout: { write: (chunk: string) => (stdout += chunk) },
    stderr: { write: (chunk: string) => (stderr += chunk) },
    cwd: dir,
    env: {},
  });
  return { code, stdout, stderr };
}

describe('baton migrations check', () => {
  it('exits 0 on a clean history and prints each file with its classification', async () => {
    write('002_add.sql', `${TIMEOUTS}ALTER TABLE orders ADD COLUMN currency text;\n`);
    const { code, stdout, stderr } = await cli('check', 'db/migrations');
    expect({ code, stderr }).toEqual({ code: EXIT_CODES.ok, stderr: '' });
    expect(stdout).toContain('db/migrations/001_init.sql  expand');
    expect(stdout).toContain('db/migrations/002_add.sql  expand');
    expect(stdout).toContain('2 files (2 expand), 4 statements, PostgreSQL 17: 0 errors, 0 warnings.');
  });

  it('exits 1 on findings and prints file:line:column, the statement and the safe way', async () => {
    write('002_drop.sql', `${TIMEOUTS}\nALTER TABLE orders DROP COLUMN note;\n`);
    const { code, stdout } = await cli('migrations', 'check', 'db/migrations');
    expect(code).toBe(EXIT_CODES.findings);
    expect(stdout).toContain('db/migrations/002_drop.sql  unsafe');
    expect(stdout).toContain('db/migrations/002_drop.sql:4:1  error drop-column: Drops column "note" of "orders"');
    expect(stdout).toContain('> ALTER TABLE orders DROP COLUMN note');
    expect(stdout).toContain('safe way: Expand/contract');
  });

  it('--json gives the whole result, --deployed times contract steps', async () => {
    write('002_contract.sql', `-- baton:contract unused-since=v7\n${TIMEOUTS}ALTER TABLE orders DROP COLUMN note;\n`);
    const early = await cli('check', 'db/migrations', '--json', '--deployed', 'v6,v7');
    expect(early.code).toBe(EXIT_CODES.findings);
    const json = JSON.parse(early.stdout);
    expect(json.files[1]).toMatchObject({ classification: 'unsafe', unusedSince: 'v7', findings: [{ rule: 'contract-too-early', line: 1, column: 1 }] });
    const late = await cli('check', 'db/migrations', '--json', '--deployed', 'v7', '--deployed', 'v8');
    expect(late.code).toBe(EXIT_CODES.ok);
    expect(JSON.parse(late.stdout).files[1].classification).toBe('contract');
  });

  it('--sarif writes a SARIF 2.1.0 log with rules, help, locations and suppressions', async () => {
    write('002_index.sql', `${TIMEOUTS}-- baton:ignore create-index-non-concurrent reason: 12 rows\nCREATE INDEX a ON orders (note);\nCREATE INDEX b ON orders (id, note);\n`);
    const { code, stdout } = await cli('check', 'db/migrations', '--sarif', '--output', 'report.sarif');
    expect(code).toBe(EXIT_CODES.findings);
    expect(stdout).toBe('');
    const log = JSON.parse(readFileSync(join(dir, 'report.sarif'), 'utf8'));
    expect(log.version).toBe('2.1.0');
    const run = log.runs[0];
    expect(run.tool.driver.rules.map((r: { id: string }) => r.id)).toEqual(RULES.map((r) => r.id));
    expect(run.tool.driver.rules[0].help.text).toContain('Safe way:');
    expect(run.results).toHaveLength(2);
    expect(run.results[0]).toMatchObject({
      ruleId: 'create-index-non-concurrent',
      level: 'error',
      locations: [{ physicalLocation: { artifactLocation: { uri: 'db/migrations/002_index.sql' }, region: { startLine: 4, startColumn: 1 } } }],
      suppressions: [{ kind: 'inSource', justification: '12 rows' }],
    });
    expect(run.results[1].suppressions).toBeUndefined();
    expect(run.results[1].locations[0].physicalLocation.region.startLine).toBe(5);
  });

  it('an ignore without a reason fails the check', async () => {
    write('002_index.sql', `${TIMEOUTS}-- baton:ignore create-index-non-concurrent\nCREATE INDEX a ON orders (note);\n`);
    const { code, stdout } = await cli('check', 'db/migrations');
    expect(code).toBe(EXIT_CODES.findings);
    expect(stdout).toContain('db/migrations/002_index.sql:3:1  error ignore-without-reason');
  });

  it('--strict fails on warnings; --disable and --target change what is checked', async () => {
    write('002_contract.sql', `-- baton:contract unused-since=v7\n${TIMEOUTS}ALTER TABLE orders DROP COLUMN note;\n`);
    expect((await cli('check', 'db/migrations')).code).toBe(EXIT_CODES.ok);
    expect((await cli('check', 'db/migrations', '--strict')).code).toBe(EXIT_CODES.findings);
    write('003_default.sql', "ALTER TABLE orders ADD COLUMN currency text DEFAULT 'EUR';\n");
    expect((await cli('check', 'db/migrations', '--from', '003_default.sql', '--disable', 'lock-timeout,statement-timeout')).code).toBe(EXIT_CODES.ok);
    const old = await cli('check', 'db/migrations', '--from', '003_default.sql', '--disable', 'lock-timeout,statement-timeout', '--target', '10');
    expect(old.code).toBe(EXIT_CODES.findings);
    expect(old.stdout).toContain('volatile-default');
  });

  it('exits 2 with file:line:column when a migration does not parse', async () => {
    write('002_bad.sql', 'ALTER TABLE orders\n  ADD COLUMN currency text,\n  DROP;\n');
    const { code, stderr, stdout } = await cli('check', 'db/migrations');
    expect(code).toBe(EXIT_CODES.failure);
    expect(stdout).toBe('');
    expect(stderr).toContain('db/migrations/002_bad.sql:3:7: syntax error at or near ";"');
    expect(stderr).toContain('BATON_ERR_MIGRATION_PARSE');
  });

  it('exits 2 with a clear message on a missing directory, bad options or usage', async () => {
    const missing = await cli('check', 'nope');
    expect(missing.code).toBe(EXIT_CODES.failure);
    expect(missing.stderr).toMatch(/Cannot read the migrations directory .*nope/);
    expect((await cli('check', 'db/migrations', '--target', 'seventeen')).stderr).toContain('--target must be a PostgreSQL major version');
    expect((await cli('check', 'db/migrations', '--disable', 'drop-colum')).stderr).toContain('unknown rule "drop-colum"');
    expect((await cli('check', 'db/migrations', '--format', 'xml')).stderr).toContain('--format must be human, json or sarif');
    expect((await cli('check', 'db/migrations', '--deployed', 'blue')).stderr).toContain('releaseOrder');
    const unknown = await cli('check', 'db/migrations', '--bogus');
    expect(unknown.code).toBe(EXIT_CODES.failure);
    expect(unknown.stderr).toContain("Unknown option '--bogus'");
    expect((await cli('check')).stderr).toContain('check needs the migrations directory');
    expect((await cli()).code).toBe(EXIT_CODES.failure);
  });

  it('--help and rules print to stdout and exit 0', async () => {
    const help = await cli('--help');
    expect(help).toMatchObject({ code: 0, stderr: '' });
    expect(help.stdout).toContain('Usage: baton migrations check <dir>');
    const rules = await cli('rules');
    expect(rules.code).toBe(0);
    expect(rules.stdout.trim().split('\n')).toHaveLength(RULES.length);
  });
});
