import { relationName, text } from '../internal/ast.js';
import type { Rule } from '../rule.js';

/** `ALTER TABLE ... RENAME TO`: the old name disappears while the old release still uses it. */
export const renameTable: Rule = {
  id: 'rename-table',
  severity: 'error',
  title: 'RENAME TABLE',
  why: 'The release still running queries the old name and fails with "relation does not exist".',
  alternative:
    'Expand: rename the table and, in the same transaction, create a view with the old name (a simple view is updatable, so the old release keeps reading and writing); contract, once no release uses the old name: drop the view ("-- baton:contract unused-since=N").',
  check(statement) {
    if (statement.type !== 'RenameStmt' || text(statement.node, 'renameType') !== 'OBJECT_TABLE') return;
    const table = relationName(statement.node['relation']);
    if (statement.isNewTable(table)) return;
    statement.report(`Renames table "${table}" to "${text(statement.node, 'newname') ?? '?'}"; the release still running uses the old name.`);
  },
};
