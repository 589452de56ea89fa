import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { BatonError, isBatonError } from '@baton/lifecycle';
import type { CheckResult, Classification, FileResult, Finding } from './finding.js';
import { relationName, text } from './internal/ast.js';
import { readDirectives, type Directive } from './internal/directives.js';
import { loadParser, parseFile, type ParsedFile } from './internal/parse.js';
import { phaseOf } from './internal/phase.js';
import { SchemaState, tableKey } from './internal/schema-state.js';
import { resolveCheckOptions, type CheckOptions, type ResolvedCheckOptions } from './options.js';
import { compareReleases, isOrderable } from './releases.js';
import type { Rule, StatementContext } from './rule.js';
import { RULES, findRule } from './rules.js';

/** One migration file's SQL and the name to report it under. */
export interface MigrationSource {
  file: string;
  sql: string;
}

/** Options of {@link checkMigrations}: the directory plus the {@link CheckOptions}. */
export interface CheckMigrationsOptions extends CheckOptions {
  /** The directory of `.sql` migration files (see {@link listMigrationFiles} for the order). */
  dir: string;
}

/**
 * A checker with the parser loaded: `check` is synchronous and can be
 * called many times (a benchmark, an editor, a watch mode), each call
 * starting from an empty schema.
 */
export interface MigrationChecker {
  readonly options: ResolvedCheckOptions;
  /** Checks the sources as one ordered migration history. Throws `BATON_ERR_MIGRATION_PARSE` on a syntax error. */
  check(sources: readonly MigrationSource[]): CheckResult;
}

/**
 * Loads the PostgreSQL parser (WASM, once) and returns a checker for the
 * options, which are validated here.
 *
 * @example
 * const checker = await createMigrationChecker({ targetVersion: 16 });
 * const result = checker.check([{ file: '001.sql', sql: 'ALTER TABLE orders DROP COLUMN note;' }]);
 */
export async function createMigrationChecker(options: CheckOptions = {}): Promise<MigrationChecker> {
  const resolved = resolveCheckOptions(options);
  await loadParser();
  return { options: resolved, check: (sources) => checkSources(sources, resolved) };
}

/**
 * Checks a directory of migrations: every `.sql` file in order, each
 * statement against every rule for the target PostgreSQL version, each file
 * classified expand / contract / neutral / unsafe, contract steps timed
 * against the deployed releases.
 *
 * @example
 * const result = await checkMigrations({ dir: 'migrations', deployedReleases: ['v6', 'v7'] });
 * if (!result.ok) for (const f of result.files.flatMap((file) => file.findings)) console.log(f.file, f.line, f.message);
 */
export async function checkMigrations(options: CheckMigrationsOptions): Promise<CheckResult> {
  const checker = await createMigrationChecker(options);
  const files = await listMigrationFiles(options.dir);
  const sources = await Promise.all(files.map(async (file) => ({ file, sql: await readFile(file, 'utf8') })));
  return checker.check(sources);
}

const ORDER = new Intl.Collator('en', { numeric: true });

/**
 * The migration files of a directory in the order they run: `*.sql` files
 * (not `*.down.sql`: rollbacks are not part of a rolling deploy), sorted by
 * name with numbers compared as numbers (`2_x.sql` before `10_y.sql`).
 */
export async function listMigrationFiles(dir: string): Promise<string[]> {
  if (typeof dir !== 'string' || dir === '') throw new BatonError('BATON_ERR_INVALID_OPTION', 'dir must be the path of the migrations directory.');
  try {
    if (!(await stat(dir)).isDirectory()) throw new BatonError('BATON_ERR_MIGRATION_CHECK', `${dir} is not a directory; give the directory that holds the .sql migration files.`);
  } catch (error) {
    if (isBatonError(error)) throw error;
    throw new BatonError('BATON_ERR_MIGRATION_CHECK', `Cannot read the migrations directory ${dir}: ${(error as Error).message}`, { cause: error });
  }
  const entries = await readdir(dir, { withFileTypes: true });
  const names = entries.filter((entry) => !entry.isDirectory() && entry.name.endsWith('.sql') && !entry.name.endsWith('.down.sql')).map((entry) => entry.name);
  return names.sort(ORDER.compare).map((name) => join(dir, name));
}

const STATEMENT_RULES: readonly Rule[] = RULES.filter((rule) => rule.check !== undefined);
/** Rules whose findings stand for "this statement removes something" (so no second contract-undeclared finding). */
const REMOVAL_RULES = new Set(['drop-column', 'drop-table', 'rename-column', 'rename-table', 'enum-value-rename']);

function checkSources(sources: readonly MigrationSource[], options: ResolvedCheckOptions): CheckResult {
  let firstReported = 0;
  if (options.from !== undefined) {
    firstReported = sources.findIndex((source) => basename(source.file) === options.from || source.file === options.from);
    if (firstReported === -1) throw new BatonError('BATON_ERR_INVALID_OPTION', `from: no migration file named "${options.from}".`);
  }
  const state = new SchemaState();
  const files: FileResult[] = [];
  let statements = 0;
  sources.forEach((source, index) => {
    const parsed = parseFile(source.file, source.sql);
    statements += parsed.statements.length;
    const result = checkFile(parsed, state, options);
    if (index >= firstReported) files.push(result);
  });
  let errors = 0;
  let warnings = 0;
  for (const file of files) {
    for (const finding of file.findings) {
      if (finding.ignored) continue;
      if (finding.severity === 'error') errors += 1;
      else warnings += 1;
    }
  }
  return { targetVersion: options.targetVersion, files, errors, warnings, statements, ok: errors === 0 };
}

/** A finding and the statement it is about (`undefined`: about the file, ignorable from its header). */
interface Raised {
  finding: Finding;
  statement: number | undefined;
}

function checkFile(parsed: ParsedFile, state: SchemaState, options: ResolvedCheckOptions): FileResult {
  const { file, source, statements } = parsed;
  const directives = readDirectives(parsed.comments);
  const contractDirectives = directives.filter((d): d is Extract<Directive, { kind: 'contract' }> => d.kind === 'contract');
  const declared = contractDirectives[0];
  const fileTransaction = options.transaction === 'per-file' && !directives.some((d) => d.kind === 'no-transaction');
  const raised: Raised[] = [];
  const excerptAt = (index: number): string => (source.text.slice(index).split('\n', 1)[0] ?? '').trim();

  const raise = (rule: Rule, message: string, index: number, excerpt: string, statement: number | undefined): void => {
    if (options.disabledRules.has(rule.id)) return;
    const { line, column } = source.positionOfIndex(index);
    raised.push({ finding: { rule: rule.id, severity: rule.severity, file, line, column, message, alternative: rule.alternative, excerpt }, statement });
  };

  let transaction: number | undefined = fileTransaction ? 1 : undefined;
  let nextTransaction = 2;
  const createdTables = new Set<string>();
  let lockTimeoutSet = false;
  let statementTimeoutSet = false;
  const reportedOnce = new Set<string>();
  let expand = false;
  let contract = false;
  let firstContract: number | undefined;
  let contractUndeclaredRaised = false;

  statements.forEach((statement, index) => {
    const { type, node } = statement;
    if (type === 'TransactionStmt') {
      const kind = text(node, 'kind');
      if (kind === 'TRANS_STMT_BEGIN' || kind === 'TRANS_STMT_START') transaction ??= nextTransaction++;
      else if (kind === 'TRANS_STMT_COMMIT' || kind === 'TRANS_STMT_ROLLBACK' || kind === 'TRANS_STMT_PREPARE') transaction = undefined;
      return;
    }
    let current: Rule = STATEMENT_RULES[0] as Rule;
    const context: StatementContext = {
      type,
      node,
      targetVersion: options.targetVersion,
      transaction,
      contractDeclared: declared !== undefined,
      lockTimeoutSet,
      statementTimeoutSet,
      isNewTable: (table) => createdTables.has(tableKey(table)),
      hasValidatedNotNullCheck: (table, column) => state.hasValidatedNotNullCheck(table, column),
      notValidAddedIn: (table, constraint) => state.notValidAddedIn(table, constraint),
      columnType: (table, column) => state.columnType(table, column),
      report: (message, at) => {
        if (current.oncePerFile) {
          if (reportedOnce.has(current.id)) return;
          reportedOnce.add(current.id);
        }
        raise(current, message, at === undefined ? statement.start : source.indexOfByte(at), statement.excerpt, index);
      },
    };
    const before = raised.length;
    for (const rule of STATEMENT_RULES) {
      if (options.disabledRules.has(rule.id) || (rule.oncePerFile && reportedOnce.has(rule.id))) continue;
      current = rule;
      rule.check?.(context);
    }

    const phase = phaseOf(context);
    if (phase.expand) expand = true;
    if (phase.contract) {
      contract = true;
      firstContract ??= index;
      const coveredByRule = raised.slice(before).some((r) => REMOVAL_RULES.has(r.finding.rule));
      if (!declared && !coveredByRule && !contractUndeclaredRaised) {
        contractUndeclaredRaised = true;
        raise(findRule('contract-undeclared') as Rule, `Removes something ("${statement.excerpt}") in a file not declared as a contract migration.`, statement.start, statement.excerpt, index);
      }
    }

    state.apply(type, node, transaction);
    if (type === 'CreateStmt') createdTables.add(tableKey(relationName(node['relation'])));
    if (type === 'VariableSetStmt') {
      const name = text(node, 'name');
      const on = settingIsOn(node);
      if (name === 'lock_timeout') lockTimeoutSet = on;
      else if (name === 'statement_timeout') statementTimeoutSet = on;
    }
  });

  // The file as a whole: mixing, contract timing, the directives themselves.
  const header = statements[0]?.start ?? source.text.length;
  if (expand && contract && firstContract !== undefined) {
    const at = statements[firstContract];
    raise(findRule('mixed-expand-contract') as Rule, 'This file both adds (expand) and removes (contract): split it into an expand migration and a later contract migration.', at?.start ?? 0, at?.excerpt ?? '', undefined);
  }
  if (declared) {
    const rule = (id: string): Rule => findRule(id) as Rule;
    if (!isOrderable(declared.unusedSince, options.releaseOrder)) {
      raise(rule('invalid-directive'), `"unused-since=${declared.unusedSince}" is not a release the checker can order (a version like v7 or 1.4.2, or a name in releaseOrder).`, declared.index, excerptAt(declared.index), undefined);
    } else if (options.deployedReleases === undefined) {
      if (contract) raise(rule('contract-unverified'), `Contract migration (unused since ${declared.unusedSince}) checked without the deployed releases: its timing is not verified.`, declared.index, excerptAt(declared.index), undefined);
    } else {
      const older = options.deployedReleases.filter((release) => compareReleases(release, declared.unusedSince, options.releaseOrder) < 0);
      if (older.length > 0) {
        raise(
          rule('contract-too-early'),
          `Too early: this contract migration removes what releases before ${declared.unusedSince} use, and ${older.join(', ')} ${older.length === 1 ? 'is' : 'are'} still deployed.`,
          declared.index,
          excerptAt(declared.index),
          undefined,
        );
      }
    }
    for (const extra of contractDirectives.slice(1)) {
      raise(findRule('invalid-directive') as Rule, 'A second "baton:contract" line; a file declares one release.', extra.index, excerptAt(extra.index), undefined);
    }
  }
  for (const directive of directives) {
    if (directive.kind === 'invalid') raise(findRule('invalid-directive') as Rule, directive.message, directive.index, excerptAt(directive.index), undefined);
    if (directive.kind !== 'ignore') continue;
    for (const id of directive.rules) {
      if (!findRule(id)) raise(findRule('invalid-directive') as Rule, `"baton:ignore" names an unknown rule "${id}".`, directive.index, excerptAt(directive.index), undefined);
    }
    if (directive.reason === undefined) {
      raise(findRule('ignore-without-reason') as Rule, `"baton:ignore ${directive.rules.join(', ')}" has no reason; it ignores nothing until it says why ("reason: ...").`, directive.index, excerptAt(directive.index), undefined);
    }
  }

  // Ignore comments cover the findings of the statement right after them (or, in the file's header, the file-level findings).
  const ignores = directives.filter((d): d is Extract<Directive, { kind: 'ignore' }> => d.kind === 'ignore');
  const used = new Set<Directive>();
  for (const { finding, statement } of raised) {
    const target = statement === undefined ? undefined : statements[statement];
    const from = target ? target.leadingFrom : 0;
    const to = target ? target.start : header;
    for (const ignore of ignores) {
      if (ignore.index < from || ignore.index >= to || !ignore.rules.includes(finding.rule)) continue;
      used.add(ignore);
      if (ignore.reason !== undefined) finding.ignored = { reason: ignore.reason };
    }
  }
  for (const ignore of ignores) {
    // An ignore for a disabled rule matches nothing by design; one with an unknown id is already reported.
    if (!used.has(ignore) && ignore.rules.every((id) => findRule(id) && !options.disabledRules.has(id))) {
      raise(findRule('unused-ignore') as Rule, `"baton:ignore ${ignore.rules.join(', ')}" matches no finding of the statement after it.`, ignore.index, excerptAt(ignore.index), undefined);
    }
  }

  const findings = raised.map((r) => r.finding).sort((a, b) => a.line - b.line || a.column - b.column);
  const failing = findings.some((f) => !f.ignored && f.severity === 'error');
  const classification: Classification = failing ? 'unsafe' : contract ? 'contract' : expand ? 'expand' : 'neutral';
  const result: FileResult = { file, classification, statements: statements.length, transaction: fileTransaction, findings };
  if (declared) result.unusedSince = declared.unusedSince;
  return result;
}

/** `SET x = 0`, `SET x TO DEFAULT` and `RESET x` turn a timeout off. */
function settingIsOn(node: Record<string, unknown>): boolean {
  if (text(node, 'kind') !== 'VAR_SET_VALUE') return false;
  const args = node['args'];
  const first = Array.isArray(args) ? (args[0] as Record<string, Record<string, unknown>> | undefined) : undefined;
  const constant = first?.['A_Const'];
  if (!constant) return true;
  const ival = constant['ival'] as { ival?: number } | undefined;
  if (ival) return (ival.ival ?? 0) !== 0;
  const sval = (constant['sval'] as { sval?: string } | undefined)?.sval;
  return sval === undefined || !/^\s*0+\s*(ms|s|min|h|d)?\s*$/.test(sval);
}
