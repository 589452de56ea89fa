import { as, list, relationName } from '../internal/ast.js';
import type { Rule } from '../rule.js';

/** `UPDATE`, `DELETE`, `MERGE` or `INSERT ... SELECT` in a schema migration. */
export const dmlInMigration: Rule = {
  id: 'dml-in-migration',
  severity: 'error',
  title: 'data change (UPDATE / DELETE / INSERT ... SELECT) in a schema migration',
  why: 'A backfill in a migration locks every row it touches for the whole (often one-transaction) migration: the running release\'s writes to those rows wait, and a large table turns the deploy into an outage. It also ties a data change to a schema step that may need rolling back alone.',
  alternative:
    'Run backfills as a separate, idempotent job in small batches (e.g. by primary-key ranges, each in its own transaction) between the expand and the contract migration. INSERT ... VALUES of a few seed rows is fine.',
  check(statement) {
    const target = relationName(statement.node['relation']);
    if (statement.type === 'UpdateStmt') statement.report(`Updates rows of "${target}" in a schema migration.`);
    else if (statement.type === 'DeleteStmt') statement.report(`Deletes rows of "${target}" in a schema migration.`);
    else if (statement.type === 'MergeStmt') statement.report(`Merges rows into "${target}" in a schema migration.`);
    else if (statement.type === 'InsertStmt') {
      const select = as(statement.node['selectStmt'], 'SelectStmt');
      if (select && list(select['valuesLists']).length === 0) statement.report(`Inserts the result of a query into "${target}" in a schema migration.`);
    }
  },
};
