/** How a finding counts: an `error` fails the check (exit code 1), a `warning` is printed only. */
export type Severity = 'error' | 'warning';

/**
 * What a migration file does to the release still running:
 * - `expand` adds what only the new release uses (tables, columns, indexes, enum values);
 * - `contract` removes what the old release no longer uses (declared with `-- baton:contract unused-since=<release>`);
 * - `neutral` neither (constraints, comments, grants, settings);
 * - `unsafe` has an error finding, or mixes expand and contract.
 */
export type Classification = 'expand' | 'contract' | 'neutral' | 'unsafe';

/** One problem in one migration file, with where it is and what to do instead. */
export interface Finding {
  /** Rule id, e.g. `drop-column` (see {@link RULES}). */
  rule: string;
  severity: Severity;
  /** The file as found (the directory joined with its name). */
  file: string;
  /** 1-based line. */
  line: number;
  /** 1-based column, in UTF-16 code units (what editors and SARIF count). */
  column: number;
  /** What is wrong, naming the objects involved. */
  message: string;
  /** The safe way to get the same change (expand/contract steps). */
  alternative: string;
  /** The statement's first line, for context in reports. */
  excerpt: string;
  /** Set when a `-- baton:ignore` comment with a reason covers the finding; it then does not count. */
  ignored?: { reason: string };
}

/** The check of one migration file. */
export interface FileResult {
  file: string;
  classification: Classification;
  /** The statements the file holds. */
  statements: number;
  /** Whether the checker assumed the file runs in one transaction (see the README on transactions). */
  transaction: boolean;
  /** The release declared by `-- baton:contract unused-since=...`, when there is one. */
  unusedSince?: string;
  /** Every finding, ignored ones included (marked), in file order. */
  findings: Finding[];
}

/** The check of a directory (or a list of sources). */
export interface CheckResult {
  /** The PostgreSQL major version the rules were applied for. */
  targetVersion: number;
  /** The files reported on, in migration order. */
  files: FileResult[];
  /** Findings that count (not ignored), over all files. */
  errors: number;
  warnings: number;
  /** Statements checked, over all files read (context files included). */
  statements: number;
  /** True when no error finding counts. */
  ok: boolean;
}
