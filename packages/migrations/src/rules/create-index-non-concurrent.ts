import { bool, relationName } from '../internal/ast.js';
import type { Rule } from '../rule.js';

/** `CREATE INDEX` without `CONCURRENTLY` on an existing table. */
export const createIndexNonConcurrent: Rule = {
  id: 'create-index-non-concurrent',
  severity: 'error',
  title: 'CREATE INDEX without CONCURRENTLY',
  why: 'A plain CREATE INDEX holds a SHARE lock for the whole build: every INSERT, UPDATE and DELETE of the running release waits until the index is built.',
  alternative:
    'CREATE INDEX CONCURRENTLY, alone in a file marked "-- baton:no-transaction" (it cannot run in a transaction); if it fails it leaves an INVALID index: drop it (DROP INDEX CONCURRENTLY) and run again.',
  check(statement) {
    if (statement.type !== 'IndexStmt' || bool(statement.node, 'concurrent')) return;
    const relation = statement.node['relation'];
    const table = relationName(relation);
    if (statement.isNewTable(table)) return;
    statement.report(`Creates an index on "${table}" without CONCURRENTLY: writes to the table wait for the whole build.`);
  },
};
