import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, isAbsolute, join, resolve } from 'node:path';
// Types only: @baton/migrations is an optional peer, loaded with import() when the gate runs.
import type { CheckResult, Finding } from '@baton/migrations';
import { gateError, type GateContext, type GateResult } from './gate.js';
import { describe, isObject } from '../internal/config-values.js';

const GATE = 'migrations';
const PACKAGE = '@baton/migrations';
/** Evidence lines listed before "and N more": a report is read by people. */
const MAX_EVIDENCE = 10;
const KNOWN = ['dir', 'from', 'targetVersion', 'transaction', 'disabledRules', 'releaseOrder', 'strict'] as const;

/**
 * The migrations gate of an environment (`gates.migrations` in the config):
 * the migrations directory and the options of `baton migrations check`,
 * except `--deployed`, which the gate fills from the environment.
 */
export interface MigrationsGateSettings {
  /** The directory of `.sql` migration files, as written: relative to the config's directory (or absolute). */
  dir: string;
  /** The first file to report on; earlier files are deployed already and read as context only. */
  from?: string;
  /** The PostgreSQL major version of the database (10–18); the checker's default (17) when not given. */
  targetVersion?: number;
  /** How the migration tool runs a file: `'per-file'` (the checker's default) or `'none'`. */
  transaction?: 'per-file' | 'none';
  /** Rule ids not applied (checked against the checker's rules when the gate runs). */
  disabledRules?: readonly string[];
  /** Release names oldest first; by default the environment's recorded releases when some name is not a version. */
  releaseOrder?: readonly string[];
  /** Warnings fail the gate too. Default false. */
  strict?: boolean;
}

/**
 * Validates `gates.migrations` of a config: `{ dir, from?, targetVersion?,
 * transaction?, disabledRules?, releaseOrder?, strict? }`. Each problem is
 * pushed to `problems`, named after `field` (e.g. `environments.production.gates.migrations`);
 * returns undefined when the gate is not configured or a problem was found.
 * Rule ids are checked when the gate runs, since that needs `@baton/migrations`.
 *
 * @example
 * const problems: string[] = [];
 * const settings = resolveMigrationsGate({ dir: 'db/migrations', targetVersion: 16 }, 'gates.migrations', problems);
 */
export function resolveMigrationsGate(input: unknown, field: string, problems: string[]): MigrationsGateSettings | undefined {
  if (input === undefined) return undefined;
  if (!isObject(input)) {
    problems.push(`${field}: an object { dir, from?, targetVersion?, transaction?, disabledRules?, releaseOrder?, strict? }; got ${describe(input)}`);
    return undefined;
  }
  const before = problems.length;
  for (const key of Object.keys(input)) {
    if (!(KNOWN as readonly string[]).includes(key)) problems.push(`${field}.${key}: not a setting; known: ${KNOWN.join(', ')}`);
  }
  const { dir, from, targetVersion, transaction, disabledRules, releaseOrder, strict } = input;
  if (typeof dir !== 'string' || dir.trim() === '') problems.push(`${field}.dir: a directory path relative to the config; got ${describe(dir)}`);
  if (from !== undefined && (typeof from !== 'string' || from === '' || /[\\/]/.test(from))) {
    problems.push(`${field}.from: the name of a file in the migrations directory, e.g. "007_drop_note.sql"; got ${describe(from)}`);
  }
  if (targetVersion !== undefined && (typeof targetVersion !== 'number' || !Number.isInteger(targetVersion) || targetVersion < 10 || targetVersion > 18)) {
    problems.push(`${field}.targetVersion: the PostgreSQL major version of the database, an integer from 10 to 18; got ${describe(targetVersion)}`);
  }
  if (transaction !== undefined && transaction !== 'per-file' && transaction !== 'none') {
    problems.push(`${field}.transaction: 'per-file' (the migration tool runs each file in one transaction) or 'none'; got ${describe(transaction)}`);
  }
  if (disabledRules !== undefined && !(Array.isArray(disabledRules) && disabledRules.every((id) => typeof id === 'string' && /^[a-z][a-z0-9-]*$/.test(id)))) {
    problems.push(`${field}.disabledRules: an array of rule ids, e.g. ['lock-timeout', 'statement-timeout'] (baton migrations rules lists them); got ${describe(disabledRules)}`);
  }
  if (releaseOrder !== undefined) {
    const names = Array.isArray(releaseOrder) && releaseOrder.every((name) => typeof name === 'string' && name !== '') ? (releaseOrder as string[]) : undefined;
    if (names === undefined || names.length === 0) problems.push(`${field}.releaseOrder: a non-empty array of release names, oldest first; got ${describe(releaseOrder)}`);
    else {
      const repeated = names.filter((name, index) => names.indexOf(name) !== index);
      if (repeated.length > 0) problems.push(`${field}.releaseOrder: each release once; ${[...new Set(repeated)].join(', ')} repeated`);
    }
  }
  if (strict !== undefined && typeof strict !== 'boolean') problems.push(`${field}.strict: true or false (true: warnings fail the gate too); got ${describe(strict)}`);
  if (problems.length > before) return undefined;

  const settings: MigrationsGateSettings = { dir: dir as string, strict: strict === true };
  if (from !== undefined) settings.from = from as string;
  if (targetVersion !== undefined) settings.targetVersion = targetVersion as number;
  if (transaction !== undefined) settings.transaction = transaction as 'per-file' | 'none';
  if (disabledRules !== undefined) settings.disabledRules = [...(disabledRules as string[])];
  if (releaseOrder !== undefined) settings.releaseOrder = [...(releaseOrder as string[])];
  return settings;
}

/**
 * The `migrations` gate: `baton migrations check` on the settings' directory
 * with `--deployed` filled from the environment, so a contract migration
 * (`-- baton:contract unused-since=v7`) fails while a release older than v7
 * still runs there. Passes when no error finding counts (nor a warning, with
 * `strict`); fails, saying why, when the check cannot run (package missing,
 * directory missing, a file that does not parse, an option refused). Skipped
 * when the directory holds no migration file.
 *
 * @example
 * const result = await checkMigrationsGate({ dir: 'db/migrations' }, ctx);
 * // { gate: 'migrations', status: 'fail', summary: '2 migration files checked against the releases running in production (v1): 1 error — too early: …', ... }
 */
export async function checkMigrationsGate(settings: MigrationsGateSettings, ctx: GateContext): Promise<GateResult> {
  let migrations: typeof import('@baton/migrations');
  try {
    migrations = await import('@baton/migrations');
  } catch (error) {
    if (isMissingPackage(error, PACKAGE)) {
      return gateError(GATE, `The migrations gate needs ${PACKAGE}, which is not installed: npm install --save-dev ${PACKAGE} (beside @baton/cli), or remove gates.migrations.`);
    }
    return gateError(GATE, `The migrations gate could not load ${PACKAGE}: ${messageOf(error)}`);
  }
  if (typeof migrations.createMigrationChecker !== 'function' || typeof migrations.listMigrationFiles !== 'function' || typeof migrations.compareReleases !== 'function') {
    return gateError(GATE, `The installed ${PACKAGE} does not export createMigrationChecker and listMigrationFiles; install the version that matches @baton/deploy.`);
  }

  // The release's own migrations: those in its bundle when it has them (a promotion checks what it
  // ships, whatever the checkout holds now), else the config's directory's.
  const inRelease = ctx.releaseDir === undefined ? undefined : resolve(ctx.releaseDir, settings.dir);
  const dir = inRelease !== undefined && existsSync(inRelease) ? inRelease : resolve(ctx.cwd, settings.dir);
  const deployedReleases = [...ctx.deployedReleases];
  const releaseOrder = settings.releaseOrder ?? orderFromHistory(ctx, (name) => isVersion(migrations.compareReleases, name));
  let result: CheckResult;
  try {
    if (ctx.signal?.aborted) return gateError(GATE, 'The migrations check was cancelled before it ran.');
    const checker = await migrations.createMigrationChecker({
      deployedReleases,
      ...(releaseOrder !== undefined ? { releaseOrder } : {}),
      ...(settings.targetVersion !== undefined ? { targetVersion: settings.targetVersion } : {}),
      ...(settings.transaction !== undefined ? { transaction: settings.transaction } : {}),
      ...(settings.disabledRules !== undefined ? { disabledRules: settings.disabledRules } : {}),
      ...(settings.from !== undefined ? { from: settings.from } : {}),
    });
    const files = await migrations.listMigrationFiles(dir);
    if (files.length === 0) {
      return { gate: GATE, status: 'skipped', summary: `No migration files in ${settings.dir}: nothing to check.`, evidence: [], data: { dir, deployedReleases } };
    }
    // Findings name files as the config wrote the directory, so they read the same as `baton migrations check`'s.
    const sources = await Promise.all(files.map(async (file) => ({ file: display(settings.dir, file), sql: await readSource(file) })));
    result = checker.check(sources);
  } catch (error) {
    const code = codeOf(error);
    const failed = gateError(GATE, `The migrations in ${settings.dir} could not be checked: ${messageOf(error)}${code === undefined ? '' : ` (${code})`}`);
    return { ...failed, data: { dir, deployedReleases, ...(code === undefined ? {} : { code }) } };
  }

  const findings = result.files.flatMap((file) => file.findings);
  const counting = findings.filter((f) => !f.ignored);
  const errors = counting.filter((f) => f.severity === 'error');
  const warnings = counting.filter((f) => f.severity === 'warning');
  const ignored = findings.filter((f) => f.ignored);
  const failing = errors.length > 0 || (settings.strict === true && warnings.length > 0);

  const ordered = [...errors, ...warnings, ...ignored];
  const evidence = ordered.slice(0, MAX_EVIDENCE).map(evidenceLine);
  if (ordered.length > MAX_EVIDENCE) evidence.push(`and ${ordered.length - MAX_EVIDENCE} more`);

  const checked = `${plural(result.files.length, 'migration file')} checked against the releases running in ${ctx.environment} (${deployedReleases.length > 0 ? deployedReleases.join(', ') : 'none'})`;
  const counts = `${plural(errors.length, 'error')}${warnings.length > 0 ? `, ${plural(warnings.length, 'warning')}` : ''}`;
  const first = errors[0] ?? (failing ? warnings[0] : undefined);
  const summary = first === undefined ? `${checked}: ${counts}.` : `${checked}: ${counts}${errors.length === 0 ? ' (strict)' : ''} — ${headline(first)}.`;

  const classifications: Record<string, number> = {};
  for (const file of result.files) classifications[file.classification] = (classifications[file.classification] ?? 0) + 1;
  return {
    gate: GATE,
    status: failing ? 'fail' : 'pass',
    summary,
    evidence,
    data: {
      dir,
      files: result.files.length,
      statements: result.statements,
      targetVersion: result.targetVersion,
      errors: errors.length,
      warnings: warnings.length,
      ignored: ignored.length,
      strict: settings.strict === true,
      classifications,
      deployedReleases,
      ...(releaseOrder !== undefined ? { releaseOrder } : {}),
    },
  };
}

/**
 * The order for names that are not versions: every recorded release, oldest
 * first, and the one being deployed (not recorded yet on its first deploy).
 * Undefined when every name is a version, which orders itself.
 */
function orderFromHistory(ctx: GateContext, isVersionName: (name: string) => boolean): string[] | undefined {
  const names = [...ctx.deployedReleases, ctx.release.version];
  if (names.every(isVersionName)) return undefined;
  const order = [...new Set(ctx.releaseOrder)];
  if (!order.includes(ctx.release.version)) order.push(ctx.release.version);
  return order;
}

/** Whether the checker orders `name` by itself, by its own definition (it throws for a name it cannot place). */
function isVersion(compare: (a: string, b: string) => number, name: string): boolean {
  try {
    compare(name, name);
    return true;
  } catch {
    return false;
  }
}

function evidenceLine(finding: Finding): string {
  const line = `${finding.file}:${finding.line}:${finding.column} ${finding.severity} ${finding.rule}: ${finding.message}`;
  return finding.ignored ? `${line} (ignored: ${finding.ignored.reason})` : line;
}

/** A finding as the end of the summary sentence: "too early: … (002_drop_note.sql)". */
function headline(finding: Finding): string {
  const message = finding.message.replace(/\.$/, '');
  return `${/^[A-Z][a-z]/.test(message) ? message[0]?.toLowerCase() + message.slice(1) : message} (${basename(finding.file)})`;
}

function display(dir: string, file: string): string {
  return isAbsolute(dir) ? file : join(dir, basename(file));
}

async function readSource(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new Error(`cannot read ${file}: ${messageOf(error)}`, { cause: error });
  }
}

/** Node's own "Cannot find package '@baton/migrations'", not a dependency of it that is missing (that is a broken install). */
function isMissingPackage(error: unknown, name: string): boolean {
  const code = codeOf(error);
  return (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && messageOf(error).includes(`'${name}'`);
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

