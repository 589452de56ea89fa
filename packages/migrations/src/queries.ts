import { readFile } from 'node:fs/promises';
import { BatonError } from '@baton/lifecycle';
import { loadParser, parseFile } from './internal/parse.js';

/** One query of the release still running, and where it came from (for the report). */
export interface QuerySource {
  sql: string;
  /** The file it was read from, if any. */
  file?: string;
  /** Its 1-based line in that file. */
  line?: number;
}

/**
 * Reads a file of SQL statements (written by hand, or by {@link recordQueries})
 * into queries, split and located with the real parser. `$1`-style
 * parameters are allowed: such queries are prepared rather than executed.
 */
export async function readQueriesFile(path: string): Promise<QuerySource[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new BatonError('BATON_ERR_MIGRATION_CHECK', `Cannot read the queries file ${path}: ${(error as Error).message}`, { cause: error });
  }
  await loadParser();
  return parseFile(path, text).statements.map((statement) => ({ sql: statement.sql.replace(/;\s*$/, ''), file: path, line: statement.position.line }));
}
