// Migration checking side by side: Baton's checker (@baton/migrations) and squawk
// (npm `squawk-cli`, a native Rust binary shipped inside the npm package) on the same
// generated files. Baton is timed after warm-up (parser loaded) in process — the figure
// the target is about — and as its CLI in a fresh process; squawk runs only as a process,
// so it is timed per process and, to compare work with work, net of its own start-up
// (the same command on a one-statement file). Rounds alternate between the tools so a
// busy moment of the shared machine falls on both.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkMigrations, createMigrationChecker, type MigrationSource } from '@baton/migrations';

const BATON_CLI = fileURLToPath(new URL('../../packages/cli/dist/main.js', import.meta.url));
/** Baton's target: this many statements checked in under a second. */
export const MIGRATIONS_TARGET_STATEMENTS = 1000;

/** Timings of one way of checking the corpus, in milliseconds per check of the whole corpus. */
export interface MigrationsTiming {
  label: string;
  /** Median, first and third quartile over the rounds. */
  medianMs: number;
  q1Ms: number;
  q3Ms: number;
  rounds: number;
  /** Statements of the corpus per second at the median (NaN for a start-up measurement, which checks one). */
  statementsPerSecond: number;
}

export interface MigrationsBenchResult {
  files: number;
  statements: number;
  bytes: number;
  baton: {
    /** Loading the parser (WASM), once. */
    loadMs: number;
    /** `checker.check(sources)`: in memory, parser loaded. */
    warm: MigrationsTiming;
    /** `checkMigrations({ dir })`: reading the files too, parser loaded. */
    warmWithFiles: MigrationsTiming;
    /** `baton migrations check <dir> --json` in a fresh process, and the same on a one-statement folder. */
    process?: { corpus: MigrationsTiming; trivial: MigrationsTiming; net: MigrationsTiming };
    /** Findings reported (errors and warnings, not ignored). */
    findings: number;
  };
  squawk:
    | { available: true; version: string; corpus: MigrationsTiming; trivial: MigrationsTiming; net: MigrationsTiming; findings: number; robustness: number }
    | { available: false; reason: string };
}

/** Generates the corpus, then times both tools on it. */
export async function runMigrationsBench(options: { rounds?: number; files?: number; log?: (line: string) => void } = {}): Promise<MigrationsBenchResult> {
  const rounds = options.rounds ?? 30;
  const fileCount = options.files ?? 100;
  const log = options.log ?? (() => {});
  const dir = mkdtempSync(join(tmpdir(), 'baton-bench-migrations-'));
  try {
    const corpusDir = join(dir, 'corpus');
    const trivialDir = join(dir, 'trivial');
    mkdirSync(corpusDir);
    mkdirSync(trivialDir);
    const sources = generateCorpus(fileCount);
    for (const source of sources) writeFileSync(join(corpusDir, source.file), source.sql);
    writeFileSync(join(trivialDir, '001_noop.sql'), 'SELECT 1;\n');
    const bytes = sources.reduce((sum, source) => sum + Buffer.byteLength(source.sql), 0);

    const loadStarted = performance.now();
    const checker = await createMigrationChecker({ targetVersion: 17 });
    const loadMs = performance.now() - loadStarted;
    const first = checker.check(sources);
    const statements = first.statements;
    const findings = first.errors + first.warnings;
    log(`migrations: ${sources.length} files, ${statements} statements, ${(bytes / 1024).toFixed(0)} KiB; parser loaded in ${loadMs.toFixed(0)} ms`);

    const squawk = findSquawk();
    const squawkVersion = squawk.available ? run(squawk.path, ['--version'], dir).stdout.trim().replace(/^squawk\s*/, '') : '';
    const corpusFiles = sources.map((source) => join(corpusDir, source.file));
    const squawkArgs = (files: string[]): string[] => [...files, '--reporter', 'json'];
    const batonCli = existsSync(BATON_CLI);

    // Warm-up: the JIT, the file cache, the binaries in the page cache.
    for (let i = 0; i < 5; i += 1) {
      checker.check(sources);
      await checkMigrations({ dir: corpusDir });
      if (squawk.available) run(squawk.path, squawkArgs(corpusFiles), dir);
    }
    if (batonCli) run(process.execPath, [BATON_CLI, 'migrations', 'check', corpusDir, '--json'], dir);

    const samples = { warm: [] as number[], warmWithFiles: [] as number[], batonCorpus: [] as number[], batonTrivial: [] as number[], squawkCorpus: [] as number[], squawkTrivial: [] as number[] };
    let squawkFindings = 0;
    let squawkRobustness = 0;
    const processRounds = Math.max(5, Math.round(rounds / 3));
    for (let round = 0; round < rounds; round += 1) {
      samples.warm.push(time(() => checker.check(sources)));
      const started = performance.now();
      await checkMigrations({ dir: corpusDir });
      samples.warmWithFiles.push(performance.now() - started);
      if (squawk.available) {
        let output = '';
        samples.squawkCorpus.push(time(() => (output = run(squawk.path, squawkArgs(corpusFiles), dir).stdout)));
        samples.squawkTrivial.push(time(() => run(squawk.path, squawkArgs([join(trivialDir, '001_noop.sql')]), dir)));
        if (round === 0) {
          const violations = JSON.parse(output) as { rule_name?: string }[];
          squawkFindings = violations.length;
          squawkRobustness = violations.filter((v) => v.rule_name === 'prefer-robust-stmts').length;
        }
      }
      if (batonCli && round < processRounds) {
        samples.batonCorpus.push(time(() => run(process.execPath, [BATON_CLI, 'migrations', 'check', corpusDir, '--json'], dir)));
        samples.batonTrivial.push(time(() => run(process.execPath, [BATON_CLI, 'migrations', 'check', trivialDir, '--json'], dir)));
      }
    }
    log(`migrations: ${rounds} rounds done`);

    const timing = (label: string, ms: number[]): MigrationsTiming => summarize(label, ms, statements);
    const startup = (label: string, ms: number[]): MigrationsTiming => ({ ...summarize(label, ms, statements), statementsPerSecond: Number.NaN });
    const net = (label: string, corpus: number[], trivial: number[]): MigrationsTiming => {
      // Paired by round: each corpus run less the start-up measured right beside it.
      const diffs = corpus.map((ms, i) => Math.max(0.001, ms - (trivial[i] ?? 0)));
      return timing(label, diffs);
    };
    const result: MigrationsBenchResult = {
      files: sources.length,
      statements,
      bytes,
      baton: {
        loadMs,
        warm: timing('Baton, in process, parser loaded (`checker.check(sources)`)', samples.warm),
        warmWithFiles: timing('Baton, in process, reading the files (`checkMigrations({ dir })`)', samples.warmWithFiles),
        findings,
      },
      squawk: squawk.available
        ? {
            available: true,
            version: squawkVersion,
            corpus: timing(`squawk ${squawkVersion}, one process for all files`, samples.squawkCorpus),
            trivial: startup(`squawk ${squawkVersion}, one process, a one-statement file (its start-up)`, samples.squawkTrivial),
            net: net(`squawk ${squawkVersion}, net of its start-up`, samples.squawkCorpus, samples.squawkTrivial),
            findings: squawkFindings,
            robustness: squawkRobustness,
          }
        : { available: false, reason: squawk.reason },
    };
    if (batonCli) {
      result.baton.process = {
        corpus: timing('Baton CLI, one process (`baton migrations check <dir> --json`)', samples.batonCorpus),
        trivial: startup('Baton CLI, one process, a one-statement folder (its start-up)', samples.batonTrivial),
        net: net('Baton CLI, net of its start-up', samples.batonCorpus, samples.batonTrivial),
      };
    }
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A realistic corpus: each file a small migration as teams write them —
 * timeouts, a new table with its index, then a rotating mix of changes to
 * existing tables, safe ones and every kind both tools flag (NOT NULL
 * without a default, a blocking index, a dropped or renamed column, a
 * foreign key without NOT VALID, a type change, a volatile default, a
 * backfill, an enum value, a unique constraint...). Ten statements a file.
 */
export function generateCorpus(files: number): MigrationSource[] {
  const changes: ((i: number, t: string) => string)[] = [
    (i, t) => `ALTER TABLE ${t} ADD COLUMN note_${i} text;`,
    (i, t) => `ALTER TABLE ${t} ADD COLUMN flag_${i} boolean NOT NULL;`,
    (i, t) => `CREATE INDEX ${t}_ref_${i} ON ${t} (ref_${i});`,
    (i, t) => `CREATE INDEX CONCURRENTLY IF NOT EXISTS ${t}_code_${i} ON ${t} (code_${i});`,
    (i, t) => `ALTER TABLE ${t} DROP COLUMN legacy_${i};`,
    (i, t) => `ALTER TABLE ${t} RENAME COLUMN label_${i} TO title_${i};`,
    (i, t) => `ALTER TABLE ${t} ALTER COLUMN email_${i} SET NOT NULL;`,
    (i, t) => `ALTER TABLE ${t} ADD CONSTRAINT ${t}_item_${i}_fk FOREIGN KEY (item_${i}) REFERENCES items_${i} (id);`,
    (i, t) => `ALTER TABLE ${t} ADD CONSTRAINT ${t}_owner_${i}_fk FOREIGN KEY (owner_${i}) REFERENCES items_${i} (id) NOT VALID;`,
    (i, t) => `ALTER TABLE ${t} ALTER COLUMN amount_${i} TYPE bigint;`,
    (i, t) => `ALTER TABLE ${t} ADD COLUMN token_${i} uuid DEFAULT gen_random_uuid();`,
    (i, t) => `ALTER TABLE ${t} ADD COLUMN region_${i} text DEFAULT 'eu';`,
    (i, t) => `UPDATE ${t} SET status = 'archived' WHERE updated_at < now() - interval '${(i % 12) + 1} months';`,
    (i) => `COMMENT ON TABLE items_${i} IS 'catalogue items, batch ${i}';`,
    (i) => `CREATE OR REPLACE VIEW items_${i}_names AS SELECT id, name FROM items_${i} WHERE name IS NOT NULL;`,
    (i) => `ALTER TYPE order_state ADD VALUE IF NOT EXISTS 'state_${i}';`,
    (i, t) => `DROP INDEX ${t}_old_${i};`,
    (i, t) => `ALTER TABLE ${t} ADD CONSTRAINT ${t}_sku_${i}_key UNIQUE (sku_${i});`,
    (i) => `GRANT SELECT ON items_${i} TO reporting;`,
    (i) => `INSERT INTO items_${i} (name) VALUES ('first'), ('second');`,
    (i, t) => `ALTER TABLE ${t} ALTER COLUMN region_${i} DROP NOT NULL;`,
  ];
  const sources: MigrationSource[] = [];
  for (let i = 1; i <= files; i += 1) {
    const table = ['orders', 'customers', 'payments', 'shipments', 'invoices', 'accounts', 'products'][i % 7] as string;
    const lines = [
      `-- ${String(i).padStart(4, '0')}: generated for the benchmark`,
      "SET lock_timeout = '2s';",
      "SET statement_timeout = '30s';",
      `CREATE TABLE items_${i} (\n  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n  name text NOT NULL,\n  created_at timestamptz NOT NULL DEFAULT now()\n);`,
      `CREATE INDEX items_${i}_name ON items_${i} (name);`,
    ];
    // Six changes a file, rotating through the list so every kind appears in many files.
    for (let k = 0; k < 6; k += 1) lines.push((changes[(i * 6 + k) % changes.length] as (i: number, t: string) => string)(i, table));
    sources.push({ file: `${String(i).padStart(4, '0')}_change_${table}.sql`, sql: `${lines.join('\n')}\n` });
  }
  return sources;
}

/** The squawk binary inside the npm package (its platform package), or why there is none. */
function findSquawk(): { available: true; path: string } | { available: false; reason: string } {
  try {
    const require = createRequire(import.meta.url);
    const cli = dirname(require.resolve('squawk-cli/package.json'));
    const platformPackage = `@squawk-cli/${process.platform}-${process.arch}`;
    const binary = join(dirname(createRequire(join(cli, 'package.json')).resolve(`${platformPackage}/package.json`)), 'bin', 'squawk');
    if (!existsSync(binary)) return { available: false, reason: `${platformPackage} has no bin/squawk` };
    const probe = spawnSync(binary, ['--version'], { encoding: 'utf8' });
    if (probe.status !== 0) return { available: false, reason: `squawk --version failed: ${probe.stderr || probe.error?.message}` };
    return { available: true, path: binary };
  } catch (error) {
    return { available: false, reason: `squawk-cli is not installed for ${process.platform}-${process.arch}: ${(error as Error).message}` };
  }
}

function run(command: string, args: string[], cwd: string): { stdout: string; status: number | null } {
  // squawk and Baton both exit 1 when they find something: that is a result, not a failure.
  const child = spawnSync(command, args, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (child.error) throw child.error;
  if (child.status !== 0 && child.status !== 1) throw new Error(`${command} ${args.slice(0, 3).join(' ')} exited ${child.status}: ${child.stderr.slice(-500)}`);
  return { stdout: child.stdout, status: child.status };
}

function time(fn: () => unknown): number {
  const started = performance.now();
  fn();
  return performance.now() - started;
}

function summarize(label: string, samples: number[], statements: number): MigrationsTiming {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))))] ?? Number.NaN;
  const medianMs = at(0.5);
  return { label, medianMs, q1Ms: at(0.25), q3Ms: at(0.75), rounds: samples.length, statementsPerSecond: (statements / medianMs) * 1000 };
}

const ms = (value: number): string => (value < 10 ? value.toFixed(2) : value.toFixed(1));
const perSecond = (value: number): string => (Number.isNaN(value) ? '—' : Math.round(value).toLocaleString('en-US'));

/** Console lines of a run. */
export function migrationsConsoleLines(result: MigrationsBenchResult): string[] {
  const rows = timingsOf(result);
  return [
    `Migrations: ${result.files} files, ${result.statements} statements (parser load ${result.baton.loadMs.toFixed(0)} ms, once)`,
    ...rows.map((t) => `  ${t.label.padEnd(78)} ${ms(t.medianMs).padStart(8)} ms  ${perSecond(t.statementsPerSecond).padStart(10)} statements/s`),
    ...(result.squawk.available ? [] : [`  squawk: not run: ${result.squawk.reason}`]),
  ];
}

function timingsOf(result: MigrationsBenchResult): MigrationsTiming[] {
  const rows = [result.baton.warm, result.baton.warmWithFiles];
  if (result.baton.process) rows.push(result.baton.process.corpus, result.baton.process.trivial, result.baton.process.net);
  if (result.squawk.available) rows.push(result.squawk.corpus, result.squawk.trivial, result.squawk.net);
  return rows;
}

/** The `## Migrations` section of RESULTS.md. */
export function migrationsBenchMarkdown(result: MigrationsBenchResult, provenance: { date: string; command: string; commit: string; machine: string }): string[] {
  const squawk = result.squawk;
  const lines = [
    '## Migrations',
    '',
    `Checking PostgreSQL migrations: Baton's checker (\`@baton/migrations\`, the PostgreSQL 17 parser as WASM, all its rules) beside squawk (npm \`squawk-cli\`${squawk.available ? ` ${squawk.version}` : ''}, a native binary inside the npm package, its default rules) on the same ${result.files} generated files, ${result.statements.toLocaleString('en-US')} statements (${(result.bytes / 1024).toFixed(0)} KiB): timeouts, a new table and its index, then six changes to existing tables per file rotating through safe ones and every kind both tools flag (\`bench/src/migrations-bench.ts\`). Baton is timed after warm-up in process (parser loaded once, ${result.baton.loadMs.toFixed(0)} ms) and as its CLI in a fresh process; squawk runs only as a process, so it is also shown net of its start-up (each run less a run on a one-statement file right beside it). Rounds alternate between the tools. Milliseconds per check of the whole corpus: median (middle half).`,
    '',
    `Measured ${provenance.date} at ${provenance.commit} with \`${provenance.command}\` on ${provenance.machine}.`,
    '',
    '| Check of the corpus | median | middle half | statements / s | rounds |',
    '|---|---|---|---|---|',
    ...timingsOf(result).map((t) => `| ${t.label} | ${ms(t.medianMs)} ms | ${ms(t.q1Ms)}–${ms(t.q3Ms)} ms | ${perSecond(t.statementsPerSecond)} | ${t.rounds} |`),
    '',
  ];
  if (squawk.available) {
    const files = result.baton.warmWithFiles;
    const cli = result.baton.process;
    lines.push(
      `Side by side, after start-up, each reading the files: Baton ${perSecond(files.statementsPerSecond)} statements/s, squawk ${perSecond(squawk.net.statementsPerSecond)}: Baton at ${ratio(files.statementsPerSecond / squawk.net.statementsPerSecond)} squawk's rate (${ratio(result.baton.warm.statementsPerSecond / squawk.net.statementsPerSecond)} with the sources already in memory).${
        cli
          ? ` As whole processes Baton's CLI takes ${ratio(cli.corpus.medianMs / squawk.corpus.medianMs)} squawk's time: most of it is Node's start-up and loading the CLI's modules and the parser (${ms(cli.trivial.medianMs)} ms on a one-statement folder, against squawk's ${ms(squawk.trivial.medianMs)} ms), and a fresh process checks more slowly than a warm one (${ms(cli.net.medianMs)} ms net, against ${ms(files.medianMs)} ms warm: nothing is compiled by the JIT yet).`
          : ''
      } Findings on the corpus: Baton ${result.baton.findings}, squawk ${squawk.findings}, ${squawk.robustness} of them \`prefer-robust-stmts\` (a missing IF NOT EXISTS) — different rule sets: squawk also flags an index on a table created in the same file, Baton what only it checks, such as contract timing, a backfill in a schema migration and CONCURRENTLY inside a transaction.`,
      '',
    );
  } else {
    lines.push(`squawk did not run here: ${squawk.reason}.`, '');
  }
  return lines;
}

function ratio(value: number): string {
  return value >= 10 ? `${value.toFixed(0)}×` : `${value.toFixed(2)}×`;
}

/** Its rows of the Targets table. */
export function migrationsTargetRows(result: MigrationsBenchResult): string[] {
  const perTarget = (result.baton.warm.medianMs / result.statements) * MIGRATIONS_TARGET_STATEMENTS;
  const met = perTarget < 1000;
  return [
    `| Migrations: ${MIGRATIONS_TARGET_STATEMENTS.toLocaleString('en-US')} statements checked in under a second (after warm-up) | < 1 s | ${ms(perTarget)} ms per ${MIGRATIONS_TARGET_STATEMENTS.toLocaleString('en-US')} (${perSecond(result.baton.warm.statementsPerSecond)} statements/s; CLI process, cold: ${result.baton.process ? `${ms((result.baton.process.corpus.medianMs / result.statements) * MIGRATIONS_TARGET_STATEMENTS)} ms` : 'not run'}) | ${met ? 'met' : 'not met'} |`,
  ];
}
