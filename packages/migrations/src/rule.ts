import type { Severity } from './finding.js';
import type { AstNode } from './internal/ast.js';

/** A column type as written: `varchar(20)` is `{ name: 'varchar', mods: [20] }`. */
export interface ColumnType {
  name: string;
  mods: readonly (number | undefined)[];
  array: boolean;
}

/**
 * One statement as a rule sees it: the parse tree, the transaction it runs
 * in, what the earlier statements (of this file and the earlier files) did,
 * and `report` to raise a finding.
 */
export interface StatementContext {
  /** The statement's node type, e.g. `AlterTableStmt`. */
  readonly type: string;
  /** The statement's parse tree (libpg-query's JSON for this node type). */
  readonly node: AstNode;
  /** The PostgreSQL major version targeted. */
  readonly targetVersion: number;
  /** A number per transaction block when the statement runs inside one; `undefined` in autocommit. */
  readonly transaction: number | undefined;
  /** True when the table was created earlier in this same file: it is empty and no running release uses it. */
  isNewTable(table: string): boolean;
  /** True when an earlier statement left a validated `CHECK (column IS NOT NULL)` on the table. */
  hasValidatedNotNullCheck(table: string, column: string): boolean;
  /** The transaction in which a `NOT VALID` constraint was added earlier, if it is still unvalidated. */
  notValidAddedIn(table: string, constraint: string): number | undefined;
  /** True when the file declares `-- baton:contract unused-since=...`: removals are then the contract step it announces. */
  readonly contractDeclared: boolean;
  /** The column's type as the earlier migrations left it, when they created it. */
  columnType(table: string, column: string): ColumnType | undefined;
  /** Whether `SET lock_timeout` / `SET statement_timeout` ran earlier in this file. */
  readonly lockTimeoutSet: boolean;
  readonly statementTimeoutSet: boolean;
  /** Raises a finding of the rule at the byte offset `at` (a parse-tree `location`), or at the statement's start. */
  report(message: string, at?: number): void;
}

/**
 * A check on single statements. Each rule has an id (used in ignore
 * comments, `disabledRules`, JSON and SARIF), says what goes wrong for the
 * release still running and prints the safe expand/contract way.
 */
export interface Rule {
  /** Stable kebab-case id, e.g. `drop-column`. */
  readonly id: string;
  readonly severity: Severity;
  /** One line: what the rule looks for. */
  readonly title: string;
  /** Why it breaks a rolling deploy (shown as help in SARIF and the README). */
  readonly why: string;
  /** The safe alternative, printed with every finding. */
  readonly alternative: string;
  /** Report at most once per file (the first statement that needs it). */
  readonly oncePerFile?: boolean;
  /** Inspects one statement; file-level rules (mixing, contracts, ignores) have none. */
  readonly check?: (statement: StatementContext) => void;
}
