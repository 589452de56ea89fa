import { BatonError } from '@baton/lifecycle';
import { loadModule, parseSync } from 'libpg-query';
import { isNode, list, unwrap, type AstNode } from './ast.js';
import { scanLineComments, skipTrivia, type LineComment } from './sql-comments.js';
import { SourceText, type Position } from './source-text.js';

/** The PostgreSQL grammar the parser is built from (the `libpg-query` 17.x line, pinned). */
export const GRAMMAR_VERSION = 17;

/** One top-level statement of a migration file. */
export interface ParsedStatement {
  type: string;
  node: AstNode;
  /** String index of the statement's first token. */
  start: number;
  /** String index just after the previous statement's `;`: comments between it and `start` lead this statement. */
  leadingFrom: number;
  position: Position;
  /** The statement's first line, for reports. */
  excerpt: string;
  /** The statement's SQL, as written. */
  sql: string;
}

/** A migration file, parsed. */
export interface ParsedFile {
  file: string;
  source: SourceText;
  statements: ParsedStatement[];
  comments: LineComment[];
}

/** Loads the WASM parser once; parsing is synchronous after that. */
export async function loadParser(): Promise<void> {
  await loadModule();
}

/**
 * Parses one migration file with PostgreSQL's own grammar. A syntax error
 * becomes a `BATON_ERR_MIGRATION_PARSE` naming the file, line and column.
 */
export function parseFile(file: string, sql: string): ParsedFile {
  const source = new SourceText(sql);
  let tree: unknown;
  try {
    tree = parseSync(sql);
  } catch (error) {
    // The position of a syntax error counts characters (PostgreSQL's cursorpos), not bytes.
    const details = (error as { sqlDetails?: { cursorPosition?: number } }).sqlDetails;
    const at = typeof details?.cursorPosition === 'number' ? source.positionOfIndex(source.indexOfCodePoint(details.cursorPosition)) : { line: 1, column: 1 };
    const message = error instanceof Error ? error.message : String(error);
    throw new BatonError('BATON_ERR_MIGRATION_PARSE', `${file}:${at.line}:${at.column}: ${message} (PostgreSQL ${GRAMMAR_VERSION} grammar)`, { cause: error });
  }
  const statements: ParsedStatement[] = [];
  for (const raw of list(isNode(tree) ? tree['stmts'] : undefined)) {
    if (!isNode(raw)) continue;
    const inner = unwrap(raw['stmt']);
    if (!inner) continue;
    const byteFrom = typeof raw['stmt_location'] === 'number' ? raw['stmt_location'] : 0;
    const leadingFrom = source.indexOfByte(byteFrom);
    const start = skipTrivia(sql, leadingFrom);
    const byteLength = typeof raw['stmt_len'] === 'number' && raw['stmt_len'] > 0 ? raw['stmt_len'] : undefined;
    const end = byteLength === undefined ? sql.length : source.indexOfByte(byteFrom + byteLength);
    const text = sql.slice(start, Math.max(start, end));
    const newline = text.indexOf('\n');
    statements.push({
      type: inner.type,
      node: inner.node,
      start,
      leadingFrom,
      position: source.positionOfIndex(start),
      excerpt: (newline === -1 ? text : text.slice(0, newline)).trim(),
      sql: text,
    });
  }
  return { file, source, statements, comments: scanLineComments(sql) };
}
