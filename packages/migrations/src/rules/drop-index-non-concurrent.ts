import { as, bool, list, strings, text } from '../internal/ast.js';
import type { Rule } from '../rule.js';

/** `DROP INDEX` without `CONCURRENTLY`. */
export const dropIndexNonConcurrent: Rule = {
  id: 'drop-index-non-concurrent',
  severity: 'error',
  title: 'DROP INDEX without CONCURRENTLY',
  why: 'A plain DROP INDEX takes an ACCESS EXCLUSIVE lock on the table; while it waits for a long query to finish, every query of the running release queues behind it.',
  alternative: 'DROP INDEX CONCURRENTLY, in a file marked "-- baton:no-transaction" (and, since a dropped index is a removal, in a contract migration).',
  check(statement) {
    if (statement.type !== 'DropStmt' || text(statement.node, 'removeType') !== 'OBJECT_INDEX' || bool(statement.node, 'concurrent')) return;
    const names = list(statement.node['objects']).map((object) => strings(as(object, 'List')?.['items']).join('.'));
    statement.report(`Drops index ${names.map((n) => `"${n}"`).join(', ')} without CONCURRENTLY: the table is locked exclusively.`);
  },
};
